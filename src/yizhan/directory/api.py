"""Directory API: divisions and agencies (public), posts, staff, applicants."""

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from yizhan.accounts import services as account_services
from yizhan.core.api import AUTH, actor_of
from yizhan.core.errors import NotFound
from yizhan.directory import selectors, services
from yizhan.directory.models import Agency, Post

router = Router(tags=["directory"])


class DivisionOut(Schema):
    code: str
    name: str
    level: int
    parent_code: str | None = Field(None, alias="parent.code")


class DivisionIn(Schema):
    code: str = Field(..., description="GB/T 2260 code: 6 digits, or 9/12 for towns and villages")
    name: str = Field(..., max_length=100)
    parent_code: str | None = Field(None, description="code of the parent division")


class AgencyOut(Schema):
    id: int
    name: str
    short_name: str
    kind: str
    division_code: str = Field(..., alias="division.code")
    credit_code: str
    parent_id: int | None


class AgencyIn(Schema):
    name: str = Field(..., max_length=100)
    kind: str = Field(..., description="one of the agency kinds, e.g. department")
    division_code: str
    credit_code: str = ""
    short_name: str = Field("", max_length=40)
    parent_id: int | None = None


class PostOut(Schema):
    id: int
    agency_id: int
    name: str
    role: str


class PostIn(Schema):
    name: str = Field(..., max_length=60)
    role: str


class StaffOut(Schema):
    user_id: int
    username: str = Field(..., alias="user.username")
    full_name: str = Field(..., alias="user.full_name")
    post_id: int
    post_name: str = Field(..., alias="post.name")
    role: str = Field(..., alias="post.role")


class StaffIn(Schema):
    username: str = Field(..., max_length=150)
    full_name: str = Field(..., max_length=100)
    password: str
    email: str = ""
    phone: str = ""


class StaffCreated(Schema):
    user_id: int
    username: str


class StaffDeactivateIn(Schema):
    reason: str = Field(..., min_length=1, description="why the account is closed; "
                        "audited")


class TotpResetIn(Schema):
    reason: str = Field(..., min_length=1, description="why another person's second "
                        "factor is switched off (a lost phone); audited")


class TotpResetOut(Schema):
    user_id: int
    username: str
    totp_enabled: bool


class IdentifierRevealIn(Schema):
    reason: str = Field(..., min_length=1, description="why the full ID number is "
                        "needed; audited")


class ApplicantIn(Schema):
    kind: str = Field(..., description="person or legal")
    name: str = Field(..., max_length=200)
    id_number: str = Field("", description="18-character 身份证号码 (persons)")
    credit_code: str = Field("", description="统一社会信用代码 (legal persons)")
    legal_rep_name: str = ""
    phone: str = ""
    for_self: bool = Field(False, description="a public user registering themselves")


class ApplicantOut(Schema):
    id: int
    kind: str
    name: str
    id_number_masked: str
    credit_code: str
    legal_rep_name: str


class RevealOut(Schema):
    id_number: str


@router.get("/divisions", response=list[DivisionOut], auth=None)
def list_divisions(request, parent: str | None = None):
    """Administrative divisions; ``parent`` gives the children of one code."""
    return list(selectors.division_list(parent_code=parent))


@router.get("/divisions/{code}", response=DivisionOut, auth=None)
def get_division(request, code: str):
    return selectors.division_get(code=code)


@router.post("/divisions", response={201: DivisionOut}, auth=AUTH)
def create_division(request, payload: DivisionIn):
    """Create a division (system administrators of the parent division)."""
    division = services.division_create(actor=actor_of(request), code=payload.code,
                                        name=payload.name, parent_code=payload.parent_code)
    return Status(201, division)


@router.get("/agencies", response=list[AgencyOut], auth=None)
def list_agencies(request, division: str | None = None):
    """Agencies of the platform, optionally of one division code."""
    return list(selectors.agency_list(division_code=division))


@router.get("/agencies/{agency_id}", response=AgencyOut, auth=None)
def get_agency(request, agency_id: int):
    return selectors.agency_get(agency_id=agency_id)


@router.post("/agencies", response={201: AgencyOut}, auth=AUTH)
def create_agency(request, payload: AgencyIn):
    """Create an agency, or an internal unit when ``parent_id`` is given."""
    agency = services.agency_create(actor=actor_of(request), **payload.dict())
    return Status(201, agency)


