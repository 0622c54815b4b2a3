"""The platform's one JSON API object, its authentication and error shape.

Every app adds a router here (see ``yizhan.urls``).  Errors, whatever
raised them, leave as one JSON shape, documented in docs/api.md::

    {"code": "directory.invalid_identifier",
     "message": "<in the request's language>",
     "message_zh": "...", "message_en": "...",
     "fields": {...}, "request_id": "..."}
"""

import datetime
import functools
import json
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import URLPattern
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, SessionAuth

from yizhan import __version__
from yizhan.core.error_codes import CoreErrorCode
from yizhan.core.errors import (
    ApplicationError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    listed,
    rendered_later,
)
from yizhan.core.text import querydict_unstorable, unstorable


class TokenAuth(HttpBearer):
    """``Authorization: Bearer yz_<prefix>_<secret>``: a system acting for an agency."""

    def authenticate(self, request, token):
        from yizhan.accounts.services import token_authenticate

        principal = token_authenticate(token)
        request.actor = principal
        return principal


class StaffOrPublicSession(SessionAuth):
    """Session auth for pages calling the API; CSRF is checked by ninja."""

    def _get_key(self, request):
        # CSRF protects a signed-in browser from a forged write.  A request
        # with no signed-in session (no cookie, or an expired one) has nothing
        # to forge: it is told it lacks credentials (401), not that it lacks
        # a CSRF token, which would send a system that forgot its Bearer
        # token looking for X-CSRFToken.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

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


MAX_OFFSET = 2**62


class ListPage(Schema):
    """``?limit=&offset=`` of a list: at most 500 rows a request; offset reaches the rest.

    Every list that can grow without bound takes it (``page: Query[ListPage]``).
    """

    limit: int = Field(100, ge=1, le=500)
    # Bounded so that the offset, and the slice's end (offset + limit), fit
    # the 64-bit integer the database takes for OFFSET: beyond it the query
    # itself fails (a 500).  No table comes near 2**62 rows, so the bound
    # refuses no real page.
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def of(self, rows) -> list:
        return list(rows[self.offset:self.offset + self.limit])


class _Parser(Parser):
    """ninja's parser, refusing input no text column can hold (core.text)."""

    def parse_body(self, request):
        data = super().parse_body(request)
        refusal = unstorable(data)
        if refusal is not None:
            raise InvalidInput(refusal)
        return data

    def parse_querydict(self, data, list_fields, request):
        # The address and the query are checked for every request by the
        # pages' error middleware; a form body only here.
        if data is request.POST:
            refusal = querydict_unstorable(data)
            if refusal is not None:
                raise InvalidInput(refusal)
        return super().parse_querydict(data, list_fields, request)


# The one shape of every failure (``ApplicationError.as_dict`` and the
# request's id), described once in the OpenAPI document.
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message", "message_zh", "message_en", "fields", "request_id"],
    "properties": {
        "code": {"type": "string", "description": "机器可读代码，如 cases.task_taken"},
        "message": {"type": "string", "description": "请求语言的说明"},
        "message_zh": {"type": "string"},
        "message_en": {"type": "string"},
        "fields": {"type": "object", "description": "出错的字段与相关值"},
        "request_id": {"type": "string", "description": "请求号，报告问题时提供"},
    },
}


class _Encoder(NinjaJSONEncoder):
    """ninja's JSON, with every aware date and time written in UTC (``…Z``).

    A deadline read from the database comes in UTC, one just computed in
    the platform's time zone (+08:00): the same instant would be written
    two ways, and a client comparing answers would see a change where
    there is none.
    """

    def default(self, o):
        if isinstance(o, datetime.datetime) and o.utcoffset() is not None:
            o = o.astimezone(datetime.UTC)
        return super().default(o)


class _Renderer(JSONRenderer):
    encoder_class = _Encoder


class YizhanAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """ninja's document, with the error shape answered by every operation.

        The operations declare their successes only; every one of them may
        also fail, always in the one shape, which a generated client should
        know of.
        """
        schema = super().get_openapi_schema(**kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("4XX", {"description": "请求被拒绝 / Refused", **error})
                responses.setdefault("5XX", {"description": "服务器错误 / Server error", **error})
        return schema

    @property
    def urls(self):
        """ninja's routes, each answering HEAD wherever it answers GET (answering_head)."""
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = answering_head(pattern.callback)
        return patterns, app_name, namespace


def _without_body(response):
    """A HEAD's answer: the GET's status and headers, its length, and no body."""
    if response.streaming:
        response.streaming_content = []
    else:
        response.headers.setdefault("Content-Length", str(len(response.content)))
        response.content = b""
    return response


def _answered(request, response):
    """The route's answer to ``request``, HEAD's without its body.

    A 405 of a route that takes GET lists HEAD among the methods it takes.
    """
    if request.method == "HEAD":
        return _without_body(response)
    allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
    if response.status_code == 405 and "GET" in allowed and "HEAD" not in allowed:
        response["Allow"] = ", ".join([*allowed, "HEAD"])
    return response


def answering_head(view):
    """``view`` answering HEAD as its GET without the body, as Django's ``View`` does.

    HTTP asks a server to answer HEAD wherever it answers GET, with the
    same status and headers (RFC 9110 §9.3.2); monitoring and link
    checkers ask with it.  ninja answers HEAD only on operations that list
    it, each then a second operation in the OpenAPI document, so the
    routes are wrapped instead and the document stays as it is.

    ninja finds a route's operation by the request's method, so a HEAD is
    a GET while the route's view runs: the operation, its authentication
    (CSRF included: both methods are safe) and its errors are the GET's;
    a route that takes no GET refuses it with 405 as before.  The body is
    dropped here rather than left to the web server.  The platform's
    operations are all synchronous, and so is this wrapper.
    """
    @functools.wraps(view)
    def sync_view(request, *args, **kwargs):
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        try:
            response = view(request, *args, **kwargs)
        finally:
            if head:
                request.method = "HEAD"
        return _answered(request, response)
    return sync_view


api = YizhanAPI(
    parser=_Parser(),
    renderer=_Renderer(),
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
    response = respond_error(request, ApplicationError(
        _("该接口不支持 %(method)s 方法；可用：%(allowed)s。"),
        code=CoreErrorCode.METHOD_NOT_ALLOWED, http_status=405,
        method=request.method, allowed=allowed))
    # HTTP requires a 405 to say what the route takes (RFC 9110 §15.5.6).
    response["Allow"] = allowed
    return response


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    return respond_error(request, exc)


# pydantic words its problems in English only: those a client can cause,
# in the platform's languages ({placeholders} are pydantic's ``ctx``).  Any
# other is worded as _INVALID_VALUE: pydantic's English ``msg`` would be
# the Chinese message's text.
_INVALID_VALUE = _("值无效")
_DATETIME = _("应为日期时间，如 2026-12-01T09:00:00+08:00")
_DATE = _("应为日期（年-月-日）")
_TIME = _("应为时间，如 09:00:00")
_NUMBER = _("应为数字")
_OBJECT = _("应为对象")
_LIST = _("应为列表")
_PYDANTIC_PROBLEMS = {
    "missing": _("必填"),
    "extra_forbidden": _("不接受此字段"),
    "none_required": _("应为 null"),
    "int_parsing": _("应为整数"), "int_type": _("应为整数"), "int_from_float": _("应为整数"),
    # An integer of thousands of digits: pydantic will not read it.
    "int_parsing_size": _("数值超出允许的范围"),
    "float_parsing": _NUMBER, "float_type": _NUMBER,
    "decimal_parsing": _NUMBER, "decimal_type": _NUMBER,
    # NaN and Infinity, which JSON numbers and Decimal strings can spell.
    "finite_number": _("应为有限的数字"),
    "multiple_of": _("应为 %(multiple_of)s 的倍数"),
    "decimal_max_digits": _("总位数不能超过 %(max_digits)s 位"),
    "decimal_max_places": _("小数不能超过 %(decimal_places)s 位"),
    "decimal_whole_digits": _("整数部分不能超过 %(whole_digits)s 位"),
    "bool_parsing": _("应为 true 或 false"), "bool_type": _("应为 true 或 false"),
    "string_type": _("应为文本"),
    # Text that is not valid Unicode (a str field read from bytes).
    "string_unicode": _("应为有效的 Unicode 文本"),
    "string_too_long": _("不能超过 %(max_length)s 个字符"),
    "string_too_short": _("至少 %(min_length)s 个字符"),
    "string_pattern_mismatch": _("格式不正确"),
    "too_long": _("不能超过 %(max_length)s 项"),
    "too_short": _("至少 %(min_length)s 项"),
    "list_type": _LIST, "tuple_type": _LIST, "set_type": _LIST, "frozen_set_type": _LIST,
    "iterable_type": _LIST,
    "dict_type": _OBJECT, "mapping_type": _OBJECT, "model_type": _OBJECT,
    "model_attributes_type": _OBJECT, "dataclass_type": _OBJECT,
    "datetime_parsing": _DATETIME, "datetime_from_date_parsing": _DATETIME,
    "datetime_type": _DATETIME, "datetime_object_invalid": _DATETIME,
    "timezone_aware": _("应带时区，如 +08:00"), "timezone_naive": _("不应带时区"),
    "date_parsing": _DATE, "date_from_datetime_parsing": _DATE, "date_type": _DATE,
    # A date sent as a date and time: only midnight reads as a date.
    "date_from_datetime_inexact": _("应为日期（年-月-日），不带时间"),
    "time_parsing": _TIME, "time_type": _TIME,
    "time_delta_parsing": _("应为时长，如 P3D"), "time_delta_type": _("应为时长，如 P3D"),
    "uuid_parsing": _("应为 UUID"), "uuid_type": _("应为 UUID"),
    "url_parsing": _("应为网址"), "url_type": _("应为网址"), "url_scheme": _("应为网址"),
    "url_syntax_violation": _("应为网址"), "url_too_long": _("网址过长"),
    "greater_than_equal": _("不能小于 %(ge)s"), "less_than_equal": _("不能大于 %(le)s"),
    "greater_than": _("应大于 %(gt)s"), "less_than": _("应小于 %(lt)s"),
    "enum": _("应为以下之一：%(expected)s"), "literal_error": _("应为以下之一：%(expected)s"),
}


# pydantic hands the allowed values of a choice (an enum, a Literal) over
# as their reprs already joined in English: "'json' or 'xlsx'", "1, 2 or 3".
# Each value is a quoted string (which may hold a comma or an "or") or a
# bare word (a number, None, True), followed by ", ", " or " or the end.
_CHOICE_PROBLEMS = {"enum", "literal_error"}
_EXPECTED_VALUE = re.compile(
    r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,'"]+)(?:, | or |$)""")


def _expected_values(expected: str) -> list[str] | None:
    """The allowed values in pydantic's ``expected``, as written; None if unreadable."""
    values, at = [], 0
    while at < len(expected):
        match = _EXPECTED_VALUE.match(expected, at)
        if match is None:
            return None
        values.append(match.group(1))
        at = match.end()
    return values or None


def _pydantic_problem(err: dict) -> str:
    """One pydantic problem in the active language (never pydantic's English)."""
    template = _PYDANTIC_PROBLEMS.get(err.get("type", ""), _INVALID_VALUE)
    ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    if err.get("type") in _CHOICE_PROBLEMS and "expected" in ctx:
        # Joined again in the message's language: 'json'、'xlsx' in Chinese.
        values = _expected_values(ctx["expected"])
        if values is None:
            return str(_INVALID_VALUE)
        ctx["expected"] = listed(values)
    try:
        return str(template) % ctx
    except (KeyError, TypeError, ValueError):
        return str(_INVALID_VALUE)


# The location of a problem in the body as a whole (no body where one is
# required, a list where an object is): ninja's loc is ("body", <param>),
# which leaves no field name once the two are dropped.
BODY_FIELD = "body"


def _field_of(err: dict) -> str:
    """The problem's field as the client wrote it: ``content.name``, ``limit``."""
    field = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "payload"))
    return field or BODY_FIELD


def _field_label(field: str) -> str:
    """The field as the message names it: the body as a whole is "the request body"."""
    return str(_("请求体")) if field == BODY_FIELD else field


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    if any(err.get("type") == "json_invalid" for err in exc.errors):
        return _bad_json(request, exc)
    errors = [(_field_of(err), err) for err in exc.errors]

    def detail() -> str:  # worded when the message is rendered, in its language
        return "; ".join(f"{_field_label(field)}: {_pydantic_problem(err)}"
                         for field, err in errors)

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
