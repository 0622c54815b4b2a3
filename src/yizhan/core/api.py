"""The platform's one JSON API object, its authentication and error shape.

Every app adds a router here (see ``yizhan.urls``).  Errors, whatever
raised them, leave as one JSON shape, documented in docs/api.md::

    {"code": "directory.invalid_identifier",
     "message": "<in the request's language>",
     "message_zh": "...", "message_en": "...",
     "fields": {...}, "request_id": "..."}
"""

import json

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth

from yizhan import __version__
from yizhan.core.error_codes import CoreErrorCode
from yizhan.core.errors import (
    ApplicationError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    rendered_later,
)
from yizhan.core.text import NUL_REFUSED, has_nul, querydict_has_nul


class TokenAuth(HttpBearer):
    """``Authorization: Bearer yz_<prefix>_<secret>``: a system acting for an agency."""

    def authenticate(self, request, token):
        from yizhan.accounts.services import token_authenticate

        principal = token_authenticate(token)
        request.actor = principal
        return principal


class StaffOrPublicSession(SessionAuth):
    """Session auth for pages calling the API; CSRF is checked by ninja."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.actor = user
        return user


session_auth = StaffOrPublicSession()
token_auth = TokenAuth()
# The token comes first: session auth checks CSRF before it looks for a
# session, so a system posting with only a Bearer token would be refused
# with 403 if the session were tried first.  Without an Authorization
# header the token auth steps aside and the session is checked as before.
AUTH = [token_auth, session_auth]


class ListPage(Schema):
    """``?limit=&offset=`` of a list: at most 500 rows a request; offset reaches the rest.

    Every list that can grow without bound takes it (``page: Query[ListPage]``).
    """

    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)

    def of(self, rows) -> list:
        return list(rows[self.offset:self.offset + self.limit])

class _Parser(Parser):
    """ninja's parser, refusing input no text column can hold (core.text)."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if has_nul(data):
            raise InvalidInput(NUL_REFUSED)
        return data

    def parse_querydict(self, data, list_fields, request):
        # The address and the query are checked for every request by the
        # pages' error middleware; a form body only here.
        if data is request.POST and querydict_has_nul(data):
            raise InvalidInput(NUL_REFUSED)
        return super().parse_querydict(data, list_fields, request)


