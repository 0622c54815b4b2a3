"""URLs of the public catalog (under /services/) and the catalog desk."""

from django.urls import path

from yizhan.catalog import views

app_name = "catalog"

urlpatterns = [
    path("services/", views.index, name="index"),
    path("services/search/", views.search, name="search"),
    path("services/items/<str:impl_code>/", views.guide, name="guide"),
    path("workbench/catalog/", views.desk, name="desk"),
    path("workbench/catalog/import/", views.desk_import, name="desk_import"),
    path("workbench/catalog/export/", views.desk_export, name="desk_export"),
    path("workbench/catalog/versions/<int:version_id>/", views.desk_version,
         name="desk_version"),
    path("workbench/catalog/versions/<int:version_id>/<str:action>/", views.desk_action,
         name="desk_action"),
]
