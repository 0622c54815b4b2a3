"""Running migrations backwards and forwards in a test of a data migration."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target: tuple[str, str]):
    """The database at ``target`` (app, migration); the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def migrate_to_latest() -> None:
    """Every app at its latest migration again, whatever a test migrated back:
    migrating one app back unapplies the later migrations of others that
    depend on it, and the tests after (a live server's too) use the whole
    schema."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
