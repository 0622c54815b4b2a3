"""Reads of the catalog: the public catalog and the editors' lists."""

from dataclasses import dataclass
from functools import reduce
from operator import and_, or_

from django.db.models import (
    Case,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yizhan.catalog import permissions
from yizhan.catalog.models import CatalogFile, FileReference, Item, ItemVersion, Material
from yizhan.catalog.search import parse_query
from yizhan.core.errors import NotFound, rendered_later
from yizhan.directory.authz import scope_of
from yizhan.directory.models import Agency


def _of_open_agencies() -> QuerySet[ItemVersion]:
    """Published versions of the items of open agencies, in service or not.

    Open agencies all: the implementing one, and the joint and upper ones the
    version names.  A joint or upper agency closed after publication would
    get a task of every new case and never do it, so no new application is
    taken (cases.services refuses, see ``closed_named_agencies``) and the
    item is not offered.  Subqueries, not joins: the search's query keeps
    one row per version and needs no DISTINCT.
    """
    closed_joint = ItemVersion.joint_agencies.through.objects.filter(
        itemversion_id=OuterRef("pk"), agency__is_active=False)
    closed_upper = Agency.objects.filter(pk=OuterRef("upper_agency_id"), is_active=False)
    return ItemVersion.objects.filter(
        ~Exists(closed_joint), ~Exists(closed_upper),
        status=ItemVersion.Status.PUBLISHED, item__agency__is_active=True,
    ).select_related("item", "item__agency", "item__agency__division")


def published_versions() -> QuerySet[ItemVersion]:
    """The public catalog: published versions of the items in service of open agencies.

    An agency that is closed (``Agency.is_active`` false) offers nothing any
    more: its items leave every public list, the search, the guides and the
    API's catalog, and no application can be started on them.  So with the
    items whose version names a closed joint or upper agency
    (``_of_open_agencies``).  Cases already under way are not affected: they
    read their own version.  So with an item taken out of service by a
    decision (``Item.withdrawn_kind``: cancelled or suspended).
    """
    return _of_open_agencies().filter(item__withdrawn_kind="")


# The role a closed agency had, named in the middle of a sentence ("its joint
# agency ... has closed"): its own translation, not the guide's label.
ROLE_IN_A_SENTENCE = {
    "joint_agencies": pgettext_lazy("role in a sentence", "会同办理机关"),
    "upper_agency": pgettext_lazy("role in a sentence", "上级审批机关"),
}


def closed_named_agencies(version: ItemVersion) -> list[tuple[str, Agency]]:
    """The joint and upper agencies ``version`` names that are closed, by name,
    each with the field that names it ("joint_agencies" or "upper_agency").

    A closed agency works no more: a case of the version would wait on a task
    given to it.  Publication (catalog.services) and a new application
    (cases.services) refuse while this is not empty.
    """
    closed = (Agency.objects.filter(Q(pk__in=version.joint_agencies.values("id"))
                                    | Q(pk=version.upper_agency_id), is_active=False)
              .order_by("name").only("name"))
    return [("upper_agency" if agency.pk == version.upper_agency_id else "joint_agencies",
             agency) for agency in closed]


def catalog_agency(*, agency_id: int) -> Agency:
    """An agency whose department page the public catalog shows: not a closed one."""
    agency = Agency.objects.select_related("division").filter(
        pk=agency_id, is_active=True).first()
    if agency is None:
        raise NotFound()
    return agency


def _has_word(word: str) -> Q:
    return Q(search_text__contains=f" {word} ")


def _all(conditions) -> Q:
    return reduce(and_, conditions)


def _any(conditions) -> Q:
    return reduce(or_, conditions)


# JSON containment is not portable to SQLite; themes and service objects are
# short codes stored as a JSON list, so match the quoted code.
def _of_theme(theme: str) -> Q:
    return Q(themes__icontains=f'"{theme}"')


def _for_applicant(service_object: str) -> Q:
    """Items for ``service_object`` ("natural" or "legal", ``SERVICE_OBJECTS``):
    a person's life events list no item only enterprises apply for, and the
    reverse."""
    return Q(service_objects__icontains=f'"{service_object}"')


# Ranks of a search result, best first (see item_search).
RANK_EXACT, RANK_NAME, RANK_NAME_WORDS, RANK_RESULT_WORDS, RANK_OTHER = range(5)


def item_search(*, query: str = "", agency_id: int | None = None, theme: str = "",
                item_type: str = "", service_object: str = "") -> QuerySet[ItemVersion]:
    """Published items matching ``query``, the most likely first.

    ``theme``, ``item_type`` and ``service_object`` (who applies: "natural"
    or "legal") narrow the list, as the theme lists of 个人办事 and 法人办事
    do.  The query is read by ``search.parse_query`` (NFKC, simplified
    characters, everyday synonyms, filler words dropped).  An item matches
    when it has every word of the query, when its name contains the query,
    or when the query is one of its codes.  When no item matches so, the
    items having any of the words match instead (a one-character word only
    counts when the query has no longer one): those with the most of the
    words in their name first (身份症, a slip for 身份证, puts the ID card's
    item before every item merely asking for 身份证明), then those with the
    most of the words anywhere.

    The order is computed in the query, so that pages stay right, on SQLite
    and PostgreSQL alike: the item whose name or code (implementation or
    basic) is the query; a name containing the query; a name containing
    every word; a result (审批结果) containing every word (营业执照); the
    rest.  Within a rank, shorter names first, then agency and name.
    Without a query: agency, then name.
    """
    qs = published_versions()
    if agency_id:
        qs = qs.filter(item__agency_id=agency_id)
    if theme:
        qs = qs.filter(_of_theme(theme))
    if item_type:
        qs = qs.filter(item_type=item_type)
    if service_object:
        qs = qs.filter(_for_applicant(service_object))
    parsed = parse_query(query)
    if not parsed.text:
        return qs.order_by("item__agency_id", "name", "pk")
    phrases = {parsed.text, parsed.phrase}
    words = parsed.words
    code = parsed.text.upper()
    exact = _any([Q(item__impl_code=code), Q(basic_code=code)]
                 + [Q(name__iexact=p) for p in phrases])
    in_name = _any(Q(name__icontains=p) for p in phrases)
    match = exact | in_name
    if words:
        match |= _all(_has_word(w) for w in words)
    hits, name_hits = Value(0), Value(0)
    order = ["rank", "name_length", "item__agency_id", "name", "pk"]
    if words and not qs.filter(match).exists():
        # Nothing has every word: the items with the most of them, those
        # words in the name first (a material's name is no item's name).
        some = [w for w in words if len(w) > 1] or list(words)
        match = _any(_has_word(w) for w in some)
        hits = _count_true(_has_word(w) for w in some)
        name_hits = _count_true(Q(name__icontains=w) for w in some)
        order[:0] = ["-name_hits", "-hits"]
    ranks = [When(exact, then=Value(RANK_EXACT)), When(in_name, then=Value(RANK_NAME))]
    if words:
        ranks += [
            When(_all(Q(name__icontains=w) for w in words), then=Value(RANK_NAME_WORDS)),
            When(_all(Q(result_name__icontains=w) for w in words),
                 then=Value(RANK_RESULT_WORDS)),
        ]
    return qs.filter(match).annotate(
        hits=hits, name_hits=name_hits, rank=Case(*ranks, default=Value(RANK_OTHER)),
        name_length=Length("name"),
    ).order_by(*order)


def _count_true(conditions):
    """How many of ``conditions`` a row meets, computed in the query."""
    return sum(Case(When(c, then=Value(1)), default=Value(0)) for c in conditions)


def item_counts_by_agency() -> dict[int, int]:
    """How many items of the public catalog each agency has, by agency id,
    agencies with none left out: one query, for a list of agencies that
    links those with items to their department page (``catalog:search``
    with ``?agency=``)."""
    rows = (published_versions().values("item__agency").annotate(n=Count("id"))
            .order_by("item__agency"))
    return {row["item__agency"]: row["n"] for row in rows}


def agencies_with_items() -> list[tuple[Agency, int]]:
    counts = item_counts_by_agency()
    agencies = Agency.objects.filter(pk__in=counts).select_related("division").order_by(
        "division__code", "id")
    return [(agency, counts[agency.pk]) for agency in agencies]


def theme_counts(*, service_object: str = "") -> dict[str, int]:
    """How many items of the public catalog each theme lists, for applicants of
    ``service_object`` only when given: the number beside each theme of 个人办事
    and 法人办事 is the length of the list its link opens (``item_search`` with
    the same filters).  One query, whatever the number of themes."""
    from yizhan.catalog.models import THEMES

    qs = published_versions()
    if service_object:
        qs = qs.filter(_for_applicant(service_object))
    # Aliases of their own: a theme's code may one day be a field's name.
    counts = qs.aggregate(**{f"theme_{theme}": Count("pk", filter=_of_theme(theme))
                             for theme in THEMES})
    return {theme: counts[f"theme_{theme}"] for theme in THEMES}


def _with_details(qs):
    return qs.select_related("item", "item__agency", "item__agency__division",
                             "upper_agency").prefetch_related(
        Prefetch("materials", queryset=Material.objects.order_by("order")), "fees",
        "joint_agencies")


# An item of a closed agency, asked for by its implementation code.
ITEM_WITHDRAWN = _("该事项已不再办理：其实施机关已撤销或合并。"
                   "可拨打 12345 咨询现由哪个部门办理。")

# An item whose version names a closed joint or upper agency, so asked for.
ITEM_AGENCY_CLOSED = _("该事项已不再办理：其%(role)s“%(agency)s”已撤销或合并。"
                       "可拨打 12345 咨询现由哪个部门办理。")


# An item taken out of service, asked for by its implementation code.
ITEM_OUT_OF_SERVICE = _("%(withdrawal)s如有疑问，可拨打 12345 咨询。")


def item_read(*, impl_code: str) -> ItemVersion:
    """The published version of an item of an open agency, in service or not: the
    API's read of an item, with its state.

    Unlike the guide page (``item_guide``), an item cancelled or suspended is
    answered, with its withdrawal (``Item.withdrawn_*``): a program keeping a
    copy of the catalog learns of the decision, not of a disappearance.  An
    item of a closed agency, or whose version names a closed joint or upper
    agency, is not found, as on the pages, with a message naming it.
    """
    version = _with_details(_of_open_agencies()).filter(item__impl_code=impl_code).first()
    if version is None:
        raise _closed_not_found(impl_code)
    return version


def _closed_not_found(impl_code: str) -> NotFound:
    """The 404 of an item not in ``_of_open_agencies``: if it is published, the
    agency that closed, and where to ask (12345); else the plain one."""
    version = (ItemVersion.objects.filter(status=ItemVersion.Status.PUBLISHED,
                                          item__impl_code=impl_code)
               .select_related("item__agency").first())
    if version is None:
        return NotFound()
    if not version.item.agency.is_active:
        return NotFound(ITEM_WITHDRAWN)
    closed = closed_named_agencies(version)
    if not closed:
        return NotFound()
    field, agency = closed[0]
    return NotFound(ITEM_AGENCY_CLOSED, role=ROLE_IN_A_SENTENCE[field], agency=agency.name)


def withdrawn_not_found(item: Item) -> NotFound:
    """The 404 of an item out of service: cancelled or suspended, since when, by which
    decision, worded in the language of each rendering."""
    return NotFound(ITEM_OUT_OF_SERVICE, withdrawal=rendered_later(item.withdrawal_statement),
                    withdrawn_kind=item.withdrawn_kind, withdrawn_on=item.withdrawn_on,
                    decision=item.withdrawn_reason)


def item_guide(*, impl_code: str) -> ItemVersion:
    """The published version of an item, with everything its guide shows.

    An item of a closed agency is not found either, with a message that says
    it is no longer offered (a bookmarked guide, a started application page);
    an item cancelled or suspended, with a message saying so, since when and
    by which decision.
    """
    version = item_read(impl_code=impl_code)
    if version.item.is_withdrawn:
        raise withdrawn_not_found(version.item)
    return version



def version_get_for_editor(*, actor, version_id: int) -> ItemVersion:
    version = _with_details(ItemVersion.objects.all()).filter(
        pk=version_id, item__internal=False).first()
    if version is None:
        raise NotFound()
    # The desk's and the API's editors of the agency (its head, data
    # officers, administrators): a draft is unpublished content, not for
    # every post that sees the agency's cases (a window clerk), nor for an
    # editor of another agency.
    if not permissions.item_version_edit(actor, version=version):
        raise NotFound()
    return version


@dataclass(frozen=True)
class ProcessStep:
    """A user task of a version's process, as its reviewer reads it."""

    task: str                # its BPMN id
    title: str               # a standard template's in the page's language
    role: str                # the post's role, as the page's language names it
    lane: str                # "$accepting", "$joint", "$upper" or an agency's name
    agencies: list[str]      # the names of the agencies doing it; none named: empty


@dataclass(frozen=True)
class VersionProcess:
    """The steps of a version's process, or why it cannot be read (``problem``)."""

    steps: tuple[ProcessStep, ...] = ()
    problem: str = ""


def version_process(version: ItemVersion) -> VersionProcess:
    """Who does each step of ``version``'s process: the agencies its lanes give
    the tasks to (``$accepting`` the item's agency, ``$joint`` the version's
    joint agencies, ``$upper`` its upper agency, else the agency the lane names).

    What is reviewed is what is published: the desk shows it to the reviewer
    beside the guide, which describes the process only in words.  A version
    not yet published is loaded as publication would load it, so a process
    publication would refuse (an agency a lane names closed since) says why.
    """
    from yizhan.bpmn import ProcessDefinition, ProcessError, outline_process
    from yizhan.bpmn.definition import ACCEPTING, JOINT, UPPER
    from yizhan.bpmn.templates import step_title
    from yizhan.catalog.process import process_definition, process_file
    from yizhan.directory.roles import Role

    try:
        definition = (ProcessDefinition.from_json(version.process_spec)
                      if version.process_spec else process_definition(version))
        order = _flow_order(outline_process(process_file(version)))
    except ProcessError as exc:
        return VersionProcess(problem=exc.render())
    named = {ACCEPTING: [version.item.agency.name],
             JOINT: [agency.name for agency in version.joint_agencies.all()],
             UPPER: [version.upper_agency.name] if version.upper_agency_id else []}
    roles = dict(Role.choices)
    posts = sorted(definition.tasks.values(), key=lambda post: order.get(post.task, len(order)))
    return VersionProcess(steps=tuple(
        ProcessStep(task=post.task, title=step_title(post.title),
                    role=str(roles.get(post.role, post.role)), lane=post.agency,
                    agencies=named.get(post.agency, [post.agency]))
        for post in posts))


def _flow_order(outline) -> dict[str, int]:
    """Each flow node's place in the order a case first reaches it (breadth
    first from the start event): the steps as the process runs, where the
    definition lists them by id."""
    exits: dict[str, list[str]] = {}
    for source, target in outline.flows.values():
        exits.setdefault(source, []).append(target)
    order, queue = {outline.start: 0}, [outline.start]
    for node in queue:
        for target in exits.get(node, ()):
            if target not in order:
                order[target] = len(order)
                queue.append(target)
    return order


def item_versions_for_editor(*, item: Item) -> QuerySet[ItemVersion]:
    """Every version of ``item``, the latest first: the history a version's desk page
    lists (the caller has found one of them with ``version_get_for_editor``)."""
    return item.versions.only("id", "item_id", "number", "status", "published_at",
                              "edited_at").order_by("-number")


# What an exported version reads beyond its own row (version_as_data).
EXPORT_RELATED = ("item", "item__agency", "upper_agency")
EXPORT_PREFETCH = ("materials", "fees", "joint_agencies")


def versions_for_export(versions: QuerySet[ItemVersion]) -> QuerySet[ItemVersion]:
    """``versions`` with everything an export row shows, in a fixed number of queries."""
    return versions.select_related(*EXPORT_RELATED).prefetch_related(*EXPORT_PREFETCH)


def editor_versions_for_export(*, actor) -> QuerySet[ItemVersion]:
    """The latest version of every item the actor edits (drafts included), but
    cancelled items: they are edited no more, and an import refuses them.

    Only those are read, with their materials and fees: not every earlier
    version of each item.
    """
    latest = (ItemVersion.objects.filter(item=OuterRef("item")).order_by("-number")
              .values("pk")[:1])
    return versions_for_export(ItemVersion.objects.filter(
        item__in=items_for_editor(actor=actor), pk=Subquery(latest),
    ).exclude(item__withdrawn_kind=Item.Withdrawal.CANCELLED)
        .order_by("item__agency_id", "item__impl_code"))


def items_for_editor(*, actor) -> QuerySet[Item]:
    """The items the actor may edit: of the agencies where they hold an editing role.

    Not every role's: a head of one agency who also holds a window post in
    another would see that one's items on the desk and get them in its
    export, which the import then refuses (permissions.item_version_draft).
    """
    ids = scope_of(actor).agencies(*permissions.EDITORS)
    qs = Item.objects.filter(internal=False).select_related("agency", "published").prefetch_related(
        Prefetch("versions", queryset=ItemVersion.objects.order_by("-number")))
    if ids is not None:
        qs = qs.filter(agency_id__in=ids)
    return qs.order_by("agency_id", "impl_code")


def agencies_for_new_item(*, actor) -> list[Agency]:
    """The agencies ``actor`` may create an item for (the desk's 新建事项): open
    ones where they hold an editing role (``permissions.item_create``) and which
    have a credit code (an implementation code is made from it)."""
    ids = scope_of(actor).agencies(*permissions.EDITORS)
    agencies = Agency.objects.filter(is_active=True).exclude(credit_code="")
    if ids is not None:
        agencies = agencies.filter(pk__in=ids)
    return [a for a in agencies.select_related("division").order_by("division__code", "name")
            if permissions.item_create(actor, agency=a)]


# --- blank forms, samples and result samples -------------------------------------

def _refers(sha256: str, name: str) -> Q:
    """A version refers to the file under ``name``.

    A material's two references are each matched as a pair (its blank form's
    digest with its blank form's name): the same bytes under another name,
    another agency's or a draft's, do not make this name servable.
    """
    return (Q(result_sample_file=sha256, result_sample_file_name=name)
            | Q(materials__blank_form_file=sha256, materials__blank_form_file_name=name)
            | Q(materials__sample_file=sha256, materials__sample_file_name=name))


def _public(sha256: str, name: str) -> bool:
    """A version of the public catalog refers to the file under ``name``."""
    return published_versions().filter(_refers(sha256, name)).exists()


def _seen_on_the_desk(user, sha256: str, name: str) -> bool:
    """Whether ``user`` sees, on the catalog desk, a version referring to the file
    under ``name``."""
    if not user.is_authenticated or not permissions.catalog_edit_any(user):
        return False
    # As version_get_for_editor: the agency's editors, not every post that
    # sees its cases (a window clerk), for a draft is unpublished content.
    scope = scope_of(user)
    agencies = set(ItemVersion.objects.filter(_refers(sha256, name), item__internal=False)
                   .values_list("item__agency_id", flat=True))
    return any(scope.has_any(permissions.EDITORS, agency_id) for agency_id in agencies)


def version_replacing_file(*, sha256: str, name: str) -> ItemVersion | None:
    """The public version of an item an earlier published version of which
    offered the file ``sha256`` under ``name``, or None.

    The file's address was on that version's guide, printed or bookmarked:
    once a new version replaced the form, the address is no longer served
    (``catalog_file_for``), and whoever follows it is sent to the guide,
    which offers the current form.
    """
    replaced = ItemVersion.objects.filter(
        _refers(str(sha256).lower(), str(name)), item_id=OuterRef("item_id"),
        status=ItemVersion.Status.SUPERSEDED)
    return published_versions().filter(Exists(replaced)).order_by("pk").first()


def catalog_file_for(*, user, sha256: str, name: str) -> tuple[FileReference, bool]:
    """The catalog file ``sha256`` under ``name`` if ``user`` may download it so, and
    whether it is public.

    The pair (digest, name) is served, never the digest alone: public while
    a published current version of an item in service whose agency is
    active refers to the file under that name; otherwise only to an editor
    who sees such a referring version on the catalog desk (a draft's file).
    Anything else is not found, whether or not the file exists, or exists
    under another name.
    """
    sha256, name = str(sha256).lower(), str(name)
    record = CatalogFile.objects.filter(sha256=sha256).first()
    if record is None or not name:
        raise NotFound()
    public = _public(sha256, name)
    if not public and not _seen_on_the_desk(user, sha256, name):
        raise NotFound()
    return FileReference(record, name), public
