"""State changes of the directory app.

Each function checks permission first, validates, writes, and appends the
audit record in the same transaction.  Nothing else saves these models.
"""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.models import User, person_of
from yizhan.accounts.services import check_expiry, check_new_password
from yizhan.audit.services import audit_append
from yizhan.core import crypto, throttle
from yizhan.core.errors import Conflict, InvalidInput, NotFound, Throttled
from yizhan.core.models import Attempt
from yizhan.core.permissions import require
from yizhan.directory import identifiers, permissions
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.authz import build_scope_for_user, forget_scope
from yizhan.directory.error_codes import DirectoryErrorCode
from yizhan.directory.models import (
    Agency,
    Applicant,
    Division,
    Post,
    Posting,
    ScopeGrant,
)
from yizhan.directory.roles import Role
from yizhan.directory.signals import agency_renamed, posts_left


def _level_for(code: str) -> int:
    if len(code) == 12:
        return Division.Level.VILLAGE
    if len(code) == 9:
        return Division.Level.TOWN
    if code[2:] == "0000":
        return Division.Level.PROVINCE
    if code[4:] == "00":
        return Division.Level.CITY
    return Division.Level.COUNTY


@transaction.atomic
def division_create(*, actor, code: str, name: str, parent_code: str | None = None) -> Division:
    """Create a division under ``parent_code`` (None: a province-level root)."""
    parent = None
    if parent_code:
        parent = Division.objects.filter(code=parent_code).first()
        if parent is None:
            raise InvalidInput(_("上级行政区划代码 %(parent_code)s 不存在。"),
                               code=DirectoryErrorCode.UNKNOWN_DIVISION, parent_code=parent_code)
    require(permissions.division_create(actor, parent=parent), action="division_create")
    code = identifiers.validate_division_code(code)
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("请填写区划名称。"), field="name")
    level = _level_for(code)
    if parent is not None:
        significant = {Division.Level.PROVINCE: 2, Division.Level.CITY: 4}
        prefix = parent.code[: significant.get(parent.level, len(parent.code))]
        if level <= parent.level or not code.startswith(prefix):
            raise InvalidInput(
                _("区划代码 %(child)s 不属于上级区划 %(parent)s。"),
                code=DirectoryErrorCode.BAD_DIVISION_PARENT, child=code, parent=parent.code,
            )
    if Division.objects.filter(code=code).exists():
        raise InvalidInput(_("区划代码 %(division)s 已存在。"),
                           code=DirectoryErrorCode.DIVISION_EXISTS, division=code)
    division = Division.objects.create(code=code, name=name, level=level, parent=parent, path="")
    division.path = (parent.path if parent else "/") + f"{division.pk}/"
    division.save(update_fields=["path"])
    audit_append(actor=actor, action=DirectoryAction.DIVISION_CREATED, obj=division,
                 changes={"code": code, "name": name, "parent": parent_code})
    return division


@transaction.atomic
def agency_create(
    *,
    actor,
    name: str,
    kind: str,
    division_code: str,
    credit_code: str = "",
    short_name: str = "",
    parent_id: int | None = None,
) -> Agency:
    division = Division.objects.filter(code=division_code).first()
    if division is None:
        raise InvalidInput(_("行政区划代码 %(division)s 不存在。"),
                           code=DirectoryErrorCode.UNKNOWN_DIVISION, division=division_code)
    parent = None
    if parent_id is not None:
        parent = Agency.objects.filter(pk=parent_id).first()
        if parent is None:
            raise InvalidInput(_("上级机关不存在。"), code=DirectoryErrorCode.UNKNOWN_AGENCY)
    require(permissions.agency_create(actor, division=division, parent=parent),
            action="agency_create")
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("请填写机关名称。"), field="name")
    if kind not in Agency.Kind.values:
        raise InvalidInput(_("机关类型无效。"), field="kind")
    if credit_code:
        credit_code = identifiers.validate_credit_code(credit_code)
        if Agency.objects.filter(credit_code=credit_code).exists():
            raise InvalidInput(_("统一社会信用代码 %(credit_code)s 已被其他机关使用。"),
                               code=DirectoryErrorCode.AGENCY_EXISTS, credit_code=credit_code)
    if Agency.objects.filter(division=division, parent=parent, name=name).exists():
        raise InvalidInput(_("该区划下已有名为“%(name)s”的机关。"),
                           code=DirectoryErrorCode.AGENCY_EXISTS, name=name)
    agency = Agency.objects.create(name=name, short_name=short_name, kind=kind,
                                   division=division, credit_code=credit_code, parent=parent,
                                   path="")
    agency.path = (parent.path if parent else "/") + f"{agency.pk}/"
    agency.save(update_fields=["path"])
    audit_append(actor=actor, action=DirectoryAction.AGENCY_CREATED, obj=agency,
                 agency_id=agency.pk,
                 changes={"name": name, "kind": kind, "division": division.code,
                          "credit_code": credit_code, "parent": parent_id})
    return agency


