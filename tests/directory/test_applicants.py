"""Applicants: identifiers encrypted at rest, masked in use, revealed with a
reason."""

import json

import pytest
from django.db import connection
from django.test import Client

from tests.directory.writes import audit_rows, last_audit, nothing_written
from tests.factories import PASSWORD, valid_credit_code, valid_id_number
from yizhan.accounts import services as account_services
from yizhan.audit.models import AuditRecord
from yizhan.core import crypto
from yizhan.core.errors import InvalidInput, NotFound, PermissionDenied
from yizhan.directory import services
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.error_codes import DirectoryErrorCode
from yizhan.directory.models import Applicant
from yizhan.directory.roles import Role

CITIZEN_ID = valid_id_number(seq=7)  # the number build_world() registers


def raw_row(applicant: Applicant) -> tuple:
    """The applicant's row exactly as the database holds it."""
    table = connection.ops.quote_name(Applicant._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [applicant.pk])  # noqa: S608
        return cursor.fetchone()


def audit_text() -> str:
    return json.dumps(list(AuditRecord.objects.values("changes", "reason", "object_repr")),
                      ensure_ascii=False, default=str)


def register_person(actor, number, name="李四", **extra):
    return services.applicant_register(actor=actor, kind=Applicant.Kind.PERSON, name=name,
                                       id_number=number, **extra)


# --- natural persons ----------------------------------------------------------


def test_id_number_is_stored_encrypted_and_never_in_clear(world):
    """No column of the row, and no audit record, holds the plain number."""
    number = valid_id_number(division="440309", birth="19820304", seq=11)
    applicant = register_person(world.user("a", "window_clerk"), number, phone="13800000000")
    row = raw_row(applicant)
    assert row is not None
    for value in row:
        text = str(value)
        assert number not in text
        if not text.startswith("sm4gcm1:"):
            assert number[6:14] not in text  # nor the birth date on its own
    assert applicant.id_number_enc.startswith("sm4gcm1:")
    assert crypto.decrypt_field(applicant.id_number_enc) == number
    assert applicant.id_number_index == crypto.blind_index(number)
    assert number not in audit_text()


def test_id_number_is_masked_for_display(world):
    """The masked number keeps region and last four; the audit holds only that.
    """
    number = valid_id_number(division="440309", birth="19820304", seq=12)
    applicant = register_person(world.user("a", "window_clerk"), number)
    assert applicant.id_number_masked == f"{number[:4]}{'*' * 10}{number[-4:]}"
    record = last_audit(DirectoryAction.APPLICANT_REGISTERED, object_id=str(applicant.pk))
    assert record.changes == {"name": "李四", "id_number": applicant.id_number_masked}
    assert record.actor_label == "a.window_clerk"


def test_the_same_id_number_twice_is_refused(world):
    """However it is typed (lowercase x, spaces), one person registers once."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        register_person(world.user("a", "window_clerk"), f" {CITIZEN_ID.lower()} ", name="冒名")
    assert exc.value.code == DirectoryErrorCode.APPLICANT_EXISTS
    assert "已登记" in exc.value.render()


def test_full_width_digits_do_not_register_a_person_twice(world):
    """The citizen's number typed with full-width digits is not a new person."""
    wide = CITIZEN_ID[:2] + "".join(chr(ord(c) + 0xFEE0) for c in CITIZEN_ID[2:17])
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        register_person(world.user("a", "window_clerk"), wide + CITIZEN_ID[17], name="张三")
    assert exc.value.code == DirectoryErrorCode.INVALID_IDENTIFIER


def test_invalid_id_number_is_refused(world):
    """A wrong check character registers nobody."""
    wrong = CITIZEN_ID[:17] + ("0" if CITIZEN_ID[17] != "0" else "1")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        register_person(world.user("a", "window_clerk"), wrong)
    assert exc.value.code == DirectoryErrorCode.INVALID_IDENTIFIER


def test_public_user_registers_only_themselves(world):
    """A citizen may register for themselves; a registration for someone else
    needs a window clerk."""
    citizen = services.person_sign_up(username="lisi", full_name="李四",
                                      id_number=valid_id_number(seq=21), password=PASSWORD)
    legal = services.applicant_register(actor=citizen, kind=Applicant.Kind.LEGAL,
                                        name="李四商行", credit_code=valid_credit_code(501),
                                        legal_rep_name="李四", for_self=True)
    assert legal.user == citizen
    with nothing_written(), pytest.raises(PermissionDenied):
        register_person(citizen, valid_id_number(seq=22), name="王五")