api = NinjaAPI(
    parser=_Parser(),
    title="一站 Yizhan API",
    version=__version__,
    description=(
        "示范市一站式政务服务平台接口。错误统一返回 JSON：code（机器可读代码）、"
        "message_zh、message_en、fields、request_id。参见 docs/api.md。"
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def actor_of(request):
    """The authenticated principal of an API request (user or token)."""
    return getattr(request, "actor", None) or request.auth


def respond_error(request, error: ApplicationError):
    """``error`` in the API's one JSON shape, with the request's id."""
    body = error.as_dict()
    body["request_id"] = getattr(request, "request_id", "")
    return api.create_response(request, body, status=error.http_status)


# Failures that never reach the API's own handlers (no such route, a body
# Django cannot parse, a crash) are answered in the same shape by the
# site's error handlers (portal.errors) for paths under the API.

def route_not_found(request):
    return respond_error(request, NotFound(_("接口不存在：%(path)s"), path=request.path))


def bad_request(request):
    return respond_error(request, InvalidInput(_("请求无法解析，请检查请求体和请求头。")))


def server_error(request):
    return respond_error(request, ApplicationError(
        _("服务器内部错误，已记录，请稍后重试；如再次发生请提供请求号。"),
        code=CoreErrorCode.SERVER_ERROR, http_status=500))


def method_not_allowed(request, allowed: str):
    return respond_error(request, ApplicationError(
        _("该接口不支持 %(method)s 方法；可用：%(allowed)s。"),
        code=CoreErrorCode.METHOD_NOT_ALLOWED, http_status=405,
        method=request.method, allowed=allowed))


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    return respond_error(request, exc)


# pydantic words its problems in English only: the usual ones, in the
# platform's languages ({placeholders} are pydantic's ``ctx``).
_DATETIME = _("应为日期时间，如 2026-12-01T09:00:00+08:00")
_DATE = _("应为日期（年-月-日）")
_PYDANTIC_PROBLEMS = {
    "missing": _("必填"),
    "int_parsing": _("应为整数"), "int_type": _("应为整数"), "int_from_float": _("应为整数"),
    "float_parsing": _("应为数字"), "float_type": _("应为数字"),
    "decimal_parsing": _("应为数字"), "decimal_type": _("应为数字"),
    "bool_parsing": _("应为 true 或 false"), "bool_type": _("应为 true 或 false"),
    "string_type": _("应为文本"),
    "string_too_long": _("不能超过 %(max_length)s 个字符"),
    "string_too_short": _("至少 %(min_length)s 个字符"),
    "list_type": _("应为列表"), "dict_type": _("应为对象"), "model_type": _("应为对象"),
    "model_attributes_type": _("应为对象"),
    "datetime_parsing": _DATETIME, "datetime_from_date_parsing": _DATETIME,
    "datetime_type": _DATETIME,
    "date_parsing": _DATE, "date_from_datetime_parsing": _DATE, "date_type": _DATE,
    "greater_than_equal": _("不能小于 %(ge)s"), "less_than_equal": _("不能大于 %(le)s"),
    "greater_than": _("应大于 %(gt)s"), "less_than": _("应小于 %(lt)s"),
    "enum": _("应为以下之一：%(expected)s"), "literal_error": _("应为以下之一：%(expected)s"),
}


def _pydantic_problem(err: dict) -> str:
    """One pydantic problem in the active language (pydantic's own words otherwise)."""
    template = _PYDANTIC_PROBLEMS.get(err.get("type", ""))
    if template is None:
        return err.get("msg", "")
    try:
        return str(template) % {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    except (KeyError, TypeError, ValueError):
        return err.get("msg", "")


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    if any(err.get("type") == "json_invalid" for err in exc.errors):
        return _bad_json(request, exc)
    errors = [(".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "payload")),
               err) for err in exc.errors]

    def detail() -> str:  # worded when the message is rendered, in its language
        return "; ".join(f"{field}: {_pydantic_problem(err)}" for field, err in errors)

    problems = [{"field": field, "problem": _pydantic_problem(err)} for field, err in errors]
    return respond_error(request, InvalidInput(detail=rendered_later(detail), problems=problems))


@api.exception_handler(DjangoValidationError)
def _django_validation_error(request, exc: DjangoValidationError):
    return respond_error(request, InvalidInput(detail="; ".join(exc.messages)))


@api.exception_handler(OverflowError)
def _overflow(request, exc: OverflowError):
    # An id or number beyond what the database holds (10**30 as a path or
    # query id, or in a body): the driver raises before any row is read.
    return respond_error(request, InvalidInput(_("数值超出允许的范围。"),
                                               code=CoreErrorCode.NUMBER_OUT_OF_RANGE))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    # ninja reports an unreadable body as a 400 HttpError whose cause is the
    # real problem: a body over the limit, or text that is not JSON.
    if isinstance(exc.__cause__, RequestDataTooBig):
        return _too_big(request, exc.__cause__)
    if isinstance(exc.__cause__, ApplicationError):  # refused by the parser
        return respond_error(request, exc.__cause__)
    if exc.status_code == 400 and str(exc).startswith("Cannot parse"):
        return _bad_json(request, exc)
    if exc.status_code == 403:
        # Session authentication's CSRF check: the only 403 ninja raises.
        return respond_error(request, PermissionDenied(
            _("请求未通过 CSRF 校验：以登录会话调用接口时，写操作须带 X-CSRFToken 请求头。"),
            code=CoreErrorCode.CSRF_FAILED))
    error = ApplicationError(detail=str(exc), http_status=exc.status_code)
    return respond_error(request, error)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return respond_error(request, NotAuthenticated())


@api.exception_handler(DjangoPermissionDenied)
def _permission_denied(request, exc):
    return respond_error(request, PermissionDenied())


@api.exception_handler(Http404)
def _not_found(request, exc):
    return respond_error(request, NotFound())


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return respond_error(request, InvalidInput(
        _("请求体过大（上限 %(limit)s 字节）。"), code=CoreErrorCode.BODY_TOO_LARGE,
        http_status=413, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


@api.exception_handler(json.JSONDecodeError)
def _bad_json(request, exc):
    return respond_error(request, InvalidInput(_("请求体不是有效的 JSON。"),
                                               code=CoreErrorCode.MALFORMED_JSON))