@transaction.atomic
def agency_update(*, actor, agency: Agency, name: str | None = None,
                  short_name: str | None = None, is_active: bool | None = None) -> Agency:
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    require(permissions.agency_update(actor, agency=agency), action="agency_update")
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput(_("请填写机关名称。"), field="name")
        if Agency.objects.filter(division_id=agency.division_id, parent_id=agency.parent_id,
                                 name=name).exclude(pk=agency.pk).exists():
            raise InvalidInput(_("该区划下已有名为“%(name)s”的机关。"),
                               code=DirectoryErrorCode.AGENCY_EXISTS, field="name", name=name)
    changes = {}
    for field, value in (("name", name), ("short_name", short_name), ("is_active", is_active)):
        if value is not None and getattr(agency, field) != value:
            changes[field] = [getattr(agency, field), value]
            setattr(agency, field, value)
    if not changes:
        return agency
    agency.save(update_fields=list(changes))
    if changes.keys() & {"name", "short_name"}:
        agency_renamed.send(sender=Agency, agency=agency)
    audit_append(actor=actor, action=DirectoryAction.AGENCY_UPDATED, obj=agency,
                 agency_id=agency.pk, changes=changes)
    return agency


@transaction.atomic
def post_create(*, actor, agency: Agency, name: str, role: str) -> Post:
    require(permissions.post_create(actor, agency=agency, role=role), action="post_create")
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("请填写岗位名称。"), field="name")
    if role not in Role.values:
        raise InvalidInput(_("角色“%(role)s”不存在。"), code=DirectoryErrorCode.UNKNOWN_ROLE,
                           role=role)
    if Post.objects.filter(agency=agency, name=name).exists():
        raise InvalidInput(_("本机关已有名为“%(name)s”的岗位。"), name=name)
    post = Post.objects.create(agency=agency, name=name, role=role)
    audit_append(actor=actor, action=DirectoryAction.POST_CREATED, obj=post,
                 agency_id=agency.pk, changes={"name": name, "role": role})
    return post


@transaction.atomic
def staff_create(
    *,
    actor,
    post: Post,
    username: str,
    full_name: str,
    password: str = "",
    password_hash: str = "",
    email: str = "",
    phone: str = "",
) -> User:
    """Create a staff account holding ``post``.

    ``password_hash`` (a Django password hash) replaces ``password`` when
    accounts are imported from an existing directory.
    """
    require(permissions.staff_create(actor, post=post), action="staff_create")
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise InvalidInput(_("请填写登录名（不超过 150 个字符）。"), field="username")
    full_name = identifiers.clean_name(full_name, field="full_name", max_length=100,
                                       missing=_("请填写姓名。"))
    email, phone = identifiers.clean_email(email), identifiers.clean_phone(phone)
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("登录名“%(username)s”已被使用。"),
                           code=DirectoryErrorCode.USERNAME_TAKEN, username=username)
    user = User(username=username, full_name=full_name, email=email, phone=phone,
                kind=User.Kind.STAFF)
    if password_hash:
        user.password = password_hash
    else:
        check_new_password(password, user, field="password")
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Conflict(_("登录名“%(username)s”已被使用。"),
                       code=DirectoryErrorCode.USERNAME_TAKEN, username=username) from None
    Posting.objects.create(user=user, post=post, since=timezone.now())
    audit_append(actor=actor, action=DirectoryAction.STAFF_CREATED, obj=user,
                 agency_id=post.agency_id,
                 changes={"username": username, "full_name": full_name, "post": post.pk})
    return user


@transaction.atomic
def staff_post(*, actor, user: User, post: Post) -> tuple[Posting, bool]:
    """Post an existing staff member (调岗); with whether the posting is new."""
    require(permissions.staff_post(actor, post=post), action="staff_post")
    if not (user.is_staff_member and user.is_active):
        # As for a grant: a post on a switched-off account would bring its
        # roles back with the account, unseen by whoever switches it on.
        raise InvalidInput(_("只有有效的工作人员账户可以任命岗位。"), field="user")
    posting, created = Posting.objects.get_or_create(user=user, post=post,
                                                     defaults={"since": timezone.now()})
    if created:
        audit_append(actor=actor, action=DirectoryAction.STAFF_POSTED, obj=user,
                     agency_id=post.agency_id, changes={"post": post.pk, "role": post.role})
        forget_scope(user)
    return posting, created


