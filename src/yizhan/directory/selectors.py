"""Reads of the directory app; visibility is decided here."""

from django.db.models import Prefetch, QuerySet

from yizhan.accounts.models import User
from yizhan.core.errors import NotFound
from yizhan.directory import permissions
from yizhan.directory.authz import scope_of
from yizhan.directory.models import Agency, Applicant, Division, Post, Posting, ScopeGrant


def division_list(*, parent_code: str | None = None) -> QuerySet[Division]:
    """Divisions are public reference data."""
    qs = Division.objects.all()
    if parent_code is not None:
        qs = qs.filter(parent__code=parent_code)
    return qs.select_related("parent")


def division_get(*, code: str) -> Division:
    try:
        return Division.objects.get(code=code)
    except Division.DoesNotExist:
        raise NotFound() from None


def agency_list(*, division_code: str | None = None) -> QuerySet[Agency]:
    """Agencies and what they do are public (政府信息公开)."""
    qs = Agency.objects.filter(is_active=True).select_related("division", "parent")
    if division_code:
        qs = qs.filter(division__code=division_code)
    return qs


def agency_get(*, agency_id: int) -> Agency:
    try:
        return Agency.objects.select_related("division", "parent").get(pk=agency_id)
    except Agency.DoesNotExist:
        raise NotFound() from None


def post_list_for_actor(*, actor, agency_id: int) -> QuerySet[Post]:
    if not permissions.staff_view(actor, agency_id=agency_id):
        raise NotFound()
    return Post.objects.filter(agency_id=agency_id).select_related("agency")


def post_get_for_actor(*, actor, post_id: int) -> Post:
    post = Post.objects.select_related("agency").filter(pk=post_id).first()
    if post is None or not permissions.staff_view(actor, agency_id=post.agency_id):
        raise NotFound()
    return post


def staff_list_for_actor(*, actor, agency_id: int) -> QuerySet[Posting]:
    if not permissions.staff_view(actor, agency_id=agency_id):
        raise NotFound()
    return (
        Posting.objects.filter(post__agency_id=agency_id, user__is_active=True)
        .select_related("user", "post", "post__agency")
        .order_by("post_id", "user__username")
    )


def staff_account_get(*, user_id: int | None = None, username: str = "") -> User:
    """A staff account, active or not, by id or by login name (any case); a
    public account is not found here, so no staff page or route acts on one."""
    qs = User.objects.filter(kind=User.Kind.STAFF)
    if user_id is not None:
        user = qs.filter(pk=user_id).first()
    else:
        user = qs.filter(username__iexact=(username or "").strip()).first() if username else None
    if user is None:
        raise NotFound()
    return user


def postings_of(*, user) -> list[Posting]:
    return list(
        Posting.objects.filter(user=user).select_related("post", "post__agency",
                                                         "post__agency__division")
    )


def agencies_for_actor(*, actor) -> QuerySet[Agency]:
    """The agencies whose internal matters the actor may see."""
    scope = scope_of(actor)
    ids = scope.agencies()
    qs = Agency.objects.all() if ids is None else Agency.objects.filter(
        pk__in=ids | scope.home_agency_ids)
    return qs.select_related("division").prefetch_related(
        Prefetch("posts", queryset=Post.objects.order_by("id"))
    )


def applicant_get_for_actor(*, actor, applicant_id: int) -> Applicant:
    applicant = Applicant.objects.filter(pk=applicant_id).first()
    if applicant is None:
        raise NotFound()
    scope = scope_of(actor)
    own = applicant.user_id is not None and applicant.user_id == getattr(actor, "pk", None)
    if not own and not scope.is_staff:
        raise NotFound()
    return applicant


def applicants_of_user(*, user) -> QuerySet[Applicant]:
    return Applicant.objects.filter(user=user)


def post_holders(*, posts) -> dict[tuple[int, str], list]:
    """The active accounts holding each ``(agency id, role)`` post, for notices
    and reminders.

    Accounts switched off keep their postings on record: they are left out.
    """
    posts = set(posts)
    holders: dict[tuple[int, str], list] = {}
    if not posts:
        return holders
    for posting in (Posting.objects.filter(post__agency_id__in={a for a, _r in posts},
                                           post__role__in={r for _a, r in posts},
                                           user__is_active=True)
                    .select_related("user", "post").order_by("id")):
        key = (posting.post.agency_id, posting.post.role)
        if key in posts:
            holders.setdefault(key, []).append(posting.user)
    return holders


def agency_heads(*, agency_ids) -> dict[int, list]:
    """The active accounts holding a head's post (部门负责人) in each agency, for notices."""
    from yizhan.directory.roles import Role

    held = post_holders(posts={(agency_id, Role.AGENCY_HEAD) for agency_id in agency_ids})
    return {agency_id: users for (agency_id, _role), users in held.items()}


def grants_expired(*, now) -> QuerySet[ScopeGrant]:
    """The grants whose expiry has passed, revoked since or not.

    A grant that runs out is no change anyone makes, so nothing announces
    it (a revocation sends ``posts_left``): what rested on it is looked for
    against these (``cases.services.claims_release_lapsed``).
    """
    return ScopeGrant.objects.filter(expires_at__lte=now)
