"""Root URLs: the portal, the API under /api/v1/, admin, language switch."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from yizhan.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("yizhan.catalog.urls")),
    path("", include("yizhan.cases.urls")),
    path("", include("yizhan.supervision.urls")),
    path("", include("yizhan.portal.urls")),
]

handler400 = "yizhan.portal.errors.bad_request"
handler403 = "yizhan.portal.errors.permission_denied"
handler404 = "yizhan.portal.errors.page_not_found"
handler500 = "yizhan.portal.errors.server_error"