@transaction.atomic
def staff_unpost(*, actor, user: User, post: Post) -> None:
    require(permissions.staff_unpost(actor, post=post), action="staff_unpost")
    deleted, _rows = Posting.objects.filter(user=user, post=post).delete()
    if deleted:
        forget_scope(user)
        # Before the audit record: the receivers lock cases (their claims go
        # back), and the lock order of every step is case first, then the
        # audit chain head.
        posts_left.send(sender=Posting, actor=actor, user=user,
                        posts={(post.agency_id, post.role)})
        audit_append(actor=actor, action=DirectoryAction.STAFF_UNPOSTED, obj=user,
                     agency_id=post.agency_id, changes={"post": post.pk})


@transaction.atomic
def staff_deactivate(*, actor, user: User, reason: str) -> User:
    # FOR NO KEY UPDATE, not FOR UPDATE: a step the person is finishing holds
    # its case and, at commit, checks its event's foreign key to them (FOR
    # KEY SHARE on this row), while this transaction goes on to lock that
    # case to release their claims.  FOR UPDATE would deadlock with it.
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    posts = set(Posting.objects.filter(user=user).values_list("post__role", "post__agency_id"))
    require(permissions.staff_deactivate(actor, user=user, posts=posts),
            action="staff_deactivate")
    if not (reason or "").strip():
        raise InvalidInput(_("停用账户须说明理由。"), field="reason")
    if not user.is_active:
        return user
    user.is_active = False
    user.save(update_fields=["is_active"])
    # Before the audit record, as in staff_unpost: case locks, then the head.
    posts_left.send(sender=User, actor=actor, user=user,
                    posts={(agency_id, role) for role, agency_id in posts})
    audit_append(actor=actor, action=DirectoryAction.STAFF_DEACTIVATED, obj=user,
                 agency_id=min((a for _role, a in posts), default=None), reason=reason,
                 changes={"is_active": [True, False]})
    return user


@transaction.atomic
def scope_grant_create(
    *,
    actor,
    user: User,
    role: str,
    reason: str,
    agency: Agency | None = None,
    division: Division | None = None,
    expires_at=None,
) -> ScopeGrant:
    if (agency is None) == (division is None):
        raise InvalidInput(_("授权对象须为一个机关或一个行政区划。"), field="agency")
    require(permissions.scope_grant_create(actor, agency=agency, division=division),
            action="scope_grant_create")
    if not (user.is_staff_member and user.is_active):
        # A grant is a staff role beyond one's posts: given to a citizen's
        # public account, it would make them a window clerk or a reviewer.
        raise InvalidInput(_("只有有效的工作人员账户可以授权。"), field="user")
    if role not in Role.values:
        raise InvalidInput(_("角色“%(role)s”不存在。"), code=DirectoryErrorCode.UNKNOWN_ROLE,
                           role=role)
    if not (reason or "").strip():
        raise InvalidInput(_("授权须写明依据。"), field="reason")
    expires_at = check_expiry(expires_at)
    grant = ScopeGrant.objects.create(user=user, role=role, agency=agency, division=division,
                                      reason=reason, granted_by=person_of(actor),
                                      granted_at=timezone.now(), expires_at=expires_at)
    audit_append(actor=actor, action=DirectoryAction.GRANT_CREATED, obj=grant,
                 agency_id=agency.pk if agency else None, reason=reason,
                 changes={"user": user.pk, "role": role,
                          "agency": agency.pk if agency else None,
                          "division": division.code if division else None,
                          "expires_at": expires_at})
    forget_scope(user)
    return grant


@transaction.atomic
def scope_grant_revoke(*, actor, grant: ScopeGrant, reason: str) -> ScopeGrant:
    grant = ScopeGrant.objects.select_for_update().get(pk=grant.pk)
    require(permissions.scope_grant_revoke(actor, grant=grant), action="scope_grant_revoke")
    if not (reason or "").strip():
        raise InvalidInput(_("收回授权须说明理由。"), field="reason")
    if grant.revoked_at is not None:
        return grant
    user = grant.user
    held = build_scope_for_user(user).roles.get(grant.role, frozenset())
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    forget_scope(user)
    # What the grant alone reached is left, as a post is: the tasks claimed
    # there go back to the post (a seconded reviewer's 借调 ends).  Before the
    # audit record, as in staff_unpost: case locks, then the head.
    still = build_scope_for_user(user)
    left = {(agency_id, grant.role) for agency_id in held if not still.has(grant.role, agency_id)}
    if left:
        posts_left.send(sender=ScopeGrant, actor=actor, user=user, posts=left)
    audit_append(actor=actor, action=DirectoryAction.GRANT_REVOKED, obj=grant, reason=reason,
                 agency_id=grant.agency_id, changes={"revoked_at": grant.revoked_at})
    return grant


