"""State changes of the catalog: items, versions and their review.

Content is checked by ``content.clean_version_data``, whatever the entry
point (form, API, import).
"""

import hashlib
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.models import person_of
from yizhan.audit.services import audit_append
from yizhan.cases.uploads import CATALOG_FILES, CheckedUpload, check_upload
from yizhan.catalog import codes, permissions, selectors
from yizhan.catalog.actions import CatalogAction
from yizhan.catalog.content import (
    clean_version_data,
    file_display_name,
    illegal_character,
    unnamed_lanes,
    version_as_data,
)
from yizhan.catalog.error_codes import CatalogErrorCode
from yizhan.catalog.models import (
    CatalogFile,
    Fee,
    Item,
    ItemVersion,
    Material,
    ProcessTemplate,
    catalog_file_path,
)
from yizhan.catalog.search import search_text_for
from yizhan.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    rendered_later,
)
from yizhan.core.ids import parse_id
from yizhan.core.permissions import require
from yizhan.directory.models import Agency


def _write_version(version: ItemVersion, clean: dict) -> None:
    """Store clean content on ``version`` (saved) with its materials and fees."""
    simple = {k: v for k, v in clean.items() if k not in ("materials", "fees",
                                                           "joint_agencies")}
    for field, value in simple.items():
        setattr(version, field, value)
    version.save()
    version.joint_agencies.set(clean["joint_agencies"])
    version.materials.all().delete()
    version.fees.all().delete()
    Material.objects.bulk_create(Material(version=version, **m) for m in clean["materials"])
    Fee.objects.bulk_create(Fee(version=version, **f) for f in clean["fees"])
    version.search_text = search_text_for(version)
    version.save(update_fields=["search_text"])


# The business item sequence, the last two digits of an implementation code.
IMPL_SEQUENCE_MAX = 99


def _impl_code_for(agency: Agency, clean: dict, given: str | None) -> str:
    if not agency.credit_code:
        raise InvalidInput(_("实施机关“%(agency)s”没有统一社会信用代码，不能作为事项实施主体。"),
                           code=CatalogErrorCode.BAD_IMPL_CODE, agency=agency.name)
    division = codes.division_for_level(agency.division.code, clean["exercise_level"])
    if given:
        parsed = codes.parse_impl_code(given)
        if parsed.credit_code != agency.credit_code:
            raise InvalidInput(_("实施编码中的统一社会信用代码与实施机关“%(agency)s”不符。"),
                               code=CatalogErrorCode.BAD_IMPL_CODE, field="impl_code",
                               agency=agency.name)
        if parsed.division != division:
            raise InvalidInput(_("实施编码中的行政区划代码与实施机关所在区划不符。"),
                               code=CatalogErrorCode.BAD_IMPL_CODE, field="impl_code")
        if parsed.basic != clean["basic_code"] or parsed.level != clean["exercise_level"]:
            raise InvalidInput(_("实施编码与基本编码或行使层级不一致。"),
                               code=CatalogErrorCode.BAD_IMPL_CODE, field="impl_code")
        return str(parsed)
    # The caller holds the agency's row (item_create): two editors creating
    # items of one basic code at once get the next two sequences, one after
    # the other, rather than the same code twice (and a server error).
    candidates = [codes.make_impl_code(basic_code=clean["basic_code"],
                                       level=clean["exercise_level"], division_code=division,
                                       credit_code=agency.credit_code, sequence=sequence)
                  for sequence in range(1, IMPL_SEQUENCE_MAX + 1)]
    taken = set(Item.objects.filter(impl_code__in=candidates)
                .values_list("impl_code", flat=True))
    free = next((code for code in candidates if code not in taken), None)
    if free is None:
        # The sequence has two digits: a 100th code would be one character too
        # long, and refused by every later check of it.
        raise InvalidInput(_("实施机关“%(agency)s”的基本编码 %(basic_code)s（行使层级 %(level)s）"
                             "已有 %(n)s 个事项，业务办理项编码已用完，不能再新建。"),
                           code=CatalogErrorCode.IMPL_CODES_EXHAUSTED, field="basic_code",
                           agency=agency.name, basic_code=clean["basic_code"],
                           level=clean["exercise_level"], n=IMPL_SEQUENCE_MAX)
    return free


