"""URLs of the public catalog (under /services/) and the catalog desk."""

from django.urls import path

from yizhan.catalog import desk_edit, file_views, views

app_name = "catalog"

urlpatterns = [
    path("services/", views.index, name="index"),
    path("services/search/", views.search, name="search"),
    path("services/items/<str:impl_code>/", views.guide, name="guide"),
    # The name is the one a version gives the file (catalog.selectors.catalog_file_for).
    path("services/files/<str:sha256>/<str:name>", file_views.download, name="file"),
    path("workbench/catalog/", views.desk, name="desk"),
    path("workbench/catalog/import/", views.desk_import, name="desk_import"),
    path("workbench/catalog/export/", views.desk_export, name="desk_export"),
    path("workbench/catalog/new/", desk_edit.item_new, name="desk_new"),
    path("workbench/catalog/versions/<int:version_id>/", views.desk_version,
         name="desk_version"),
    path("workbench/catalog/versions/<int:version_id>/files/attach/",
         file_views.desk_file_attach, name="desk_file_attach"),
    path("workbench/catalog/versions/<int:version_id>/files/detach/",
         file_views.desk_file_detach, name="desk_file_detach"),
    path("workbench/catalog/versions/<int:version_id>/edit/", desk_edit.version_edit,
         name="desk_edit"),
    path("workbench/catalog/versions/<int:version_id>/<str:action>/", views.desk_action,
         name="desk_action"),
]
