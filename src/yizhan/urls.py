"""Root URLs: the portal, the API under /api/v1/, admin, language switch."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from yizhan.accounts.api import router as accounts_router
from yizhan.audit.api import router as audit_router
from yizhan.core.api import api
from yizhan.directory.api import router as directory_router

api.add_router("/directory", directory_router)
api.add_router("/accounts", accounts_router)
api.add_router("/audit", audit_router)

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("yizhan.portal.urls")),
]

handler400 = "yizhan.portal.errors.bad_request"
handler403 = "yizhan.portal.errors.permission_denied"
handler404 = "yizhan.portal.errors.page_not_found"
handler500 = "yizhan.portal.errors.server_error"
