"""sign_for_agency and verify_signature: the system signs in an agency's name."""

import base64
import threading

import pytest
from django.db import connection, transaction

from tests.factories import build_world
from tests.markers import postgres_only
from tests.signing.writes import audit_rows
from yizhan.audit import signing
from yizhan.audit.actions import AuditAction
from yizhan.audit.models import SigningKey
from yizhan.directory.roles import Role

DATA = "准予行政许可决定书 第 2026-001 号".encode()


@pytest.fixture(params=["SM2-SM3", "Ed25519"])
def algorithm(request, monkeypatch):
    """Each test runs once per algorithm."""
    if request.param == "SM2-SM3":
        if not signing.SM2_AVAILABLE:
            pytest.skip("tongsuopy is not installed")
    else:
        monkeypatch.setattr(signing, "SM2_AVAILABLE", False)
    return request.param


def test_first_signature_creates_the_key_as_a_system_action(world, algorithm):
    """An agency without a key gets one, audited with no actor and a reason."""
    signature = signing.sign_for_agency(agency_id=world.agency_b.pk, data=DATA)
    key = SigningKey.objects.get(agency=world.agency_b)
    assert signature.key_id == key.pk
    assert signature.algorithm == key.algorithm == algorithm
    assert key.created_by_id is None
    [record] = audit_rows(AuditAction.SIGNING_KEY_CREATED, agency_id=world.agency_b.pk)
    assert record.actor_id is None
    assert record.actor_label == "system"
    assert record.reason == signing.FIRST_USE_REASON
    assert record.changes["fingerprint"] == key.fingerprint


def test_later_signatures_reuse_the_key_without_audit(world, algorithm):
    first = signing.sign_for_agency(agency_id=world.agency_b.pk, data=DATA)
    second = signing.sign_for_agency(agency_id=world.agency_b.pk, data=b"other")
    assert first.key_id == second.key_id
    assert SigningKey.objects.filter(agency=world.agency_b).count() == 1
    assert len(audit_rows(AuditAction.SIGNING_KEY_CREATED)) == 1


def test_signatures_verify(world, algorithm):
    signature = signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    assert signing.verify_signature(key_id=signature.key_id, data=DATA,
                                    value_b64=signature.value_b64) is True
    # The key id may come back from a URL or a form as text.
    assert signing.verify_signature(key_id=str(signature.key_id), data=DATA,
                                    value_b64=signature.value_b64) is True


def test_tampered_data_fails(world, algorithm):
    signature = signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    tampered = DATA.replace(b"001", b"002")
    assert signing.verify_signature(key_id=signature.key_id, data=tampered,
                                    value_b64=signature.value_b64) is False


def test_tampered_signature_fails(world, algorithm):
    signature = signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    raw = bytearray(base64.b64decode(signature.value_b64))
    raw[-1] ^= 0x01
    assert signing.verify_signature(key_id=signature.key_id, data=DATA,
                                    value_b64=base64.b64encode(bytes(raw)).decode()) is False
    assert signing.verify_signature(key_id=signature.key_id, data=DATA,
                                    value_b64="not base64!") is False
    assert signing.verify_signature(key_id=signature.key_id, data=DATA, value_b64="") is False


def test_another_agencys_key_does_not_verify(world, algorithm):
    signature = signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    other = signing.sign_for_agency(agency_id=world.agency_b.pk, data=DATA)
    assert signing.verify_signature(key_id=other.key_id, data=DATA,
                                    value_b64=signature.value_b64) is False


def test_unknown_key_verifies_nothing(world):
    signature = signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    for key_id in (signature.key_id + 1000, "x", None):
        assert signing.verify_signature(key_id=key_id, data=DATA,
                                        value_b64=signature.value_b64) is False


def test_signing_for_an_unknown_agency_is_a_programming_error(world):
    with pytest.raises(ValueError):
        signing.sign_for_agency(agency_id=world.agency_a.pk + 10_000, data=DATA)
    assert not SigningKey.objects.exists()


def test_a_rolled_back_first_use_leaves_no_key(world):
    """The key made on first use commits or rolls back with the caller."""

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
        raise Abort
    assert not SigningKey.objects.exists()
    assert audit_rows(AuditAction.SIGNING_KEY_CREATED) == []
    signature = signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    assert signing.verify_signature(key_id=signature.key_id, data=DATA,
                                    value_b64=signature.value_b64) is True


# --- the private-key cache --------------------------------------------------------


def _count_decryptions(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = signing.decrypt_field

    def counting(token):
        calls.append(token)
        return real(token)

    monkeypatch.setattr(signing, "decrypt_field", counting)
    return calls


def test_private_key_is_decrypted_once_while_cached(world, monkeypatch):
    calls = _count_decryptions(monkeypatch)
    for _ in range(3):
        signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    assert len(calls) == 1
    signing.clear_key_cache()
    signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    assert len(calls) == 2


def test_cached_keys_expire(world, monkeypatch):
    calls = _count_decryptions(monkeypatch)
    monkeypatch.setattr(signing, "KEY_CACHE_SECONDS", 0.0)
    signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    assert len(calls) == 2


def test_rotation_drops_the_retired_key_from_the_cache(world, django_capture_on_commit_callbacks):
    signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    old_token = SigningKey.objects.get(agency=world.agency_a).private_key_enc
    assert old_token in signing._cache
    with django_capture_on_commit_callbacks(execute=True):
        signing.signing_key_rotate(actor=world.user("a", Role.SYSADMIN),
                                   agency=world.agency_a, reason="疑似泄露")
    assert old_token not in signing._cache


def test_cache_holds_a_bounded_number_of_keys(world, monkeypatch):
    monkeypatch.setattr(signing, "KEY_CACHE_SIZE", 1)
    signing.sign_for_agency(agency_id=world.agency_a.pk, data=DATA)
    signing.sign_for_agency(agency_id=world.agency_b.pk, data=DATA)
    assert len(signing._cache) == 1


# --- concurrency (PostgreSQL) -------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_signatures_make_one_key():
    """Racing first signatures of one agency agree on a single key."""
    world = build_world()
    threads_n = 4
    start = threading.Barrier(threads_n)
    results: list[signing.Signature] = []
    failures: list[BaseException] = []

    def body() -> None:
        try:
            start.wait()
            with transaction.atomic():
                results.append(signing.sign_for_agency(agency_id=world.agency_b.pk, data=DATA))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    key = SigningKey.objects.get(agency=world.agency_b)
    assert {signature.key_id for signature in results} == {key.pk}
    assert len(audit_rows(AuditAction.SIGNING_KEY_CREATED, agency_id=world.agency_b.pk)) == 1
    for signature in results:
        assert signing.verify_signature(key_id=signature.key_id, data=DATA,
                                        value_b64=signature.value_b64) is True