def _keeps_code(item: Item, clean: dict) -> None:
    """A later version may change anything but what the implementation code says.

    The code carries the basic code and the exercising level (and the
    agency and division); a version that changed them would publish under
    a code of another item type or level.
    """
    if item.internal:
        return
    parsed = codes.parse_impl_code(item.impl_code)
    if parsed.basic != clean["basic_code"] or parsed.level != clean["exercise_level"]:
        raise InvalidInput(
            _("基本编码和行使层级是实施编码 %(impl_code)s 的一部分，新版本不能改变；"
              "改变它们须作为新事项录入。"),
            code=CatalogErrorCode.BAD_IMPL_CODE, field="basic_code", impl_code=item.impl_code)


def _withdrawal(item: Item):
    """The item's withdrawal as a field of a refusal, worded in each rendering's language."""
    return rendered_later(item.withdrawal_statement)


def _not_cancelled(item: Item) -> None:
    """A cancelled item is out of service for good: no new version, no review."""
    if item.is_cancelled:
        raise Conflict(_("%(withdrawal)s取消是最终的：该事项不能再恢复、发布或新建版本；"
                         "如需重新办理，请作为新事项录入。"),
                       code=CatalogErrorCode.ITEM_CANCELLED, withdrawal=_withdrawal(item),
                       decision=item.withdrawn_reason)


def _not_withdrawn(item: Item) -> None:
    """A version of a cancelled or suspended item is not published (it would be
    the public item again); a suspended item's waits for its restoration."""
    _not_cancelled(item)
    if item.is_suspended:
        raise Conflict(_("%(withdrawal)s恢复办理后才能发布新版本。"),
                       code=CatalogErrorCode.ITEM_WITHDRAWN, withdrawal=_withdrawal(item),
                       decision=item.withdrawn_reason)


def _agency_open(agency: Agency) -> None:
    """A closed agency works no more: none of its items is created or published."""
    if not agency.is_active:
        raise Conflict(_("实施机关“%(agency)s”已停用，不能新建或发布它的事项。"),
                       code=CatalogErrorCode.AGENCY_CLOSED, agency=agency.name)


def _named_agencies_open(version: ItemVersion) -> None:
    """The joint and upper agencies a version names are still at work.

    Checked when the content is written (content._agency_ids) and again at
    publication: an agency closed meanwhile would get a task of every case
    and never do it.
    """
    closed = selectors.closed_named_agencies(version)
    for field in ("joint_agencies", "upper_agency"):
        names = [agency.name for named_by, agency in closed if named_by == field]
        if names:
            raise Conflict(_("“%(ref)s”已停用，不能作为联办机关或上级审批机关；请退回编辑人"
                             "修改后再发布。"),
                           code=CatalogErrorCode.AGENCY_CLOSED, field=field,
                           ref="、".join(names))


def _lanes_have_agencies(version: ItemVersion, definition) -> None:
    """Every ``$joint`` and ``$upper`` lane of the version's process has its agencies.

    The content's own check (``content.unnamed_lanes``), made again at
    publication for a copy that left out closed agencies
    (``item_version_draft``), whose editor may not have named others yet:
    every case would fail when it is submitted.
    """
    for field, problem in unnamed_lanes(version.process_template, definition,
                                        joint=version.joint_agencies.exists(),
                                        upper=version.upper_agency_id is not None):
        raise Conflict(_("%(problem)s；请退回编辑人修改后再发布。"),
                       code=CatalogErrorCode.AGENCY_MISSING, field=field, problem=problem)