def test_an_account_is_one_natural_person(world):
    """Registering a second person for oneself would squat another's ID number."""
    mallory = services.person_sign_up(username="mallory", full_name="马某",
                                      id_number=valid_id_number(seq=31), password=PASSWORD)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.applicant_register(actor=mallory, kind=Applicant.Kind.PERSON, name="李四",
                                    id_number=valid_id_number(seq=32), for_self=True)
    assert exc.value.code == DirectoryErrorCode.APPLICANT_EXISTS
    # 李四 still signs up with his own number.
    services.person_sign_up(username="lisi", full_name="李四",
                            id_number=valid_id_number(seq=32), password=PASSWORD)


@pytest.mark.parametrize("role", ["reviewer", "agency_head", "sysadmin"])
def test_staff_other_than_window_clerks_may_not_register(world, role):
    """Registering walk-in applicants is the window clerk's job."""
    with nothing_written(), pytest.raises(PermissionDenied):
        register_person(world.user("a", role), valid_id_number(seq=23))


@pytest.mark.parametrize("role", ["reviewer", "agency_head", "sysadmin"])
def test_only_who_may_register_looks_an_applicant_up(world, role):
    """Looking someone up by their ID number is the window's, as registering
    is: refused, and nothing recorded, for other staff; the clerk finds the
    applicant, and the lookup is recorded with the number masked."""
    number = valid_id_number(seq=26)
    registered = register_person(world.user("a", "window_clerk"), number)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.applicant_look_up(actor=world.user("a", role), kind="person", number=number)
    found = services.applicant_look_up(actor=world.user("a", "window_clerk"), kind="person",
                                       number=number)
    assert found == registered
    assert last_audit(DirectoryAction.APPLICANT_LOOKED_UP).changes == {
        "kind": "person", "id_number": registered.id_number_masked, "found": True}


def test_staff_may_not_register_as_for_self(world):
    """Only public users register themselves."""
    with nothing_written(), pytest.raises(PermissionDenied):
        register_person(world.user("a", "window_clerk"), valid_id_number(seq=24),
                        for_self=True)


def test_anonymous_may_not_register(world):
    """Nobody registers applicants without signing in."""
    with nothing_written(), pytest.raises(PermissionDenied):
        register_person(None, valid_id_number(seq=25))


# --- legal persons --------------------------------------------------------------


def test_legal_person_is_registered_with_credit_code_and_representative(world):
    """The credit code is normalised and stored in clear, as the law makes it
    public."""
    code = valid_credit_code(502)
    applicant = services.applicant_register(actor=world.user("b", "window_clerk"),
                                            kind=Applicant.Kind.LEGAL, name="示范公司",
                                            credit_code=code.lower(),
                                            legal_rep_name=" 周七 ")
    assert (applicant.credit_code, applicant.legal_rep_name) == (code, "周七")
    assert applicant.id_number_enc == ""
    record = last_audit(DirectoryAction.APPLICANT_REGISTERED, object_id=str(applicant.pk))
    assert record.changes["credit_code"] == code


def test_legal_person_refusals_write_nothing(world):
    """A wrong check character, a missing representative, a second
    registration and an unknown kind are refused."""
    clerk = world.user("a", "window_clerk")
    code = valid_credit_code(503)
    services.applicant_register(actor=clerk, kind="legal", name="甲公司", credit_code=code,
                                legal_rep_name="周七")
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with nothing_written():
        with pytest.raises(InvalidInput) as exc:
            services.applicant_register(actor=clerk, kind="legal", name="乙公司",
                                        credit_code=wrong, legal_rep_name="周七")
        assert exc.value.code == DirectoryErrorCode.INVALID_IDENTIFIER
        with pytest.raises(InvalidInput) as exc:
            services.applicant_register(actor=clerk, kind="legal", name="乙公司",
                                        credit_code=valid_credit_code(504),
                                        legal_rep_name="  ")
        assert exc.value.fields["field"] == "legal_rep_name"
        with pytest.raises(InvalidInput) as exc:
            services.applicant_register(actor=clerk, kind="legal", name="甲公司二",
                                        credit_code=code, legal_rep_name="周七")
        assert exc.value.code == DirectoryErrorCode.APPLICANT_EXISTS
        with pytest.raises(InvalidInput):
            services.applicant_register(actor=clerk, kind="robot", name="某",
                                        id_number=valid_id_number(seq=26))
        with pytest.raises(InvalidInput):
            services.applicant_register(actor=clerk, kind="person", name=" ",
                                        id_number=valid_id_number(seq=27))