@router.get("/agencies/{agency_id}/posts", response=list[PostOut], auth=AUTH)
def list_posts(request, agency_id: int):
    """Posts of an agency (its own staff and those granted more)."""
    return list(selectors.post_list_for_actor(actor=actor_of(request), agency_id=agency_id))


@router.post("/agencies/{agency_id}/posts", response={201: PostOut}, auth=AUTH)
def create_post(request, agency_id: int, payload: PostIn):
    agency = get_object_or_404(Agency, pk=agency_id)
    post = services.post_create(actor=actor_of(request), agency=agency, name=payload.name,
                                role=payload.role)
    return Status(201, post)


@router.get("/agencies/{agency_id}/staff", response=list[StaffOut], auth=AUTH)
def list_staff(request, agency_id: int):
    return list(selectors.staff_list_for_actor(actor=actor_of(request), agency_id=agency_id))


@router.post("/posts/{post_id}/staff", response={201: StaffCreated}, auth=AUTH)
def create_staff(request, post_id: int, payload: StaffIn):
    """Create a staff account holding the post (agency heads, administrators)."""
    post = Post.objects.select_related("agency").filter(pk=post_id).first()
    if post is None:
        raise NotFound()
    user = services.staff_create(actor=actor_of(request), post=post, **payload.dict())
    return Status(201, {"user_id": user.pk, "username": user.username})


@router.post("/posts/{post_id}/staff/{user_id}", response={200: StaffOut, 201: StaffOut},
             auth=AUTH)
def post_staff(request, post_id: int, user_id: int):
    """Post an existing staff member (调岗): 201 when new, 200 when already held."""
    actor = actor_of(request)
    post = selectors.post_get_for_actor(actor=actor, post_id=post_id)
    user = selectors.staff_account_get(user_id=user_id)
    posting, created = services.staff_post(actor=actor, user=user, post=post)
    return Status(201 if created else 200, posting)


@router.delete("/posts/{post_id}/staff/{user_id}", response={204: None}, auth=AUTH)
def unpost_staff(request, post_id: int, user_id: int):
    """Take a post from a staff member; the cases they claimed there go back to it."""
    actor = actor_of(request)
    post = selectors.post_get_for_actor(actor=actor, post_id=post_id)
    user = selectors.staff_account_get(user_id=user_id)
    services.staff_unpost(actor=actor, user=user, post=post)
    return Status(204, None)


@router.post("/staff/{user_id}/totp/disable", response={200: TotpResetOut}, auth=AUTH)
def disable_staff_totp(request, user_id: int, payload: TotpResetIn):
    """Reset a staff member's second factor after a lost phone (the head of
    their agency); audited with the reason."""
    user = selectors.staff_account_get(user_id=user_id)
    user = account_services.totp_disable(actor=actor_of(request), user=user,
                                         reason=payload.reason)
    return {"user_id": user.pk, "username": user.username, "totp_enabled": user.totp_enabled}


@router.post("/staff/{user_id}/deactivate", response={200: StaffCreated}, auth=AUTH)
def deactivate_staff(request, user_id: int, payload: StaffDeactivateIn):
    user = selectors.staff_account_get(user_id=user_id)
    user = services.staff_deactivate(actor=actor_of(request), user=user, reason=payload.reason)
    return {"user_id": user.pk, "username": user.username}


@router.post("/applicants", response={201: ApplicantOut}, auth=AUTH)
def register_applicant(request, payload: ApplicantIn):
    """Register a natural person (ID number) or a legal person (credit code)."""
    applicant = services.applicant_register(actor=actor_of(request), **payload.dict())
    return Status(201, applicant)


@router.get("/applicants/{applicant_id}", response=ApplicantOut, auth=AUTH)
def get_applicant(request, applicant_id: int):
    """An applicant, with the ID number masked."""
    return selectors.applicant_get_for_actor(actor=actor_of(request), applicant_id=applicant_id)


@router.post("/applicants/{applicant_id}/reveal", response=RevealOut, auth=AUTH)
def reveal_applicant_identifier(request, applicant_id: int,
                                payload: IdentifierRevealIn):
    """The full ID number, for those with a need to see it; audited with the reason."""
    applicant = selectors.applicant_get_for_actor(actor=actor_of(request),
                                                  applicant_id=applicant_id)
    number = services.applicant_identifier_reveal(actor=actor_of(request), applicant=applicant,
                                                  reason=payload.reason)
    return {"id_number": number}


