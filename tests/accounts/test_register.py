"""Public registration: an account and a person applicant, both or neither;
throttled per client address."""

import contextlib
import threading

import pytest
from django.test import Client

from tests.cases.helpers import run_together
from tests.directory.writes import last_audit, nothing_written
from tests.factories import PASSWORD, valid_id_number
from tests.markers import postgres_only
from yizhan.accounts.actions import AccountsAction
from yizhan.accounts.models import User
from yizhan.core import crypto
from yizhan.core.errors import Throttled
from yizhan.core.models import Attempt
from yizhan.directory import identifiers
from yizhan.directory import services as directory_services
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


# --- throttle ----------------------------------------------------------------------


def probe(seq: int, *, ip: str = "203.0.113.9"):
    return Client().post(REGISTER, form(username=f"probe{seq}", full_name="探测",
                                        id_number=valid_id_number(seq=seq), phone="", email="",
                                        password=PASSWORD + "x"), REMOTE_ADDR=ip)


def test_registration_cannot_be_used_unthrottled_to_test_id_numbers(world):
    """The form answers 该身份证号码已登记 for a registered ID number: without a
    throttle it would tell anyone, for any list of numbers, who has dealt
    with the government here.  Beyond ten tries from one client in 15
    minutes, refused ones and accounts made alike, the answer is a 429 with
    the wait, and nothing is created or checked."""
    # world.citizen signed up with valid_id_number(seq=7): among those probed.
    responses = [probe(seq) for seq in range(1, 21)]
    statuses = [response.status_code for response in responses]
    assert statuses[6] == 400 and "该身份证号码已登记" in responses[6].content.decode()
    assert 429 not in statuses[:10] and statuses[10:] == [429] * 10, statuses
    assert "尝试次数过多，请 15 分钟后再试。" in responses[-1].content.decode()
    assert "该身份证号码已登记" not in responses[-1].content.decode()
    made = User.objects.filter(username__startswith="probe").count()
    assert made == statuses.count(302) == 9


def test_a_throttled_sign_up_writes_nothing_and_other_clients_still_sign_up(world):
    """The refused try leaves no account, applicant or audit row, nor a
    longer wait; an IPv6 client is its whole /64, and a client elsewhere
    signs up as usual."""
    for seq in range(101, 111):
        probe(seq, ip=f"2001:db8::{seq}")
    before = Attempt.objects.count()
    with nothing_written():
        response = probe(111, ip="2001:db8::ffff")
    assert response.status_code == 429
    assert Attempt.objects.count() == before
    assert probe(112, ip="2001:db8:0:1::1").status_code == 302


@postgres_only
def test_sign_ups_sent_at_once_are_throttled_as_when_sent_in_turn(transactional_db, world,
                                                                 monkeypatch):
    """Twenty sign-ups sent at the same moment from one address: no more than
    ten get past the count to have their ID number checked (each try is
    recorded before it is counted)."""
    tries = 20
    checked = []
    lock = threading.Lock()
    together = threading.Barrier(tries)
    real = identifiers.validate_id_number

    def slow_check(number):
        with lock:
            checked.append(number)
        # Every try past the count waits here for the others, as requests
        # served at once by several workers do.
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait(timeout=3)
        return real(number)

    monkeypatch.setattr(identifiers, "validate_id_number", slow_check)
    results = run_together(*[
        (lambda seq=seq: directory_services.person_sign_up(
            username=f"rush{seq}", full_name="并发", id_number=valid_id_number(seq=seq),
            password=PASSWORD + "x", ip="10.7.7.7"))
        for seq in range(201, 201 + tries)])
    assert all(isinstance(r, (User, Throttled)) for r in results), results
    # A sign-up checks its number more than once: count the tries, not the checks.
    passed = set(checked)
    assert len(passed) <= directory_services.SIGN_UP_MAX_PER_ADDRESS, passed
    # The tries refused are not kept: they do not lengthen the wait.
    assert Attempt.objects.count() == len(passed)