@transaction.atomic
def item_create(*, actor, agency: Agency, data: dict, impl_code: str | None = None
                ) -> ItemVersion:
    """Create an item of ``agency`` with its first version as a draft."""
    require(permissions.item_create(actor, agency=agency), action="item_create")
    clean = clean_version_data(data, agency=agency)
    # Locked while the code is chosen and the item written (_impl_code_for);
    # the agency is closed under the same lock (directory.agency_update).
    agency = Agency.objects.select_for_update(no_key=True).get(pk=agency.pk)
    _agency_open(agency)
    code = _impl_code_for(agency, clean, impl_code)
    if Item.objects.filter(impl_code=code).exists():
        # Not %(code)s: ``code`` is the error's own code, never a message field.
        raise InvalidInput(_("实施编码 %(impl_code)s 已存在。"),
                           code=CatalogErrorCode.ITEM_EXISTS, field="impl_code", impl_code=code)
    now = timezone.now()
    item = Item.objects.create(impl_code=code, agency=agency, created_at=now)
    version = ItemVersion(item=item, number=1, edited_by=person_of(actor), edited_at=now)
    _write_version(version, clean)
    audit_append(actor=actor, action=CatalogAction.ITEM_CREATED, obj=item, agency_id=agency.pk,
                 changes={"impl_code": code, "name": clean["name"], "version": 1})
    return version


def _locked(version: ItemVersion) -> ItemVersion:
    return (ItemVersion.objects.select_for_update(of=("self",))
            .select_related("item", "item__agency").get(pk=version.pk))


def _time_read(value, *, field: str):
    """The ``edited_at`` of a version as its reader got it (ISO 8601 with an offset,
    as the API and the desk's forms give it), or None when not given.

    Read as an import reads an export's ``base_edited_at``; anything else is
    refused, naming ``field``.
    """
    from yizhan.catalog.transfer import export_base

    try:
        return export_base({"base_edited_at": value})[1]
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(_("修改时间无效：应为读取版本时得到的 edited_at（含时区的 ISO 8601 "
                             "时间）。"), code=CatalogErrorCode.BAD_FIELD, field=field) from None


def _unchanged_since(version: ItemVersion, value, *, field: str, message) -> None:
    """``version`` (locked) is as it was read at ``value``, when that is given: a
    page or client acting on what it read acts on nothing else."""
    seen = _time_read(value, field=field)
    if seen is not None and seen != version.edited_at:
        raise Conflict(message, code=CatalogErrorCode.STALE_VERSION, field=field)


@transaction.atomic
def item_version_edit(*, actor, version: ItemVersion, data: dict) -> ItemVersion:
    """Replace the content of a draft version.

    ``data["base_edited_at"]``, when given, is the ``edited_at`` of the
    version the content was read from (the API's read, the desk's form, an
    export): when the draft was edited since (content, a file attached or
    removed), the edit is refused rather than silently undoing the other.
    """
    version = _locked(version)
    require(permissions.item_version_edit(actor, version=version), action="item_version_edit")
    if version.status != ItemVersion.Status.DRAFT:
        raise Conflict(_("只能修改草稿；已发布的事项请先新建版本。"),
                       code=CatalogErrorCode.NOT_DRAFT)
    _unchanged_since(version, data.get("base_edited_at"), field="base_edited_at",
                     message=_("该草稿在您读取后已被他人修改，请重新读取后再编辑。"))
    clean = clean_version_data(data, agency=version.item.agency,
                               kept_upper=version.upper_agency_id)
    _keeps_code(version.item, clean)
    version.edited_by = person_of(actor)
    version.edited_at = timezone.now()
    _write_version(version, clean)
    audit_append(actor=actor, action=CatalogAction.VERSION_EDITED, obj=version,
                 agency_id=version.item.agency_id, changes={"name": clean["name"]})
    return version