# --- revealing the full number -----------------------------------------------


def test_applicant_sees_their_own_number_and_the_reveal_is_audited(world):
    """The audit holds the reason, never the number."""
    number = services.applicant_identifier_reveal(actor=world.citizen,
                                                  applicant=world.applicant,
                                                  reason="核对本人信息")
    assert number == CITIZEN_ID
    record = last_audit(DirectoryAction.APPLICANT_IDENTIFIER_REVEALED,
                        object_id=str(world.applicant.pk))
    assert record.reason == "核对本人信息"
    assert record.actor_label == "citizen"
    assert CITIZEN_ID not in audit_text()


def test_window_clerk_may_reveal_with_a_reason(world):
    """A clerk checks the identity document at the counter; the audit
    says which clerk and why."""
    clerk = world.user("b", "window_clerk")
    number = services.applicant_identifier_reveal(actor=clerk, applicant=world.applicant,
                                                  reason="窗口核验身份证原件")
    assert number == CITIZEN_ID
    record = last_audit(DirectoryAction.APPLICANT_IDENTIFIER_REVEALED)
    assert (record.actor_label, record.reason) == ("b.window_clerk", "窗口核验身份证原件")


@pytest.mark.parametrize("reason", ["", "  "])
def test_reveal_needs_a_reason(world, reason):
    """Without a reason the number stays hidden."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.applicant_identifier_reveal(actor=world.user("a", "window_clerk"),
                                             applicant=world.applicant, reason=reason)
    assert "理由" in exc.value.render()


@pytest.mark.parametrize(("agency", "role"), [
    ("a", "reviewer"), ("a", "agency_head"), ("b", "supervision_officer"),
])
def test_reveal_is_refused_to_other_roles(world, agency, role):
    """Reviewers, heads and supervisors see only the masked number."""
    with nothing_written(), pytest.raises(PermissionDenied):
        services.applicant_identifier_reveal(actor=world.user(agency, role),
                                             applicant=world.applicant, reason="想看看")


def test_reveal_is_refused_to_another_citizen(world):
    """One citizen never sees another's number."""
    other = services.person_sign_up(username="lisi", full_name="李四",
                                    id_number=valid_id_number(seq=28), password=PASSWORD)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.applicant_identifier_reveal(actor=other, applicant=world.applicant,
                                             reason="好奇")


def test_legal_person_has_no_number_to_reveal(world):
    """A legal person has no ID number: not found."""
    legal = services.applicant_register(actor=world.user("a", "window_clerk"), kind="legal",
                                        name="丙公司", credit_code=valid_credit_code(505),
                                        legal_rep_name="周七")
    with nothing_written(), pytest.raises(NotFound):
        services.applicant_identifier_reveal(actor=world.user("a", "window_clerk"),
                                             applicant=legal, reason="核验")


# --- API --------------------------------------------------------------------------


def test_api_shows_only_the_masked_number(world, client_for):
    """GET /applicants/{id} answers with the masked number, to staff and to
    the applicant, and nowhere the plain one."""
    url = f"/api/v1/directory/applicants/{world.applicant.pk}"
    for user in (world.user("a", "reviewer"), world.citizen):
        response = client_for(user).get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["id_number_masked"] == world.applicant.id_number_masked
        assert "*" * 10 in body["id_number_masked"]
        assert CITIZEN_ID not in response.content.decode()
        assert "id_number" not in body


