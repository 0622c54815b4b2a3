"""Configuration of the catalog app."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "yizhan.catalog"
    label = "catalog"
    verbose_name = "事项目录"

    def ready(self):
        from yizhan.audit.registry import register_actions
        from yizhan.catalog.actions import CatalogAction

        register_actions(CatalogAction)

        from yizhan.catalog.search import on_agency_renamed
        from yizhan.directory.signals import agency_renamed

        agency_renamed.connect(on_agency_renamed, dispatch_uid="catalog.search_text")