@transaction.atomic
def applicant_look_up(*, actor, kind: str, number: str) -> Applicant | None:
    """The applicant registered under an identity document's number, or None.

    For the window: the clerk has the applicant's ID card (a natural person)
    or business licence (a legal person, by its unified social credit code)
    in hand, and files for the one registered under it, or registers them
    (``applicant_register``) when nobody is.  Only who may register a
    walk-in applicant may look one up: a number typed anywhere else would
    tell whether someone ever dealt with the government.  The ID number is
    stored encrypted and found by its blind index.  A malformed number is
    refused (``InvalidIdentifier``), never looked up.

    Each lookup leaves an audit record (who, when, the number masked as it
    is stored, found or not), so this is a service though it changes
    nothing: looking a person up by their ID number is processing their
    personal information (个人信息保护法 第四条), which must be traceable to the clerk who did it.
    A credit code is public (the business licence's), kept as typed.
    """
    require(permissions.applicant_look_up(actor), action="applicant_look_up")
    document = _document(kind, number)
    applicant = document.registered.first()
    audit_append(actor=actor, action=DirectoryAction.APPLICANT_LOOKED_UP, obj=applicant,
                 object_type=Applicant._meta.label_lower,
                 changes={"kind": kind, **document.logged, "found": applicant is not None})
    return applicant


@dataclass(frozen=True)
class _Document:
    number: str          # as validated (a credit code in capitals)
    registered: QuerySet  # the applicant registered under it: none or one
    logged: dict         # what a record keeps of it: an ID number masked, a credit code whole
    index: str = ""      # an ID number's blind index, by which it is found


def _document(kind: str, number: str) -> _Document:
    """An identity document's number, validated by its check character, for
    finding or registering the applicant under it: an ID card's (a natural
    person, found by the number's blind index: it is stored encrypted) or a
    business licence's unified social credit code (a legal person, public)."""
    if kind == Applicant.Kind.PERSON:
        number = identifiers.validate_id_number(number)
        index = crypto.blind_index(number)
        return _Document(number, Applicant.objects.filter(kind=kind, id_number_index=index),
                         {"id_number": identifiers.mask_id_number(number)}, index)
    if kind == Applicant.Kind.LEGAL:
        number = identifiers.validate_credit_code(number)
        return _Document(number, Applicant.objects.filter(kind=kind, credit_code=number),
                         {"credit_code": number})
    raise InvalidInput(_("申请人类型须为自然人或法人。"), field="kind")


@transaction.atomic
def applicant_register(
    *,
    actor,
    kind: str,
    name: str,
    id_number: str = "",
    credit_code: str = "",
    legal_rep_name: str = "",
    phone: str = "",
    for_self: bool = False,
) -> Applicant:
    """Register a natural or legal person who applies for services.

    A public user registers themselves (``for_self``); a window clerk
    registers a walk-in applicant.  Identifiers are validated by their
    check characters; the ID number is stored encrypted and masked.
    """
    require(permissions.applicant_register(actor, for_self=for_self), action="applicant_register")
    name = identifiers.clean_name(name, field="name", max_length=200)
    phone = identifiers.clean_phone(phone)
    if kind == Applicant.Kind.PERSON:
        if for_self and Applicant.objects.filter(user=actor, kind=kind).exists():
            # An account is one natural person, registered when it signed up:
            # a second would let anyone claim another's ID number, and the
            # real person could then not sign up.
            raise InvalidInput(_("本账户已登记为自然人申请人，不能再登记其他自然人；"
                                 "为他人办理请由其本人注册或到窗口办理。"),
                               code=DirectoryErrorCode.APPLICANT_EXISTS, field="id_number")
        document = _document(kind, id_number)
        if document.registered.exists():
            raise InvalidInput(_("该身份证号码已登记。"), code=DirectoryErrorCode.APPLICANT_EXISTS)
        applicant = Applicant(kind=kind, name=name,
                              id_number_enc=crypto.encrypt_field(document.number),
                              id_number_index=document.index,
                              id_number_masked=document.logged["id_number"])
        logged = {"name": name, **document.logged}
    else:
        document = _document(kind, credit_code)
        legal_rep_name = identifiers.clean_name(legal_rep_name, field="legal_rep_name",
                                                max_length=100,
                                                missing=_("请填写法定代表人姓名。"))
        if document.registered.exists():
            raise InvalidInput(_("该统一社会信用代码已登记。"),
                               code=DirectoryErrorCode.APPLICANT_EXISTS)
        applicant = Applicant(kind=kind, name=name, credit_code=document.number,
                              legal_rep_name=legal_rep_name.strip())
        logged = {"name": name, **document.logged, "legal_rep_name": legal_rep_name}
    applicant.phone = phone
    applicant.user = actor if for_self else None
    applicant.created_at = timezone.now()
    try:
        with transaction.atomic():
            applicant.save()
    except IntegrityError:
        raise InvalidInput(_("该申请人已登记。"),
                           code=DirectoryErrorCode.APPLICANT_EXISTS) from None
    audit_append(actor=actor, action=DirectoryAction.APPLICANT_REGISTERED, obj=applicant,
                 changes=logged)
    return applicant


