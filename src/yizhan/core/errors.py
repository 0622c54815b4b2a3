"""The one application error hierarchy.

Every error a user or client can cause is an ``ApplicationError`` with a
stable code, a translatable message template, structured fields and an HTTP
status.  Views render the message; the API turns it into the JSON shape
documented in docs/api.md (see ``yizhan.core.api``).  Message templates use
``%(name)s`` placeholders filled from ``fields`` so that translations can
reorder them.
"""

from django.conf import settings
from django.utils import translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from yizhan.core.error_codes import CoreErrorCode


class ApplicationError(Exception):
    code: str = CoreErrorCode.INVALID_INPUT
    message = _("请求无效。")
    http_status = 400

    def __init__(self, message=None, *, code=None, http_status=None, **fields):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.fields = fields
        super().__init__(self.render())

    def render(self, language: str | None = None) -> str:
        """The message in ``language`` (the active language if None).

        Fields are filled in that language too, so a field made with
        ``rendered_later`` (a list of translated labels) follows the message.
        """
        if language is None:
            return self._filled()
        with translation.override(language):
            return self._filled()

    def _filled(self) -> str:
        text = str(self.message)
        try:
            return text % self.fields if self.fields else text
        except (KeyError, TypeError, ValueError):
            return text

    def as_dict(self) -> dict:
        return {
            "code": str(self.code),
            "message": self.render(),
            "message_zh": self.render("zh-hans"),
            "message_en": self.render("en"),
            "fields": {k: _jsonable(v) for k, v in self.fields.items()},
        }


def rendered_later(make) -> str:
    """A field whose text ``make()`` gives when the message is rendered.

    For fields built from translated labels (the lawful reasons, the roles a
    lane may name): an error is rendered in Chinese and in English from the
    same fields, so a text joined when the error is raised would be in one
    language in both.
    """
    return lazy(make, str)()


def worded_in_each_language(make) -> str:
    """A field ``make()`` words now, once in each of the platform's languages.

    For text that can only be worded when the error is raised (Django's
    password validators translate as they run; a check that reads the
    database): each rendering of the message takes the wording of its own
    language.
    """
    wordings = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            wordings[language] = make()
    return rendered_later(
        lambda: wordings.get(translation.get_language(), wordings[settings.LANGUAGE_CODE]))


def joined(texts) -> str:
    """Texts as a list in a message, with the active language's separator."""
    return str(_("；")).join(map(str, texts))


def listed(items) -> str:
    """Names as one list in a sentence: 营业执照、食品经营许可证 in Chinese, a
    comma in English (the catalog's ``list separator``)."""
    return pgettext("list separator", "、").join(map(str, items))


def listed_later(items) -> str:
    """``listed(items)`` worded when its message is rendered (``rendered_later``),
    so an error told in Chinese and in English lists its items in each."""
    items = list(items)
    return rendered_later(lambda: listed(items))


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class InvalidInput(ApplicationError):
    code = CoreErrorCode.INVALID_INPUT
    message = _("输入有误：%(detail)s")
    http_status = 400


class NotFound(ApplicationError):
    code = CoreErrorCode.NOT_FOUND
    message = _("找不到所请求的对象，或您无权查看。")
    http_status = 404


class PermissionDenied(ApplicationError):
    """Refusal by a permission predicate.

    Services raise it before writing anything, so a refused call leaves no
    trace but the refusal itself.
    """

    code = CoreErrorCode.PERMISSION_DENIED
    message = _("您没有执行此操作的权限。")
    http_status = 403


class NotAuthenticated(ApplicationError):
    code = CoreErrorCode.NOT_AUTHENTICATED
    message = _("请先登录。")
    http_status = 401


class Conflict(ApplicationError):
    code = CoreErrorCode.CONFLICT
    message = _("该对象已被他人修改，请刷新后重试。")
    http_status = 409


class Throttled(ApplicationError):
    code = CoreErrorCode.THROTTLED
    message = _("尝试次数过多，请 %(minutes)s 分钟后再试。")
    http_status = 429