@transaction.atomic
def item_version_draft(*, actor, item: Item, data: dict | None = None) -> ItemVersion:
    """Start the next version of a published item (a copy, or ``data``).

    A copy leaves out the joint and upper agencies closed since (the
    returned version's ``dropped_closed`` lists them, and so does the audit
    record): its editor names others in the draft, which is not published
    while a lane of its process has no agency (``_lanes_have_agencies``).
    """
    item = Item.objects.select_for_update(of=("self",)).select_related("agency").get(pk=item.pk)
    if item.internal:
        # The platform's own item (监察督办) has no editors: it is not found.
        raise NotFound()
    require(permissions.item_version_draft(actor, item=item), action="item_version_draft")
    _not_cancelled(item)
    if item.versions.filter(status__in=[ItemVersion.Status.DRAFT,
                                        ItemVersion.Status.PENDING]).exists():
        raise Conflict(_("该事项已有未发布的版本，请在其上修改。"),
                       code=CatalogErrorCode.DRAFT_EXISTS)
    latest = item.versions.order_by("-number").first()
    dropped = []
    if data is None:
        content, dropped = _open_agencies_only(version_as_data(latest, copy=True), latest)
    else:
        content = data
    clean = clean_version_data(content, agency=item.agency, kept_upper=latest.upper_agency_id,
                               lanes_unfilled=bool(dropped))
    _keeps_code(item, clean)
    version = ItemVersion(item=item, number=latest.number + 1, edited_by=person_of(actor),
                          edited_at=timezone.now())
    _write_version(version, clean)
    changes = {"number": version.number}
    if dropped:
        changes["dropped_closed"] = [{"field": field, "id": agency.pk, "name": agency.name}
                                     for field, agency in dropped]
    audit_append(actor=actor, action=CatalogAction.VERSION_DRAFTED, obj=version,
                 agency_id=item.agency_id, changes=changes)
    version.dropped_closed = [agency for _field, agency in dropped]
    return version


def _open_agencies_only(content: dict, latest: ItemVersion) -> tuple[dict, list]:
    """A copy of ``latest`` (``version_as_data(copy=True)``) without the joint and
    upper agencies closed since it was written, and those left out
    (``selectors.closed_named_agencies``: field, agency).

    Copied, a closed agency would be refused (“丙局”已停用), and an item whose
    joint or upper agency closed (merged, abolished) could get no draft in
    which to name another: it would stay out of service for good.
    """
    dropped = selectors.closed_named_agencies(latest)
    closed = {agency.pk for _field, agency in dropped}
    if closed:
        content["joint_agencies"] = [pk for pk in content["joint_agencies"] if pk not in closed]
        if content["upper_agency"] in closed:
            content["upper_agency"] = None
    return content, dropped


@transaction.atomic
def item_version_submit(*, actor, version: ItemVersion) -> ItemVersion:
    version = _locked(version)
    require(permissions.item_version_submit(actor, version=version),
            action="item_version_submit")
    if version.status != ItemVersion.Status.DRAFT:
        raise Conflict(_("只有草稿可以提交审核。"), code=CatalogErrorCode.NOT_DRAFT)
    _not_cancelled(version.item)
    version.status = ItemVersion.Status.PENDING
    version.save(update_fields=["status"])
    audit_append(actor=actor, action=CatalogAction.VERSION_SUBMITTED, obj=version,
                 agency_id=version.item.agency_id,
                 changes={"status": ["draft", "pending"]})
    return version


# How the audit log names an API token's acts (accounts.principals.TokenPrincipal).
TOKEN_LABEL = "token:"


def _editors(version: ItemVersion) -> set[int]:
    """Everyone who wrote the version: whoever created it and every later editor,
    and whoever issued a token that wrote some of it.

    Not only the last: otherwise an officer who wrote a draft could have
    someone else save it once and then publish their own content.
    """
    from yizhan.audit.selectors import actors_of

    written = (CatalogAction.VERSION_DRAFTED, CatalogAction.VERSION_EDITED,
               CatalogAction.FILE_ATTACHED, CatalogAction.FILE_DETACHED)
    objects = [("catalog.itemversion", str(version.pk), written)]
    if version.number == 1:
        # Version 1 is written with its item (catalog.item_created).
        objects.append(("catalog.item", str(version.item_id), (CatalogAction.ITEM_CREATED,)))
    return actors_of(*objects) | _token_issuers(objects) | {version.edited_by_id}


def _token_issuers(objects) -> set[int]:
    """Whoever issued the API tokens that did any of the actions on the objects.

    A token's acts name no person (the log records it as ``token:<prefix>``),
    but a person holds its secret: its issuer, who could otherwise write a
    version through the token and publish it on the desk as its second pair
    of eyes.
    """
    from yizhan.accounts.models import ApiToken
    from yizhan.audit.models import AuditRecord

    match = Q(pk__in=[])
    for object_type, object_id, actions in objects:
        match |= Q(object_type=object_type, object_id=object_id, action__in=actions)
    labels = (AuditRecord.objects.filter(match, actor_id__isnull=True,
                                         actor_label__startswith=TOKEN_LABEL)
              .values_list("actor_label", flat=True).distinct())
    prefixes = {label.removeprefix(TOKEN_LABEL) for label in labels}
    return set(ApiToken.objects.filter(prefix__in=prefixes, created_by__isnull=False)
               .values_list("created_by_id", flat=True))


