"""Reads of the catalog: the public catalog and the editors' lists."""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from yizhan.catalog.models import Item, ItemVersion, Material
from yizhan.catalog.search import query_tokens
from yizhan.core.errors import NotFound
from yizhan.directory.authz import scope_of
from yizhan.directory.models import Agency


def published_versions() -> QuerySet[ItemVersion]:
    return ItemVersion.objects.filter(status=ItemVersion.Status.PUBLISHED).select_related(
        "item", "item__agency", "item__agency__division")


def item_search(*, query: str = "", agency_id: int | None = None, theme: str = "",
                item_type: str = "") -> QuerySet[ItemVersion]:
    """Published items matching every word of ``query`` (jieba tokens)."""
    qs = published_versions()
    if agency_id:
        qs = qs.filter(item__agency_id=agency_id)
    if theme:
        # JSON containment is not portable to SQLite; themes are short codes
        # stored as a JSON list, so match the quoted code.
        qs = qs.filter(themes__icontains=f'"{theme}"')
    if item_type:
        qs = qs.filter(item_type=item_type)
    query = (query or "").strip()
    if query:
        words = query_tokens(query)
        match = Q()
        for word in words:
            match &= Q(search_text__contains=f" {word} ")
        qs = qs.filter(match | Q(name__icontains=query) | Q(item__impl_code=query.upper()))
    return qs.order_by("item__agency_id", "name")


def agencies_with_items() -> list[tuple[Agency, int]]:
    rows = (published_versions().values("item__agency").annotate(n=Count("id"))
            .order_by("item__agency"))
    counts = {row["item__agency"]: row["n"] for row in rows}
    agencies = Agency.objects.filter(pk__in=counts).select_related("division").order_by(
        "division__code", "id")
    return [(agency, counts[agency.pk]) for agency in agencies]


def theme_counts() -> dict[str, int]:
    from yizhan.catalog.models import THEMES

    counts = dict.fromkeys(THEMES, 0)
    for themes in published_versions().values_list("themes", flat=True):
        for theme in themes:
            if theme in counts:
                counts[theme] += 1
    return counts


def _with_details(qs):
    return qs.select_related("item", "item__agency", "item__agency__division",
                             "upper_agency").prefetch_related(
        Prefetch("materials", queryset=Material.objects.order_by("order")), "fees",
        "joint_agencies")


def item_guide(*, impl_code: str) -> ItemVersion:
    """The published version of an item, with everything its guide shows."""
    version = _with_details(published_versions()).filter(item__impl_code=impl_code).first()
    if version is None:
        raise NotFound()
    return version


def version_get_for_editor(*, actor, version_id: int) -> ItemVersion:
    version = _with_details(ItemVersion.objects.all()).filter(
        pk=version_id, item__internal=False).first()
    if version is None:
        raise NotFound()
    scope = scope_of(actor)
    if not scope.sees_agency(version.item.agency_id):
        raise NotFound()
    return version


# What an exported version reads beyond its own row (version_as_data).
EXPORT_RELATED = ("item", "item__agency", "upper_agency")
EXPORT_PREFETCH = ("materials", "fees", "joint_agencies")


def versions_for_export(versions: QuerySet[ItemVersion]) -> QuerySet[ItemVersion]:
    """``versions`` with everything an export row shows, in a fixed number of queries."""
    return versions.select_related(*EXPORT_RELATED).prefetch_related(*EXPORT_PREFETCH)


def editor_versions_for_export(*, actor) -> QuerySet[ItemVersion]:
    """The latest version of every item the actor edits (drafts included).

    Only those are read, with their materials and fees: not every earlier
    version of each item.
    """
    latest = (ItemVersion.objects.filter(item=OuterRef("item")).order_by("-number")
              .values("pk")[:1])
    return versions_for_export(ItemVersion.objects.filter(
        item__in=items_for_editor(actor=actor), pk=Subquery(latest),
    ).order_by("item__agency_id", "item__impl_code"))


def items_for_editor(*, actor) -> QuerySet[Item]:
    ids = scope_of(actor).agencies()
    qs = Item.objects.filter(internal=False).select_related("agency", "published").prefetch_related(
        Prefetch("versions", queryset=ItemVersion.objects.order_by("-number")))
    if ids is not None:
        qs = qs.filter(agency_id__in=ids)
    return qs.order_by("agency_id", "impl_code")
