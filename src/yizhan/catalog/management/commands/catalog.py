"""``yizhan catalog import FILE --as USERNAME``: a catalog file from the command line.

For the first load of a city's or province's catalog, thousands of items in
one file: the same reading and the same service as the catalog desk and
``POST /api/v1/catalog/import`` (every record or none, each problem with its
sheet, row and field), acting as the named person, whose permission is
checked and who is the audit log's actor; but not bound to a web request's
time limit.
"""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from yizhan.catalog import transfer
from yizhan.core import context
from yizhan.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Service-item catalog operations. 'import FILE --as USERNAME' imports an .xlsx or "
        ".json file as the catalog desk does, acting as that person: every record or none; "
        "the problems are listed with sheet, row and field, and the exit status is 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["import"], help="the operation to run: import")
        parser.add_argument("file", help="the .xlsx or .json file to import")
        parser.add_argument("--as", dest="username", required=True,
                            help="the sign-in name of the person importing (a catalog editor)")

    def handle(self, *args, operation, file, username, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"没有启用的用户“{username}” / no active user {username!r}")
        try:
            with open(file, "rb") as handle:
                raw = handle.read(transfer.MAX_IMPORT_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"无法读取文件 / cannot read {file}: {exc.strerror}") from None
        name = os.path.basename(file)
        with context.acting("cli"):
            try:
                records = transfer.read_upload(name, raw)
                result = transfer.catalog_import(actor=user, records=records, source=name)
            except ApplicationError as exc:
                # As the desk's table: sheet, row, field, problem; one a line.
                for error in exc.fields.get("errors", []):
                    self.stderr.write("\t".join(str(error.get(key, "")) for key in (
                        "sheet", "row", "field", "problem")))
                raise CommandError(exc.render()) from None
        self.stdout.write(self.style.SUCCESS(
            f"导入成功 / imported: 新增 / created {len(result.created)}, "
            f"更新 / drafted {len(result.drafted)}, 未改动 / unchanged {len(result.unchanged)}"))
        if result.suspended:
            self.stdout.write(self.style.WARNING(
                "暂停办理，草稿须恢复办理后才能发布 / suspended, drafts wait for the "
                "restoration: " + ", ".join(result.suspended)))