# A review acts on the version its reviewer saw (seen_edited_at).
STALE_REVIEW = _("该版本在您打开后已被修改，请重新打开后再审核。")


@transaction.atomic
def item_version_publish(*, actor, version: ItemVersion, note: str = "",
                         seen_edited_at=None) -> ItemVersion:
    """Publish a pending version; the reviewer must not be its editor.

    The previous published version is superseded; cases started on it keep
    it.  The process is compiled here, once per version.  ``seen_edited_at``
    is the ``edited_at`` of the version as the reviewer saw it: when given
    and the version was edited since (returned, changed and submitted
    again), it is not published: nobody reviewed that content.
    """
    from yizhan.catalog.process import process_definition

    version = _locked(version)
    require(permissions.item_version_publish(actor, version=version),
            action="item_version_publish")
    if version.status != ItemVersion.Status.PENDING:
        raise Conflict(_("只有待审核的版本可以发布。"), code=CatalogErrorCode.NOT_PENDING)
    _unchanged_since(version, seen_edited_at, field="edited_at", message=STALE_REVIEW)
    reviewer = person_of(actor)
    # The review is a second person's act: an API token is no person, and a
    # version it edited records no editor, so a token may never publish.
    if reviewer is None or reviewer.pk in _editors(version):
        raise PermissionDenied(_("发布须由编辑人以外的人员审核。"),
                               code=CatalogErrorCode.SAME_REVIEWER)
    # Locked before the check: a withdrawal committing meanwhile waits, or is seen.
    item = Item.objects.select_for_update().get(pk=version.item_id)
    _not_withdrawn(item)
    _agency_open(version.item.agency)
    _named_agencies_open(version)
    definition = process_definition(version)
    _lanes_have_agencies(version, definition)
    version.process_spec = definition.spec_json
    previous = item.published_id
    if previous:
        ItemVersion.objects.filter(pk=previous).update(status=ItemVersion.Status.SUPERSEDED)
    now = timezone.now()
    version.status = ItemVersion.Status.PUBLISHED
    version.reviewed_by = person_of(actor)
    version.published_at = now
    version.review_note = note
    version.save(update_fields=["status", "reviewed_by", "published_at", "review_note",
                                "process_spec"])
    item.published = version
    item.save(update_fields=["published"])
    audit_append(actor=actor, action=CatalogAction.VERSION_PUBLISHED, obj=version,
                 agency_id=item.agency_id, reason=note,
                 changes={"status": ["pending", "published"], "superseded": previous})
    return version


@transaction.atomic
def item_version_return(*, actor, version: ItemVersion, note: str,
                        seen_edited_at=None) -> ItemVersion:
    """Send a pending version back to its editor with the reviewer's note
    (on the version the reviewer saw: ``seen_edited_at``, as for publication)."""
    version = _locked(version)
    require(permissions.item_version_return(actor, version=version),
            action="item_version_return")
    if version.status != ItemVersion.Status.PENDING:
        raise Conflict(_("只有待审核的版本可以退回。"), code=CatalogErrorCode.NOT_PENDING)
    _unchanged_since(version, seen_edited_at, field="edited_at", message=STALE_REVIEW)
    if not (note or "").strip():
        raise InvalidInput(_("退回须写明审核意见。"), field="note")
    version.status = ItemVersion.Status.DRAFT
    version.review_note = note
    version.save(update_fields=["status", "review_note"])
    audit_append(actor=actor, action=CatalogAction.VERSION_RETURNED, obj=version,
                 agency_id=version.item.agency_id, reason=note,
                 changes={"status": ["pending", "draft"]})
    return version


# --- taking items out of service ---------------------------------------------------

# The most characters of a decision's name and number (or a restoration's reason).
WITHDRAWAL_REASON_MAX = 500
# A document number ends in a number and 号: 国发〔2026〕5号, 国务院令第732号
# (\d is any decimal digit, full-width ones included).
_DOCUMENT_NUMBER = re.compile(r"\d\s*号")


