"""Public registration: an account and a person applicant, both or neither."""

import pytest
from django.test import Client

from tests.directory.writes import last_audit, nothing_written
from tests.factories import PASSWORD, valid_id_number
from yizhan.accounts.actions import AccountsAction
from yizhan.accounts.models import User
from yizhan.core import crypto
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.models import Applicant

REGISTER = "/accounts/register/"


def form(**overrides):
    data = {"username": "lisi", "full_name": "李四", "id_number": valid_id_number(seq=41),
            "phone": "13900000000", "email": "lisi@example.com", "password": PASSWORD}
    data.update(overrides)
    return data


def test_registration_creates_a_public_user_and_a_person_applicant(world):
    """The new citizen is signed in, public, and registered as themselves."""
    client = Client()
    number = valid_id_number(seq=41)
    response = client.post(REGISTER, form(id_number=number.lower()))
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="lisi")
    assert user.is_public_user
    assert user.check_password(PASSWORD)
    assert int(client.session["_auth_user_id"]) == user.pk
    applicant = Applicant.objects.get(user=user)
    assert applicant.kind == Applicant.Kind.PERSON
    assert applicant.name == "李四"
    assert crypto.decrypt_field(applicant.id_number_enc) == number
    assert last_audit(AccountsAction.USER_CREATED, object_id=str(user.pk)).changes == {
        "username": "lisi", "kind": "public"}
    assert last_audit(DirectoryAction.APPLICANT_REGISTERED,
                      object_id=str(applicant.pk)).actor_label == "lisi"


def test_registration_page_is_shown(world):
    """The form asks for the ID number."""
    response = Client().get(REGISTER)
    assert response.status_code == 200
    assert 'name="id_number"' in response.content.decode()


def test_invalid_id_number_gives_400_with_a_clear_message_and_creates_neither(world):
    """A wrong check character says so in Chinese; no account, no applicant, no
    session."""
    number = valid_id_number(seq=42)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    client = Client()
    with nothing_written():
        response = client.post(REGISTER, form(id_number=wrong))
    assert response.status_code == 400
    assert "身份证号码校验位错误，请核对后重新输入。" in response.content.decode()
    assert not User.objects.filter(username="lisi").exists()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(("overrides", "message"), [
    ({"id_number": "44990119900101"}, "身份证号码应为 18 位"),
    ({"id_number": "449901" + "20991231" + "0012"}, "出生日期无效"),
    ({"password": "short"}, "密码不符合要求"),
    ({"username": "citizen"}, "已被使用"),
    ({"username": "CITIZEN"}, "已被使用"),
])
def test_other_refusals_create_nothing(world, overrides, message):
    """Bad shape, impossible birth date, weak password or taken name: a 400
    with the reason and nothing written."""
    with nothing_written():
        response = Client().post(REGISTER, form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_registered_id_number_cannot_register_again(world):
    """The citizen's number, typed by someone else, is refused and no
    account is left behind."""
    with nothing_written():
        response = Client().post(REGISTER, form(id_number=valid_id_number(seq=7)))
    assert response.status_code == 400
    assert "该身份证号码已登记" in response.content.decode()
    assert not User.objects.filter(username="lisi").exists()
