"""Helpers of the catalog tests: items built through the services, write checks.

``nothing_written()`` snapshots the catalog's tables and the audit log and
fails if the block changed any of them; wrap it around ``pytest.raises``::

    with nothing_written(), pytest.raises(PermissionDenied):
        services.item_create(actor=stranger, ...)
"""

import hashlib
import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from tests.factories import item_content
from tests.writes import watching
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.catalog import services, transfer
from yizhan.catalog.models import CatalogFile, Fee, Item, ItemVersion, Material

_WATCHED = (Item, ItemVersion, ItemVersion.joint_agencies.through, Material, Fee, CatalogFile,
            AuditRecord, AuditChainHead)

nothing_written = watching(*_WATCHED)


def audit_actions(obj_type: str, obj_id) -> list[str]:
    """Audit actions recorded on one object, oldest first."""
    return list(AuditRecord.objects.filter(object_type=obj_type, object_id=str(obj_id))
                .order_by("at", "id").values_list("action", flat=True))


def editor(world, key="a"):
    return world.user(key, "agency_head")


def reviewer(world, key="a"):
    return world.user(key, "data_officer")


def create(world, name="测试事项", key="a", **overrides) -> ItemVersion:
    """A draft v1 of an item of agency ``key``, created by its head."""
    agency = world.agency_a if key == "a" else world.agency_b
    return services.item_create(actor=editor(world, key), agency=agency,
                                data=item_content(name, **overrides))


def publish(world, version: ItemVersion, key="a") -> ItemVersion:
    """Submit (by the head) and publish (by the data officer) ``version``."""
    services.item_version_submit(actor=editor(world, key), version=version)
    return services.item_version_publish(actor=reviewer(world, key), version=version)


def published(world, name="测试事项", key="a", **overrides) -> ItemVersion:
    return publish(world, create(world, name, key, **overrides), key)


def provincial_agency(world, name="示范省厅", credit_seed=505):
    """An agency of the province, above 甲局 and 乙局 (the city's), as the upper
    agency a 上级初审 item names must be."""
    from tests.cases.helpers import add_agency

    return add_agency(world, name, credit_seed=credit_seed, division="440000")[0]


def city_agencies(world, count: int, credit_seed=600) -> list:
    """``count`` open agencies of the city (联办00局, 联办01局, …), without staff: the
    joint agencies of a 并联审批 item."""
    from tests.factories import valid_credit_code
    from yizhan.directory import services as directory_services

    return [directory_services.agency_create(
        actor=world.admin, name=f"联办{n:02d}局", kind="department", division_code="449900",
        credit_code=valid_credit_code(credit_seed + n, "449900")) for n in range(count)]


# --- files of a version (blank forms, samples, result samples) ---------------------------

FORM_NAME = "食品经营许可申请书.pdf"


def pdf_bytes(tag: str = "") -> bytes:
    """A small PDF whose bytes no other test stores (the storage outlives a test)."""
    return (b"%PDF-1.4\n% " + f"{tag} {uuid.uuid4()}".encode() + b"\n1 0 obj<<>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def uploaded(content: bytes, name: str = "申请书.pdf") -> SimpleUploadedFile:
    # The declared type is never believed: the content decides.
    return SimpleUploadedFile(name, content, content_type="text/html")


def attach(world, version, content, kind="blank_form", order=1, name="申请书.pdf"):
    """``content`` attached to ``version`` by agency A's head, as ``kind`` of material
    ``order`` (of the version itself for the result sample)."""
    return services.item_file_attach(actor=editor(world), version=version, kind=kind,
                                     material_order=order if kind != "result_sample" else None,
                                     upload=uploaded(content, name))


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def file_url(content: bytes, name: str) -> str:
    """The download of ``content`` under ``name``: /services/files/<sha256>/<name>."""
    return reverse("catalog:file", args=[digest(content), name])


def public_item(world, **overrides) -> tuple[ItemVersion, bytes]:
    """食品经营许可证核发 of agency A, published with a PDF blank form named
    ``FORM_NAME`` on its first material; the version and the form's bytes."""
    content = pdf_bytes("public")
    version = attach(world, create(world, "食品经营许可证核发", basic_code="XK04101000",
                                   **overrides), content, name=FORM_NAME)
    return publish(world, version), content


def workbook_bytes(items=(), materials=(), fees=(), *, item_headers=None) -> bytes:
    """An import workbook: rows are dicts keyed by the column headers."""
    book = Workbook()
    sheets = [book.active, book.create_sheet(), book.create_sheet()]
    all_columns = (transfer.ITEM_COLUMNS, transfer.MATERIAL_COLUMNS, transfer.FEE_COLUMNS)
    for sheet, title, columns, rows in zip(sheets, transfer.SHEETS, all_columns,
                                           (items, materials, fees), strict=True):
        sheet.title = title
        headers = [h for h, _k in columns]
        if title == transfer.SHEETS[0] and item_headers is not None:
            headers = item_headers
        sheet.append(headers)
        for row in rows:
            sheet.append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