def _withdrawal_reason(reason, *, number_required: bool) -> str:
    """The decision as recorded: one line, checked; a refusal names the field ``reason``."""
    text = " ".join(str(reason or "").split())
    if not text or (number_required
                    and not _DOCUMENT_NUMBER.search(text)):
        if number_required:
            raise InvalidInput(_("请写明取消或暂停所依据的决定名称和文号，如：国务院关于取消"
                                 "一批行政许可事项的决定（国发〔2026〕5号）。"),
                               code=CatalogErrorCode.BAD_FIELD, field="reason")
        raise InvalidInput(_("恢复办理须写明依据。"), code=CatalogErrorCode.BAD_FIELD,
                           field="reason")
    char = illegal_character(text)
    if char:
        raise InvalidInput(_("含有不能保存的字符 %(char)s（控制字符或无效的 Unicode 字符）"),
                           code=CatalogErrorCode.BAD_FIELD, field="reason", char=char)
    if len(text) > WITHDRAWAL_REASON_MAX:
        raise InvalidInput(_("依据不能超过 %(n)s 个字。"), code=CatalogErrorCode.BAD_FIELD,
                           field="reason", n=WITHDRAWAL_REASON_MAX)
    return text


def _locked_item(item: Item) -> Item:
    item = (Item.objects.select_for_update(of=("self",)).select_related("agency", "published")
            .filter(pk=item.pk).first())
    if item is None or item.internal:
        # The platform's own items (监察督办) are not the catalog's to withdraw.
        raise NotFound()
    return item


def _withdrawal_record(item: Item) -> dict:
    return {"kind": item.withdrawn_kind, "at": item.withdrawn_at.isoformat()
            if item.withdrawn_at else None, "reason": item.withdrawn_reason,
            "by": item.withdrawn_by_id}


@transaction.atomic
def item_withdraw(*, actor, item: Item, kind: str, reason: str) -> Item:
    """Take a published item out of service by a decision: cancel it (取消, for
    good) or suspend it (暂停办理, until ``item_restore``).

    ``reason`` names the decision and its number (国务院关于取消一批行政许可
    事项的决定（国发〔2026〕5号）).  The item leaves the public catalog, its
    guide says why, and no application is started or submitted on it; cases
    already submitted go on to the end.  A suspended item may then be
    cancelled (a later decision); a cancelled one is final.
    """
    item = _locked_item(item)
    require(permissions.item_withdraw(actor, item=item), action="item_withdraw")
    if kind not in Item.Withdrawal.values:
        raise InvalidInput(_("请选择取消事项或暂停办理。"), code=CatalogErrorCode.BAD_FIELD,
                           field="kind")
    decision = _withdrawal_reason(reason, number_required=True)
    if item.published_id is None:
        raise Conflict(_("该事项尚未发布，没有可取消或暂停的办理。"),
                       code=CatalogErrorCode.NOT_PUBLISHED)
    _not_cancelled(item)
    if item.is_suspended and kind == Item.Withdrawal.SUSPENDED:
        raise Conflict(_("%(withdrawal)s不能再次暂停。"), code=CatalogErrorCode.ITEM_WITHDRAWN,
                       withdrawal=_withdrawal(item), decision=item.withdrawn_reason)
    before = _withdrawal_record(item)
    item.withdrawn_kind = kind
    item.withdrawn_at = timezone.now()
    item.withdrawn_reason = decision
    item.withdrawn_by = person_of(actor)
    item.save(update_fields=["withdrawn_kind", "withdrawn_at", "withdrawn_reason",
                             "withdrawn_by"])
    action = (CatalogAction.ITEM_CANCELLED if kind == Item.Withdrawal.CANCELLED
              else CatalogAction.ITEM_SUSPENDED)
    audit_append(actor=actor, action=action, obj=item, agency_id=item.agency_id,
                 reason=decision,
                 changes={"withdrawal": [before, _withdrawal_record(item)],
                          "version": item.published.number})
    return item


