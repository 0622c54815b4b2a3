"""Cryptographic primitives of the platform, in one place.

- SM3 (GB/T 32905) for hashes: the audit chain, token digests, blind indexes.
- SM4-GCM (GB/T 32907 in an AEAD mode) for personal identifiers at rest.

Both come from ``cryptography``.  Keys come from the environment (see
settings); nothing here uses a non-cryptographic random source.
"""

import base64
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_CIPHER_PREFIX = "sm4gcm1:"


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, _Sm3Digest).digest()


class _Sm3Digest:
    """An SM3 object with the hashlib interface that ``hmac`` expects."""

    digest_size = 32
    block_size = 64

    def __init__(self, data: bytes = b""):
        self._h = hashes.Hash(hashes.SM3())
        if data:
            self._h.update(data)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def copy(self):
        new = _Sm3Digest.__new__(_Sm3Digest)
        new._h = self._h.copy()
        return new

    def digest(self) -> bytes:
        return self._h.copy().finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()


@lru_cache(maxsize=4)
def _keys(raw: str) -> tuple[bytes, bytes]:
    if raw:
        try:
            master = bytes.fromhex(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(
                "YIZHAN_FIELD_KEY must be 32 hexadecimal digits."
            ) from exc
        if len(master) != 16:
            raise ImproperlyConfigured("YIZHAN_FIELD_KEY must be 32 hexadecimal digits.")
    else:
        # Debug mode only (settings refuses to start otherwise).
        master = sm3(b"yizhan-debug-field-key:" + settings.SECRET_KEY.encode())[:16]
    # Separate keys for encryption and for the blind index, so the index
    # reveals nothing about the ciphertext key.
    enc = sm3(b"enc" + master)[:16]
    idx = sm3(b"idx" + master)
    return enc, idx


def field_keys() -> tuple[bytes, bytes]:
    return _keys(settings.FIELD_ENCRYPTION_KEY)


def encrypt_field(plaintext: str) -> str:
    enc_key, _ = field_keys()
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(enc_key), modes.GCM(nonce)).encryptor()
    ct = encryptor.update(plaintext.encode()) + encryptor.finalize()
    return _CIPHER_PREFIX + base64.b64encode(nonce + encryptor.tag + ct).decode()


def decrypt_field(token: str) -> str:
    if not token.startswith(_CIPHER_PREFIX):
        raise ValueError("not an encrypted field value")
    raw = base64.b64decode(token[len(_CIPHER_PREFIX):])
    nonce, tag, ct = raw[:12], raw[12:28], raw[28:]
    enc_key, _ = field_keys()
    decryptor = Cipher(algorithms.SM4(enc_key), modes.GCM(nonce, tag)).decryptor()
    try:
        return (decryptor.update(ct) + decryptor.finalize()).decode()
    except InvalidTag as exc:
        raise ValueError("encrypted field failed its integrity check") from exc


def blind_index(value: str) -> str:
    """A keyed digest that finds a record by identifier without decrypting."""
    _, idx_key = field_keys()
    return hmac_sm3(idx_key, value.encode()).hex()
