"""Permission predicates of the accounts app, one per service."""

from yizhan.accounts.models import person_of
from yizhan.directory.authz import scope_of
from yizhan.directory.permissions import MANAGERS, confers, removes_every_role


def _is_user(actor) -> bool:
    """A person's own account acts: not an API token, nor the system."""
    return person_of(actor) is not None


def password_change(actor, *, user) -> bool:
    return _is_user(actor) and actor.pk == user.pk


def totp_enable(actor, *, user) -> bool:
    return _is_user(actor) and actor.pk == user.pk


def totp_disable(actor, *, user) -> bool:
    if _is_user(actor) and actor.pk == user.pk:
        return True
    # A lost phone: whoever may take away every role the staff member holds
    # (the head of the agency, for most; for an overseeing role or a grant,
    # a system administrator over it) may reset it.
    from yizhan.directory.models import Posting

    if person_of(actor) is None:
        # A second factor is switched off for a person who lost their phone,
        # by someone who answers for it: never by an API token.
        return False
    posts = set(Posting.objects.filter(user=user).values_list("post__role", "post__agency_id"))
    return removes_every_role(actor, user=user, posts=posts)


def token_issue(actor, *, agency, role) -> bool:
    # A person issues tokens, not a token: one that could mint another
    # would outlive its own expiry and revocation.
    return _is_user(actor) and confers(actor, role=role, agency_id=agency.id)


def token_revoke(actor, *, token) -> bool:
    return _is_user(actor) and confers(actor, role=token.role, agency_id=token.agency_id)


def token_list(actor, *, agency_id) -> bool:
    return scope_of(actor).has_any(MANAGERS, agency_id)
