"""Accounts API: who am I, and API tokens for other systems."""

import datetime

from ninja import Field, Router, Schema, Status

from yizhan.accounts import permissions, services
from yizhan.accounts.models import ApiToken
from yizhan.core.api import AUTH, actor_of
from yizhan.core.errors import NotFound
from yizhan.core.permissions import require
from yizhan.directory import selectors as directory_selectors
from yizhan.directory.api import ApplicantOut
from yizhan.directory.authz import scope_of

router = Router(tags=["accounts"])


class PostingOut(Schema):
    post_id: int
    post_name: str
    agency_id: int
    agency_name: str
    role: str


class MeOut(Schema):
    username: str
    full_name: str
    kind: str
    postings: list[PostingOut]
    roles: list[str]
    applicants: list[ApplicantOut] = Field(..., description="the applicant records of the "
                                           "account (the applicant_id POST /cases takes); "
                                           "[] for a token")


class TokenIn(Schema):
    agency_id: int
    name: str = Field(..., max_length=100, description="which system uses the token")
    role: str = Field(..., description="role the token acts in, within its agency")
    expires_at: datetime.datetime | None = None


class TokenOut(Schema):
    id: int
    agency_id: int
    name: str
    role: str
    prefix: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    last_used_at: datetime.datetime | None


class TokenIssued(TokenOut):
    token: str = Field(..., description="the secret, shown only in this response")


class TokenRevokeIn(Schema):
    reason: str = ""


# Every field of the body is optional, so the body is too: a revocation may
# be sent with none (``curl -X POST``), as docs/api.md lists it.
NO_REASON = TokenRevokeIn()


@router.get("/me", response=MeOut, auth=AUTH)
def me(request):
    """The signed-in user (or token), their posts and roles, and their applicant
    records (the ``applicant_id`` to apply with)."""
    actor = actor_of(request)
    scope = scope_of(actor)
    if getattr(actor, "pk", None) is None:
        return {"username": actor.get_username(), "full_name": "", "kind": "system",
                "postings": [], "roles": sorted(scope.roles), "applicants": []}
    postings = [
        {"post_id": p.post_id, "post_name": p.post.name, "agency_id": p.post.agency_id,
         "agency_name": p.post.agency.name, "role": p.post.role}
        for p in directory_selectors.postings_of(user=actor)
    ]
    return {"username": actor.username, "full_name": actor.full_name, "kind": actor.kind,
            "postings": postings, "roles": sorted(scope.roles),
            "applicants": list(directory_selectors.applicants_of_user(user=actor)
                               .order_by("pk"))}


@router.post("/tokens", response={201: TokenIssued}, auth=AUTH)
def issue_token(request, payload: TokenIn):
    """Issue a token for an agency; the secret is in this response only."""
    agency = directory_selectors.agency_get(agency_id=payload.agency_id)
    token, secret = services.token_issue(actor=actor_of(request), agency=agency,
                                         name=payload.name, role=payload.role,
                                         expires_at=payload.expires_at)
    data = TokenOut.from_orm(token).dict()
    data["token"] = secret
    return Status(201, data)


@router.get("/agencies/{agency_id}/tokens", response=list[TokenOut], auth=AUTH)
def list_tokens(request, agency_id: int):
    require(permissions.token_list(actor_of(request), agency_id=agency_id), action="token_list")
    return list(ApiToken.objects.filter(agency_id=agency_id).order_by("-created_at"))


@router.post("/tokens/{token_id}/revoke", response=TokenOut, auth=AUTH)
def revoke_token(request, token_id: int, payload: TokenRevokeIn = NO_REASON):
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None or not permissions.token_list(actor_of(request), agency_id=token.agency_id):
        raise NotFound()
    return services.token_revoke(actor=actor_of(request), token=token, reason=payload.reason)