@transaction.atomic
def agency_party(*, actor, agency: Agency) -> Applicant:
    """The agency as a party to a case (a notice addressed to it): a legal person.

    One record per credit code, whatever name the agency had when it was
    first recorded, so an agency renamed since its last notice is the same
    party.  Recording it is audited like any applicant's registration.  Called
    by a service that checked its own caller (supervision.notice_issue).
    """
    applicant, created = Applicant.objects.get_or_create(
        kind=Applicant.Kind.LEGAL, credit_code=agency.credit_code,
        defaults={"name": agency.name, "created_at": timezone.now()})
    if created:
        audit_append(actor=actor, action=DirectoryAction.APPLICANT_REGISTERED, obj=applicant,
                     agency_id=agency.pk,
                     changes={"name": agency.name, "credit_code": agency.credit_code,
                              "as": "agency"})
    return applicant


@transaction.atomic
def applicant_identifier_reveal(*, actor, applicant: Applicant, reason: str) -> str:
    """Return the full ID number, leaving an audit record of who saw it and why."""
    require(permissions.applicant_identifier_reveal(actor, applicant=applicant),
            action="applicant_identifier_reveal")
    if not applicant.id_number_enc:
        raise NotFound()
    if not (reason or "").strip():
        raise InvalidInput(_("查看完整证件号码须说明理由。"), field="reason")
    audit_append(actor=actor, action=DirectoryAction.APPLICANT_IDENTIFIER_REVEALED,
                 obj=applicant, reason=reason)
    return crypto.decrypt_field(applicant.id_number_enc)


# Sign-ups from one client address in the window, refused or not.  The form
# answers whether an ID number is registered (it must: the real person has to
# learn why they cannot sign up), so without a limit a script could run lists
# of numbers through it, or create accounts by the thousand.  Ten covers a
# family or an office behind one address; the window is the status query's.
SIGN_UP_MAX_PER_ADDRESS = 10
SIGN_UP_WINDOW = datetime.timedelta(minutes=15)


def person_sign_up(*, username: str, full_name: str, id_number: str, password: str,
                   phone: str = "", email: str = "", ip: str | None = None) -> User:
    """A citizen creates a public account and registers as an applicant.

    Both happen or neither: a refused ID number leaves no account behind.
    Open to anyone, so no permission predicate, but throttled: beyond
    ``SIGN_UP_MAX_PER_ADDRESS`` tries from the client address ``ip`` (an
    IPv6 client's /64) within ``SIGN_UP_WINDOW``, refused ones counted,
    raises ``Throttled``.  ``ip`` is None only for a caller that is not a
    request from the network (the demo, the command line).
    """
    from yizhan.accounts.services import user_register_public

    # Recorded before anything is checked, and outside the transaction
    # below, so that a refused try stays counted.
    if ip is not None and throttle.attempt_counted(
            kind=Attempt.Kind.SIGN_UP, ip=ip, window=SIGN_UP_WINDOW,
            per_address=SIGN_UP_MAX_PER_ADDRESS):
        raise Throttled(minutes=SIGN_UP_WINDOW.seconds // 60)
    identifiers.validate_id_number(id_number)
    with transaction.atomic():
        user = user_register_public(username=username, full_name=full_name,
                                    password=password, email=email, phone=phone)
        applicant_register(actor=user, kind=Applicant.Kind.PERSON, name=full_name,
                           id_number=id_number, phone=phone, for_self=True)
    return user