@transaction.atomic
def item_restore(*, actor, item: Item, reason: str) -> Item:
    """Offer a suspended item again (its published version, as before); ``reason``
    is what ends the suspension.  A cancelled item is never restored: an item
    offered again after a cancellation is a new item."""
    item = _locked_item(item)
    require(permissions.item_restore(actor, item=item), action="item_restore")
    note = _withdrawal_reason(reason, number_required=False)
    _not_cancelled(item)
    if not item.is_suspended:
        raise Conflict(_("该事项正在办理，没有暂停，无需恢复。"),
                       code=CatalogErrorCode.NOT_WITHDRAWN)
    before = _withdrawal_record(item)
    item.withdrawn_kind = ""
    item.withdrawn_at = None
    item.withdrawn_reason = ""
    item.withdrawn_by = None
    item.save(update_fields=["withdrawn_kind", "withdrawn_at", "withdrawn_reason",
                             "withdrawn_by"])
    audit_append(actor=actor, action=CatalogAction.ITEM_RESTORED, obj=item,
                 agency_id=item.agency_id, reason=note,
                 changes={"withdrawal": [before, None], "version": item.published.number})
    return item


# --- blank forms and samples ---------------------------------------------------

# What a file is for, and the field that refers to it.
FILE_KINDS = {"blank_form": "blank_form_file", "sample": "sample_file",
              "result_sample": "result_sample_file"}


def _file_place(version: ItemVersion, kind: str, material_order) -> tuple:
    """(object, field, material or None) that a ``kind`` file of ``version`` is kept on."""
    if kind not in FILE_KINDS:
        raise InvalidInput(_("文件用途只能是空白表格、示例样表或结果样本。"),
                           code=CatalogErrorCode.BAD_FIELD, field="kind")
    if kind == "result_sample":
        return version, FILE_KINDS[kind], None
    order = parse_id(material_order)
    material = version.materials.filter(order=order).first() if order else None
    if material is None:
        raise InvalidInput(_("该事项没有这项材料。"), code=CatalogErrorCode.BAD_FIELD,
                           field="material_order")
    return material, FILE_KINDS[kind], material


def _editable(version: ItemVersion) -> None:
    if version.status != ItemVersion.Status.DRAFT:
        raise Conflict(_("只能修改草稿；已发布的事项请先新建版本。"),
                       code=CatalogErrorCode.NOT_DRAFT)


def _store(checked: CheckedUpload, sha256: str) -> tuple[str, bool]:
    """Store the bytes under their sha256 unless they are there; (name, stored now)."""
    name = catalog_file_path(CatalogFile(sha256=sha256, content_type=checked.kind.content_type),
                             "")
    if default_storage.exists(name):
        if default_storage.size(name) == checked.size:
            return name, False
        default_storage.delete(name)   # left over from a write that did not finish
    saved = default_storage.save(name, ContentFile(checked.content))
    if saved != name:
        # Another request stored the same bytes meanwhile: its copy serves.
        default_storage.delete(saved)
        return name, False
    return name, True


def _mark_edited(version: ItemVersion, actor) -> None:
    """A file is content: whoever attaches or removes one has edited the draft
    (and may not publish it, ``_editors``)."""
    version.edited_by = person_of(actor)
    version.edited_at = timezone.now()
    version.save(update_fields=["edited_by", "edited_at"])


def item_file_attach(*, actor, version: ItemVersion, kind: str, material_order=None,
                     upload) -> ItemVersion:
    """Attach a blank form or sample (of a material) or the result sample to a draft.

    ``kind`` is blank_form, sample (with the material's ``material_order``)
    or result_sample.  The upload is checked by its content (PDF, OFD,
    Word, Excel, JPG or PNG; ``YIZHAN_MAX_UPLOAD_BYTES``) before anything is
    written, stored once per content, and referred to by the draft in one
    transaction; when that is refused, a file stored by this call is
    removed again, so a refused upload leaves nothing behind.
    """
    # Checked before the file is read or stored, and again under the lock.
    require(permissions.item_file_attach(actor, version=version), action="item_file_attach")
    _editable(version)
    _file_place(version, kind, material_order)
    checked = check_upload(upload, CATALOG_FILES)
    sha256 = hashlib.sha256(checked.content).hexdigest()
    name, stored_now = _store(checked, sha256)
    try:
        return _attach(actor=actor, version=version, kind=kind, material_order=material_order,
                       checked=checked, sha256=sha256, name=name,
                       given_name=getattr(upload, "name", "") or "")
    except BaseException:
        if stored_now and not CatalogFile.objects.filter(sha256=sha256).exists():
            default_storage.delete(name)
        raise