def test_api_hides_applicants_from_other_citizens(world, client_for):
    """Another citizen's applicant is not found."""
    other = services.person_sign_up(username="lisi", full_name="李四",
                                    id_number=valid_id_number(seq=29), password=PASSWORD)
    response = client_for(other).get(f"/api/v1/directory/applicants/{world.applicant.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "core.not_found"


def test_api_reveal_returns_the_number_to_a_clerk_and_audits_it(world, client_for):
    """The clerk gets the full number; the reason is audited."""
    url = f"/api/v1/directory/applicants/{world.applicant.pk}/reveal"
    response = client_for(world.user("a", "window_clerk")).post(
        url, {"reason": "窗口核验"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"id_number": CITIZEN_ID}
    assert last_audit(DirectoryAction.APPLICANT_IDENTIFIER_REVEALED).reason == "窗口核验"


def test_api_reveal_is_refused_to_a_reviewer(world, client_for):
    """A reviewer gets 403 without the number and no audit row."""
    url = f"/api/v1/directory/applicants/{world.applicant.pk}/reveal"
    before = len(audit_rows(DirectoryAction.APPLICANT_IDENTIFIER_REVEALED))
    response = client_for(world.user("a", "reviewer")).post(
        url, {"reason": "想看看"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "core.permission_denied"
    assert CITIZEN_ID not in response.content.decode()
    assert len(audit_rows(DirectoryAction.APPLICANT_IDENTIFIER_REVEALED)) == before


def test_a_window_clerk_s_token_never_reveals_a_number(world):
    """The clerk reveals a number to check it against the identity document at the
    counter; a system has no document to check and would only copy numbers out.  A
    token in the clerk's role is refused, through the API and the service alike."""
    _token, secret = account_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                  name="受理系统", role=Role.WINDOW_CLERK)
    url = f"/api/v1/directory/applicants/{world.applicant.pk}/reveal"
    with nothing_written():
        response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(
            url, {"reason": "批量核验"}, content_type="application/json")
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "core.permission_denied"
        assert CITIZEN_ID not in response.content.decode()
        with pytest.raises(PermissionDenied):
            services.applicant_identifier_reveal(
                actor=account_services.token_authenticate(secret), applicant=world.applicant,
                reason="批量核验")


def test_api_refuses_an_invalid_id_number_with_the_error_shape(world, client_for):
    """400 with code, messages in both languages, fields and request id."""
    wrong = CITIZEN_ID[:17] + ("0" if CITIZEN_ID[17] != "0" else "1")
    client = client_for(world.user("a", "window_clerk"))
    with nothing_written():
        response = client.post(
            "/api/v1/directory/applicants",
            {"kind": "person", "name": "李四", "id_number": wrong},
            content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "message_zh", "message_en", "fields",
                         "request_id"}
    assert body["code"] == "directory.invalid_identifier"
    assert "校验位错误" in body["message_zh"]
    assert body["message"] == body["message_zh"]
    assert "check digit" in body["message_en"]
    assert body["request_id"] == response["X-Request-ID"]


def test_api_registers_a_person_and_returns_the_masked_number(world, client_for):
    """The response to a registration carries only the masked number."""
    number = valid_id_number(seq=30)
    response = client_for(world.user("a", "window_clerk")).post(
        "/api/v1/directory/applicants", {"kind": "person", "name": "李四", "id_number": number},
        content_type="application/json")
    assert response.status_code == 201
    assert response.json()["id_number_masked"] == f"{number[:4]}{'*' * 10}{number[-4:]}"
    assert number not in response.content.decode()


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"legal_rep_name": " "}, "legal_rep_name", "请填写法定代表人姓名。"),
    ({"phone": "1" * 21}, "phone", None),
    ({"legal_rep_name": "张" * 101}, "legal_rep_name", "名称不能超过 100 个字。"),
    ({"name": "某" * 201}, "name", "名称不能超过 200 个字。"),
])
def test_details_missing_or_too_long_for_their_column_are_refused(world, overrides, field,
                                                                   message):
    """PostgreSQL raised on the long ones (a 500); SQLite stored them whole."""
    details = {"kind": "legal", "name": "某某餐饮有限公司", "legal_rep_name": "张三",
               "credit_code": valid_credit_code(555), **overrides}
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.applicant_register(actor=world.user("a", Role.WINDOW_CLERK), **details)
    assert exc.value.fields["field"] == field
    if message is not None:
        assert exc.value.render("zh-hans") == message
