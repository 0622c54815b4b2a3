"""Error pages in the user's language, and application errors on pages.

``ApplicationErrorMiddleware`` turns an ``ApplicationError`` raised while
rendering a page into that error's status and message, so a refused
action is a clear 4xx page rather than a 500.  API requests are left to
the API's own handler; what never reaches it (no such route, a method the
route does not take, a body Django cannot parse, a crash) is answered here
in the API's JSON shape for paths under the API.
"""

from django.conf import settings
from django.core.exceptions import TooManyFilesSent
from django.shortcuts import render
from django.utils.translation import gettext as _

from yizhan.core import api
from yizhan.core.errors import ApplicationError, InvalidInput, PermissionDenied
from yizhan.core.middleware import is_api_request
from yizhan.core.text import querydict_unstorable, unstorable


def _page(request, status: int, title: str, message: str):
    return render(request, "portal/error.html", {"title": title, "message": message},
                  status=status)


def bad_request(request, exception=None):
    if is_api_request(request):
        return api.bad_request(request)
    if isinstance(exception, TooManyFilesSent):
        # More file inputs than the platform takes in one form: said so, with
        # the way round it, rather than a bare "bad request".
        return _page(request, 400, _("一次提交的内容过多"),
                     _("一次最多可提交 %(n)s 个文件。请先保存草稿，再在草稿页面分批上传材料。")
                     % {"n": settings.DATA_UPLOAD_MAX_NUMBER_FILES})
    if isinstance(exception, ApplicationError):
        # A refusal of the body that says what to do instead (the files of
        # one request over their total, 413): its own status and words.
        title = _("一次提交的内容过多") if exception.http_status == 413 else _("请求有误")
        return _page(request, exception.http_status, title, exception.render())
    return _page(request, 400, _("请求有误"), _("请求无法处理，请检查后重试。"))


def permission_denied(request, exception=None):
    if is_api_request(request):
        return api.respond_error(request, exception if isinstance(
            exception, ApplicationError) else PermissionDenied())
    message = exception.render() if isinstance(exception, ApplicationError) else _(
        "您没有访问此页面的权限。")
    return _page(request, 403, _("无权访问"), message)


def page_not_found(request, exception=None):
    if is_api_request(request):
        return api.route_not_found(request)
    return _page(request, 404, _("页面不存在"), _("您访问的页面不存在或已被移除。"))


def server_error(request):
    if is_api_request(request):
        return api.server_error(request)
    return render(request, "portal/error_500.html", status=500)


class ApplicationErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = self._refuse_unstorable(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if (response.status_code == 405 and is_api_request(request)
                and not response.get("Content-Type", "").startswith("application/json")):
            return api.method_not_allowed(request, response.get("Allow", ""))
        return response

    @staticmethod
    def _refuse_unstorable(request):
        """Input no text column can hold (core.text), refused before any view.

        The address and the query of every request, and the pages' forms,
        here; the API's bodies (JSON or form) by its parser.  Django decodes
        the address, the query and forms replacing what is not UTF-8, so
        only a NUL reaches this check today; it is the parser's check all
        the same, so that the two cannot drift apart.
        """
        is_api = is_api_request(request)
        refusal = unstorable(request.path)
        if refusal is None:
            refusal = querydict_unstorable(request.GET)
        if refusal is None and not is_api and request.method == "POST":
            refusal = querydict_unstorable(request.POST)
        if refusal is None:
            return None
        if is_api:
            return api.respond_error(request, InvalidInput(refusal))
        return _page(request, 400, _("请求有误"), str(refusal))

    def process_exception(self, request, exception):
        if isinstance(exception, ApplicationError) and not is_api_request(request):
            return _page(request, exception.http_status, _("无法完成操作"), exception.render())
        return None