@transaction.atomic
def _attach(*, actor, version, kind, material_order, checked, sha256, name,
            given_name) -> ItemVersion:
    version = _locked(version)
    require(permissions.item_file_attach(actor, version=version), action="item_file_attach")
    _editable(version)
    holder, field, material = _file_place(version, kind, material_order)
    fallback = material.name if material else (version.result_name or version.name)
    shown = file_display_name(given_name, fallback, checked.kind.extension)
    record, _created = CatalogFile.objects.get_or_create(sha256=sha256, defaults={
        "file": name, "content_type": checked.kind.content_type, "size": checked.size,
        "uploaded_at": timezone.now(), "uploaded_by": person_of(actor)})
    previous = (getattr(holder, field), getattr(holder, f"{field}_name"))
    if previous == (sha256, shown):
        return version   # sent again (a page reloaded): it is attached already
    setattr(holder, field, sha256)
    setattr(holder, f"{field}_name", shown)
    holder.save(update_fields=[field, f"{field}_name"])
    _mark_edited(version, actor)
    audit_append(actor=actor, action=CatalogAction.FILE_ATTACHED, obj=version,
                 agency_id=version.item.agency_id,
                 changes={"kind": kind, "material": material.name if material else None,
                          "file": [previous[1], shown], "sha256": [previous[0], sha256],
                          "content_type": record.content_type, "size": record.size})
    return version


@transaction.atomic
def item_file_detach(*, actor, version: ItemVersion, kind: str,
                     material_order=None) -> ItemVersion:
    """Remove a draft's reference to a blank form, sample or result sample.

    The file itself stays: other versions (the published one among them)
    may refer to the same content.
    """
    version = _locked(version)
    require(permissions.item_file_detach(actor, version=version), action="item_file_detach")
    _editable(version)
    holder, field, material = _file_place(version, kind, material_order)
    previous = getattr(holder, field)
    if not previous:
        return version
    previous_name = getattr(holder, f"{field}_name")
    setattr(holder, field, "")
    setattr(holder, f"{field}_name", "")
    holder.save(update_fields=[field, f"{field}_name"])
    _mark_edited(version, actor)
    audit_append(actor=actor, action=CatalogAction.FILE_DETACHED, obj=version,
                 agency_id=version.item.agency_id,
                 changes={"kind": kind, "material": material.name if material else None,
                          "file": [previous_name, ""], "sha256": [previous, ""]})
    return version


# --- internal items -----------------------------------------------------------

@transaction.atomic
def internal_item_version(*, actor, impl_code: str, agency: Agency, upper_agency: Agency,
                          content: dict, process_xml: bytes) -> ItemVersion:
    """The version of an internal item, made the first time it is needed.

    Internal items carry the platform's own cases (监察督办) on the case
    engine: they are never published, so the portal, the editors' lists and
    the supervision coverage do not see them.  The caller has checked who
    may start such a case; the item is made once per ``impl_code``.
    """
    from yizhan.catalog.process import compile_process

    item = Item.objects.select_for_update().filter(impl_code=impl_code).first()
    if item is not None:
        return item.versions.order_by("-number").first()
    now = timezone.now()
    item = Item.objects.create(impl_code=impl_code, agency=agency, created_at=now,
                               internal=True)
    version = ItemVersion(
        item=item, number=1, status=ItemVersion.Status.INTERNAL, upper_agency=upper_agency,
        service_objects=["legal"], process_template=ProcessTemplate.CUSTOM,
        process_xml=process_xml.decode(), edited_by=person_of(actor), edited_at=now,
        published_at=None, **content)
    version.process_spec = compile_process(version)
    version.save()
    audit_append(actor=actor, action=CatalogAction.INTERNAL_ITEM_CREATED, obj=item,
                 agency_id=agency.pk, changes={"impl_code": impl_code, "name": version.name})
    return version
