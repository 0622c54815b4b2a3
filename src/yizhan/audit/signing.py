"""Agency signing keys, and the signatures on the platform's results.

Every result the platform issues in an agency's name (an electronic
certificate, a decision document, an exchange response) is signed with that
agency's key, so that anyone holding the public key can check, without the
platform, that the agency issued exactly these bytes.

Algorithm: SM2 with SM3 (GB/T 32918.2, via Tongsuo's ``tongsuopy``; the
signature is DER-encoded r and s, and the signer's identity in the SM3
pre-hash is the default 1234567812345678 of GM/T 0009).  Where
``tongsuopy`` cannot be imported, new keys are Ed25519 (RFC 8032, from
``cryptography``).  The algorithm is recorded on the key and returned with
every signature, so keys of both kinds coexist and each verifies its own.

Keys: each agency has at most one active key (a partial unique constraint).
The private key is stored as PEM encrypted with the field key, the public
key in clear with its SM3 fingerprint, and the key's creation is an audit
record carrying the public key, so the hash-chained log pins which public
key belonged to which agency.  Rotation retires the active key, erases its
private half and creates a new key; what the old key signed still
verifies.  Keys are never deleted.

Services (``signing_key_create``, ``signing_key_rotate``) are for an
agency's system administrators.  ``sign_for_agency`` is a system function
for other services: it is not audited per signature (the calling service's
own audit record names the result and its key), but the key it creates on
an agency's first signature is, as an action of the system.

Decrypted private keys are cached per process, keyed by the stored
ciphertext, for at most ``KEY_CACHE_SECONDS`` and ``KEY_CACHE_SIZE``
keys; see docs/certificates.md for the measurements behind that choice.
"""

import base64
import binascii
import datetime
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache, partial

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.audit import permissions
from yizhan.audit.actions import AuditAction
from yizhan.audit.models import SigningKey
from yizhan.audit.services import actor_label, audit_append
from yizhan.core.crypto import decrypt_field, encrypt_field, sm3, sm3_hex
from yizhan.core.errors import Conflict, InvalidInput
from yizhan.core.permissions import require
from yizhan.directory.models import Agency

log = logging.getLogger(__name__)

try:
    from tongsuopy.crypto import hashes as sm_hashes
    from tongsuopy.crypto import serialization as sm_serialization
    from tongsuopy.crypto.asymciphers import ec as sm_ec
    from tongsuopy.crypto.exceptions import InvalidSignature as SmInvalidSignature
except ImportError:  # pragma: no cover - depends on the installation
    SM2_AVAILABLE = False
else:
    SM2_AVAILABLE = True

Algorithm = SigningKey.Algorithm

KEY_CACHE_SECONDS = 300.0
KEY_CACHE_SIZE = 32

# Stored in the audit record of a key made by the system on first use.
FIRST_USE_REASON = "机关首次签名时由系统自动生成"

# What a certificate's signature covers: this label and the lowercase hex
# SM3 digest of the PDF's bytes.  The label keeps a certificate signature
# from being passed off as the agency's signature on any other 71 bytes.
CERTIFICATE_CONTEXT = b"yizhan-certificate-v1:"


class SigningUnavailable(ImproperlyConfigured):
    """A key's algorithm cannot be used by this installation."""


@dataclass(frozen=True)
class Signature:
    key_id: int
    algorithm: str
    value_b64: str


# -- algorithms ------------------------------------------------------------

def default_algorithm() -> str:
    """The algorithm of new keys: SM2 where Tongsuo is installed."""
    return Algorithm.SM2_SM3 if SM2_AVAILABLE else Algorithm.ED25519


def _need(algorithm: str) -> None:
    if algorithm == Algorithm.SM2_SM3 and not SM2_AVAILABLE:
        raise SigningUnavailable(
            "该密钥使用 SM2-SM3，需要安装 tongsuopy / This key uses SM2-SM3, which needs "
            "tongsuopy (pip install tongsuopy)."
        )
    if algorithm not in Algorithm.values:
        raise SigningUnavailable(f"未知的签名算法 {algorithm!r} / "
                                 f"Unknown signature algorithm {algorithm!r}.")


