"""signing_key_create and signing_key_rotate: an agency's sysadmins manage its keys."""

import pytest
from django.db import connection

from tests.signing.writes import audit_rows, nothing_written
from yizhan.audit import signing
from yizhan.audit.actions import AuditAction
from yizhan.audit.models import ImmutableRecordError, SigningKey
from yizhan.core.crypto import decrypt_field
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role


def _sysadmin(world, key="a"):
    return world.user(key, Role.SYSADMIN)


# --- signing_key_create ---------------------------------------------------------


def test_sysadmin_creates_the_agencys_first_key(world, with_sm2):
    """The key is SM2 where Tongsuo is installed, and its creation is audited."""
    actor = _sysadmin(world)
    key = signing.signing_key_create(actor=actor, agency=world.agency_a)
    assert key.agency_id == world.agency_a.pk
    assert key.algorithm == "SM2-SM3"
    assert key.is_active is True
    assert key.created_by_id == actor.pk
    assert key.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert len(key.fingerprint) == 64
    [record] = audit_rows(AuditAction.SIGNING_KEY_CREATED, object_id=str(key.pk))
    assert record.actor_id == actor.pk
    assert record.agency_id == world.agency_a.pk
    assert record.object_type == "audit.signingkey"
    assert record.changes["algorithm"] == "SM2-SM3"
    assert record.changes["fingerprint"] == key.fingerprint
    assert record.changes["public_key"] == key.public_key_pem


def test_key_is_ed25519_without_tongsuo(world, without_sm2):
    """Without SM2 the new key is Ed25519, and it says so."""
    key = signing.signing_key_create(actor=_sysadmin(world), agency=world.agency_a)
    assert key.algorithm == "Ed25519"
    [record] = audit_rows(AuditAction.SIGNING_KEY_CREATED, object_id=str(key.pk))
    assert record.changes["algorithm"] == "Ed25519"


def test_sysadmin_of_an_agency_manages_the_keys_of_its_units(world):
    key = signing.signing_key_create(actor=_sysadmin(world), agency=world.unit_a)
    assert key.agency_id == world.unit_a.pk


def test_platform_superuser_creates_a_key_anywhere(world):
    key = signing.signing_key_create(actor=world.admin, agency=world.agency_b)
    assert key.agency_id == world.agency_b.pk


@pytest.mark.parametrize(("agency_key", "role"), [
    ("b", Role.SYSADMIN),        # another agency's sysadmin
    ("a", Role.AGENCY_HEAD),     # the agency's head is not its sysadmin
])
def test_others_may_not_create_a_key_and_nothing_is_written(world, agency_key, role):
    actor = world.user(agency_key, role)
    with nothing_written(), pytest.raises(PermissionDenied):
        signing.signing_key_create(actor=actor, agency=world.agency_a)


def test_anonymous_system_call_is_refused_by_the_service(world):
    """The service is for people; the system signs through sign_for_agency."""
    with nothing_written(), pytest.raises(PermissionDenied):
        signing.signing_key_create(actor=None, agency=world.agency_a)


def test_a_second_key_is_a_rotation_not_a_creation(world):
    signing.signing_key_create(actor=_sysadmin(world), agency=world.agency_a)
    with nothing_written(), pytest.raises(Conflict) as exc:
        signing.signing_key_create(actor=_sysadmin(world), agency=world.agency_a)
    assert "轮换" in exc.value.render()
    assert "甲局" in exc.value.render()


# --- signing_key_rotate ---------------------------------------------------------


def test_rotation_retires_the_old_key_and_erases_its_private_half(world):
    actor = _sysadmin(world)
    old = signing.signing_key_create(actor=actor, agency=world.agency_a)
    new = signing.signing_key_rotate(actor=actor, agency=world.agency_a, reason=" 年度更换 ")
    old.refresh_from_db()
    assert old.is_active is False
    assert old.retired_reason == "年度更换"
    assert old.private_key_enc == ""
    assert old.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert new.is_active is True
    assert new.pk != old.pk
    assert new.fingerprint != old.fingerprint
    assert SigningKey.objects.filter(agency=world.agency_a, retired_at__isnull=True).get() == new
    [record] = audit_rows(AuditAction.SIGNING_KEY_ROTATED)
    assert record.reason == "年度更换"
    assert record.actor_id == actor.pk
    assert record.object_id == str(new.pk)
    assert record.changes["retired_key_id"] == old.pk
    assert record.changes["retired_fingerprint"] == old.fingerprint
    assert record.changes["fingerprint"] == new.fingerprint