def _generate(algorithm: str) -> tuple[str, str, str]:
    """A new key pair: private PEM, public PEM and public-key fingerprint."""
    _need(algorithm)
    if algorithm == Algorithm.SM2_SM3:
        private = sm_ec.generate_private_key(sm_ec.SM2())
        ser = sm_serialization
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        ser = serialization
    private_pem = private.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                        ser.NoEncryption()).decode("ascii")
    public = private.public_key()
    public_pem = public.public_bytes(ser.Encoding.PEM,
                                     ser.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    der = public.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem, sm3_hex(der)


def _load_private(algorithm: str, pem: str):
    _need(algorithm)
    ser = sm_serialization if algorithm == Algorithm.SM2_SM3 else serialization
    return ser.load_pem_private_key(pem.encode("ascii"), password=None)


@lru_cache(maxsize=256)
def _load_public(algorithm: str, pem: str):
    # Public keys are not secret: cached freely.
    _need(algorithm)
    ser = sm_serialization if algorithm == Algorithm.SM2_SM3 else serialization
    return ser.load_pem_public_key(pem.encode("ascii"))


def _sign(algorithm: str, private, data: bytes) -> bytes:
    if algorithm == Algorithm.SM2_SM3:
        return private.sign(data, sm_ec.ECDSA(sm_hashes.SM3()))
    return private.sign(data)


def _strict_der(signature: bytes) -> bool:
    """Whether ``signature`` is the one DER encoding of some (r, s).

    Tongsuo reports a malformed signature as an internal error, not as an
    invalid one, so malformed input is turned away before it gets there.
    """
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        return False
    return r > 0 and s > 0 and encode_dss_signature(r, s) == signature


def _verify(algorithm: str, public, signature: bytes, data: bytes) -> bool:
    if algorithm == Algorithm.SM2_SM3:
        if not _strict_der(signature):
            return False
        try:
            public.verify(signature, data, sm_ec.ECDSA(sm_hashes.SM3()))
        except SmInvalidSignature:
            return False
        return True
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True


# -- the private-key cache -------------------------------------------------
#
# Keyed by the stored ciphertext, so a key that rotation retired (its
# ciphertext erased) or a row that a rolled-back transaction never kept
# cannot be found again even if a later row reuses its id.

_cache: OrderedDict[str, tuple[float, object]] = OrderedDict()
_cache_lock = threading.Lock()


def _private_key(key: SigningKey):
    token = key.private_key_enc
    if not token:
        raise RuntimeError(f"signing key {key.pk} is retired and has no private key")
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(token)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(token)
            return hit[1]
    private = _load_private(key.algorithm, decrypt_field(token))
    with _cache_lock:
        _cache[token] = (now + KEY_CACHE_SECONDS, private)
        _cache.move_to_end(token)
        for stale in [t for t, (until, _) in _cache.items() if until <= now]:
            del _cache[stale]
        while len(_cache) > KEY_CACHE_SIZE:
            _cache.popitem(last=False)
    return private


def _cache_drop(token: str) -> None:
    with _cache_lock:
        _cache.pop(token, None)


def clear_key_cache() -> None:
    """Forget every decrypted private key held by this process."""
    with _cache_lock:
        _cache.clear()


# -- keys ------------------------------------------------------------------

def _public_facts(key: SigningKey) -> dict:
    """What the audit record of a new key keeps (never the private key)."""
    return {"key_id": key.pk, "algorithm": key.algorithm, "fingerprint": key.fingerprint,
            "public_key": key.public_key_pem}


def _new_key(*, actor, agency_id: int) -> SigningKey:
    algorithm = default_algorithm()
    private_pem, public_pem, fingerprint = _generate(algorithm)
    try:
        with transaction.atomic():
            return SigningKey.objects.create(
                agency_id=agency_id, algorithm=algorithm, public_key_pem=public_pem,
                private_key_enc=encrypt_field(private_pem), fingerprint=fingerprint,
                created_at=timezone.now(), created_by_id=actor_label(actor)[0],
            )
    except IntegrityError:
        # Another transaction made the agency's active key first.
        raise Conflict() from None


@transaction.atomic
def signing_key_create(*, actor, agency: Agency) -> SigningKey:
    """Create the agency's first signing key.

    Refused when the agency already has an active key: a second key is a
    rotation, which needs a reason.
    """
    require(permissions.signing_key_create(actor, agency=agency), action="signing_key_create")
    if SigningKey.objects.filter(agency_id=agency.pk, retired_at__isnull=True).exists():
        raise Conflict(_("机关“%(agency)s”已有在用的签名密钥；如需更换，请轮换密钥。"),
                       agency=agency.name)
    key = _new_key(actor=actor, agency_id=agency.pk)
    audit_append(actor=actor, action=AuditAction.SIGNING_KEY_CREATED, obj=key,
                 agency_id=agency.pk, changes=_public_facts(key))
    return key


@transaction.atomic
def signing_key_rotate(*, actor, agency: Agency, reason: str) -> SigningKey:
    """Retire the agency's active key (if any) and make a new one.

    The retired key's private half is erased; its public half stays, so
    results it signed still verify.  Returns the new key.
    """
    require(permissions.signing_key_rotate(actor, agency=agency), action="signing_key_rotate")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写轮换签名密钥的事由。"), field="reason")
    old = (SigningKey.objects.select_for_update()
           .filter(agency_id=agency.pk, retired_at__isnull=True).first())
    retired = {}
    if old is not None:
        token = old.private_key_enc
        old.retired_at = timezone.now()
        old.retired_reason = reason
        old.private_key_enc = ""
        old.save(update_fields=["retired_at", "retired_reason", "private_key_enc"])
        transaction.on_commit(partial(_cache_drop, token))
        retired = {"retired_key_id": old.pk, "retired_fingerprint": old.fingerprint}
    key = _new_key(actor=actor, agency_id=agency.pk)
    audit_append(actor=actor, action=AuditAction.SIGNING_KEY_ROTATED, obj=key,
                 agency_id=agency.pk, reason=reason,
                 changes={**retired, **_public_facts(key)})
    return key


def _active_key(agency_id: int) -> SigningKey:
    key = SigningKey.objects.filter(agency_id=agency_id, retired_at__isnull=True).first()
    if key is not None:
        return key
    if not Agency.objects.filter(pk=agency_id).exists():
        raise ValueError(f"no agency with id {agency_id}")
    try:
        key = _new_key(actor=None, agency_id=agency_id)
    except Conflict:
        return SigningKey.objects.get(agency_id=agency_id, retired_at__isnull=True)
    audit_append(actor=None, action=AuditAction.SIGNING_KEY_CREATED, obj=key,
                 agency_id=agency_id, reason=FIRST_USE_REASON, changes=_public_facts(key))
    return key


# -- signing and verifying -------------------------------------------------

@transaction.atomic
def sign_for_agency(*, agency_id: int, data: bytes) -> Signature:
    """Sign ``data`` with the agency's active key, made on first use.

    For services only: it checks no permission, since the calling service
    has decided that the agency issues this result.  Inside the service's
    transaction, a key made on first use and its audit record commit or
    roll back with the result; outside any (certificates are signed before
    their case is locked), they commit on their own, and a key kept without
    the result it was made for is simply the agency's key for the next.
    """
    key = _active_key(agency_id)
    value = _sign(key.algorithm, _private_key(key), data)
    return Signature(key_id=key.pk, algorithm=key.algorithm,
                     value_b64=base64.b64encode(value).decode("ascii"))


def _key_by_id(key_id) -> SigningKey | None:
    try:
        pk = int(key_id)
    except (TypeError, ValueError):
        return None
    return SigningKey.objects.filter(pk=pk).first()


def _check(key: SigningKey, data: bytes, value_b64: str) -> bool:
    try:
        value = base64.b64decode(value_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    return _verify(key.algorithm, _load_public(key.algorithm, key.public_key_pem), value, data)


def verify_signature(*, key_id, data: bytes, value_b64: str) -> bool:
    """Whether ``value_b64`` is the signature of ``data`` by key ``key_id``.

    Retired keys verify what they signed; an unknown key verifies nothing.
    Raises ``SigningUnavailable`` when the key's algorithm is not installed
    here, since "cannot check" is not "forged".
    """
    key = _key_by_id(key_id)
    if key is None:
        return False
    return _check(key, data, value_b64)


# -- certificates ----------------------------------------------------------

class VerificationReason(models.TextChoices):
    """Why a certificate failed verification; the labels are for the public."""

    ALTERED = "altered", _("文件内容与签发时不一致，可能已被篡改。")
    KEY_UNKNOWN = "key_unknown", _("找不到签发该证照的签名密钥，无法确认其来源。")
    BAD_SIGNATURE = "bad_signature", _("电子签名无效，该文件并非发证机关签发。")
    REVOKED = "revoked", _("该证照已被撤销或注销。")
    ARCHIVE_MISSING = "archive_missing", _("平台存档的证照文件缺失，暂时无法核验，请联系发证机关。")
    ALGORITHM_UNAVAILABLE = "algorithm_unavailable", _(
        "本平台暂时无法核验该证照使用的签名算法，请稍后再试或联系发证机关。")


VALID_MESSAGE = _("证照真实有效，内容与签发时一致。")


@dataclass(frozen=True)
class CertificateSignature:
    digest: str
    signature: Signature


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    reason: str = ""
    revoked: bool = False
    key_id: int | None = None
    algorithm: str = ""
    # Set when the signing key has since been rotated; the caller compares
    # it with the certificate's issue time if the rotation was a compromise.
    key_retired_at: datetime.datetime | None = None

    @property
    def message(self) -> str:
        return str(VerificationReason(self.reason).label if self.reason else VALID_MESSAGE)


def certificate_digest(pdf_bytes: bytes) -> str:
    """The lowercase hex SM3 digest of a certificate's exact bytes."""
    return sm3(pdf_bytes).hex()


def certificate_message(digest: str) -> bytes:
    """The bytes a certificate's signature covers."""
    return CERTIFICATE_CONTEXT + digest.lower().encode("ascii")


def sign_certificate_bytes(*, agency_id: int, pdf_bytes: bytes) -> CertificateSignature:
    """Digest and sign a rendered certificate in the agency's name."""
    digest = certificate_digest(pdf_bytes)
    return CertificateSignature(
        digest=digest,
        signature=sign_for_agency(agency_id=agency_id, data=certificate_message(digest)),
    )


def verify_certificate_bytes(
    pdf_bytes: bytes,
    *,
    expected_digest: str,
    key_id,
    signature_b64: str,
    revoked: bool = False,
) -> VerificationResult:
    """Check a certificate file against its issue record.

    ``expected_digest``, ``key_id`` and ``signature_b64`` come from the
    issue record; ``revoked`` is the case engine's verdict on the
    certificate.  The first failure found is the reason, in the order:
    altered bytes, unknown key, bad signature, revoked.
    """
    if pdf_bytes is None or certificate_digest(pdf_bytes) != (expected_digest or "").lower():
        return VerificationResult(ok=False, reason=VerificationReason.ALTERED, revoked=revoked)
    key = _key_by_id(key_id)
    if key is None:
        return VerificationResult(ok=False, reason=VerificationReason.KEY_UNKNOWN,
                                  revoked=revoked)
    facts = {"key_id": key.pk, "algorithm": key.algorithm, "key_retired_at": key.retired_at,
             "revoked": revoked}
    try:
        signed = _check(key, certificate_message(expected_digest), signature_b64)
    except SigningUnavailable:
        # "Cannot check here" is neither "forged" nor a server error: the
        # verifier is told so, and the operators by the log.
        log.error("certificate key %s: algorithm %s is not installed; cannot verify",
                  key.pk, key.algorithm)
        return VerificationResult(ok=False, reason=VerificationReason.ALGORITHM_UNAVAILABLE,
                                  **facts)
    if not signed:
        return VerificationResult(ok=False, reason=VerificationReason.BAD_SIGNATURE, **facts)
    if revoked:
        return VerificationResult(ok=False, reason=VerificationReason.REVOKED, **facts)
    return VerificationResult(ok=True, **facts)