def test_rotation_keeps_old_signatures_valid(world):
    """What the retired key signed still verifies; new signatures use the new key."""
    actor = _sysadmin(world)
    signing.signing_key_create(actor=actor, agency=world.agency_a)
    before = signing.sign_for_agency(agency_id=world.agency_a.pk, data=b"decision 1")
    new = signing.signing_key_rotate(actor=actor, agency=world.agency_a, reason="密钥到期")
    after = signing.sign_for_agency(agency_id=world.agency_a.pk, data=b"decision 2")
    assert after.key_id == new.pk != before.key_id
    assert signing.verify_signature(key_id=before.key_id, data=b"decision 1",
                                    value_b64=before.value_b64) is True
    assert signing.verify_signature(key_id=after.key_id, data=b"decision 2",
                                    value_b64=after.value_b64) is True
    assert signing.verify_signature(key_id=after.key_id, data=b"decision 1",
                                    value_b64=before.value_b64) is False


def test_rotation_without_a_key_makes_the_first_one(world):
    key = signing.signing_key_rotate(actor=_sysadmin(world), agency=world.agency_a,
                                     reason="启用电子证照")
    [record] = audit_rows(AuditAction.SIGNING_KEY_ROTATED)
    assert record.object_id == str(key.pk)
    assert "retired_key_id" not in record.changes


def test_rotation_from_sm2_to_ed25519_keeps_both_verifiable(world, with_sm2, monkeypatch):
    """Keys of both algorithms coexist; each signature names its algorithm."""
    actor = _sysadmin(world)
    sm2 = signing.sign_for_agency(agency_id=world.agency_a.pk, data=b"x")
    monkeypatch.setattr(signing, "SM2_AVAILABLE", False)
    new = signing.signing_key_rotate(actor=actor, agency=world.agency_a, reason="换算法")
    ed = signing.sign_for_agency(agency_id=world.agency_a.pk, data=b"x")
    assert (sm2.algorithm, ed.algorithm, new.algorithm) == ("SM2-SM3", "Ed25519", "Ed25519")
    assert signing.verify_signature(key_id=ed.key_id, data=b"x", value_b64=ed.value_b64)
    # Without Tongsuo an SM2 signature cannot be checked, which is not "forged".
    with pytest.raises(signing.SigningUnavailable):
        signing.verify_signature(key_id=sm2.key_id, data=b"x", value_b64=sm2.value_b64)
    monkeypatch.setattr(signing, "SM2_AVAILABLE", True)
    assert signing.verify_signature(key_id=sm2.key_id, data=b"x", value_b64=sm2.value_b64)


def test_rotation_needs_a_reason_and_writes_nothing_without(world):
    signing.signing_key_create(actor=_sysadmin(world), agency=world.agency_a)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        signing.signing_key_rotate(actor=_sysadmin(world), agency=world.agency_a, reason="  ")
    assert exc.value.fields["field"] == "reason"
    assert "事由" in exc.value.render()


def test_others_may_not_rotate_and_nothing_is_written(world):
    signing.signing_key_create(actor=_sysadmin(world), agency=world.agency_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        signing.signing_key_rotate(actor=_sysadmin(world, "b"), agency=world.agency_a,
                                   reason="越权")


# --- storage --------------------------------------------------------------------


@pytest.mark.parametrize("sm2", [True, False])
def test_private_key_is_not_stored_in_clear(world, monkeypatch, sm2):
    """The raw column holds SM4-GCM ciphertext; decrypted, it is the key's PEM."""
    if sm2 and not signing.SM2_AVAILABLE:
        pytest.skip("tongsuopy is not installed")
    monkeypatch.setattr(signing, "SM2_AVAILABLE", sm2)
    key = signing.signing_key_create(actor=_sysadmin(world), agency=world.agency_a)
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_enc, public_key_pem FROM audit_signingkey"
                       " WHERE id = %s", [key.pk])
        raw, public = cursor.fetchone()
    assert raw.startswith("sm4gcm1:")
    assert "PRIVATE KEY" not in raw
    assert "BEGIN PUBLIC KEY" in public
    pem = decrypt_field(raw)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    # The decrypted key is the pair of the stored public key.
    private = signing._load_private(key.algorithm, pem)
    ser = signing.sm_serialization if sm2 else signing.serialization
    derived = private.public_key().public_bytes(
        ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode()
    assert derived == public
    # Nor does the private key reach the audit log.
    for record in audit_rows(AuditAction.SIGNING_KEY_CREATED):
        assert "PRIVATE" not in repr(record.changes)
        assert pem not in repr(record.changes)


def test_keys_are_never_deleted(world):
    key = signing.signing_key_create(actor=_sysadmin(world), agency=world.agency_a)
    with pytest.raises(ImmutableRecordError):
        key.delete()
    with pytest.raises(ImmutableRecordError):
        SigningKey.objects.all().delete()
    assert SigningKey.objects.filter(pk=key.pk).exists()
