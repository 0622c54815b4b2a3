"""SM3 hashes, HMAC-SM3, SM4-GCM field encryption and blind indexes."""

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from yizhan.core import crypto

OTHER_KEY = "ffeeddccbbaa99887766554433221100"


def test_sm3_known_answer():
    """SM3("abc") is the GB/T 32905 example value."""
    expected = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert crypto.sm3_hex(b"abc") == expected
    assert crypto.sm3(b"abc") == bytes.fromhex(expected)


def test_sm3_known_answer_for_a_two_block_message():
    """SM3 of the standard's 64-byte example ("abcd" x 16)."""
    assert crypto.sm3_hex(b"abcd" * 16) == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")


@pytest.mark.parametrize("key", [b"k", b"key-of-32-bytes-for-hmac-sm3-ok!", b"x" * 64, b"y" * 100])
def test_hmac_sm3_agrees_with_an_independent_implementation(key):
    """hmac_sm3 equals cryptography's own HMAC over SM3, short and long keys alike."""
    reference = crypto_hmac.HMAC(key, hashes.SM3())
    reference.update(b"message")
    assert crypto.hmac_sm3(key, b"message") == reference.finalize()


def test_field_encryption_round_trip():
    """SM4-GCM encrypts and decrypts text, Chinese included."""
    for text in ("440301199001011234", "张三 · 东湖区", ""):
        token = crypto.encrypt_field(text)
        assert token.startswith("sm4gcm1:")
        if text:
            assert text.encode() not in base64.b64decode(token.removeprefix("sm4gcm1:"))
        assert crypto.decrypt_field(token) == text


def test_encryption_uses_a_fresh_nonce():
    """The same text encrypts differently each time."""
    assert crypto.encrypt_field("440301199001011234") != crypto.encrypt_field(
        "440301199001011234")


def _flip(token: str, index: int) -> str:
    raw = bytearray(base64.b64decode(token.removeprefix("sm4gcm1:")))
    raw[index] ^= 0x01
    return "sm4gcm1:" + base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(("part", "index"), [("nonce", 0), ("tag", 12), ("ciphertext", 28),
                                             ("ciphertext end", -1)])
def test_tampered_ciphertext_is_refused(part, index):
    """Changing any bit of nonce, tag or ciphertext fails the integrity check."""
    token = crypto.encrypt_field("440301199001011234")
    with pytest.raises(ValueError, match="integrity check"):
        crypto.decrypt_field(_flip(token, index))


def test_truncated_ciphertext_is_refused():
    """A shortened value is refused."""
    token = crypto.encrypt_field("440301199001011234")
    raw = base64.b64decode(token.removeprefix("sm4gcm1:"))
    with pytest.raises(ValueError, match="integrity check"):
        crypto.decrypt_field("sm4gcm1:" + base64.b64encode(raw[:-3]).decode())


def test_plaintext_is_not_taken_for_ciphertext():
    """A value without the cipher prefix is refused, not returned."""
    with pytest.raises(ValueError, match="not an encrypted field value"):
        crypto.decrypt_field("440301199001011234")


def test_other_key_cannot_decrypt():
    """Ciphertext made under one field key does not open under another."""
    token = crypto.encrypt_field("440301199001011234")
    with override_settings(FIELD_ENCRYPTION_KEY=OTHER_KEY), \
            pytest.raises(ValueError, match="integrity check"):
        crypto.decrypt_field(token)


def test_blind_index_is_deterministic():
    """The same identifier always gives the same index, different ones differ."""
    first = crypto.blind_index("440301199001011234")
    assert first == crypto.blind_index("440301199001011234")
    assert len(first) == 64
    assert first != crypto.blind_index("440301199001011235")


def test_blind_index_depends_on_the_key():
    """Under another field key the index differs, so it cannot be precomputed."""
    configured = crypto.blind_index("440301199001011234")
    with override_settings(FIELD_ENCRYPTION_KEY=OTHER_KEY):
        other = crypto.blind_index("440301199001011234")
    assert other != configured
    assert configured != crypto.sm3_hex(b"440301199001011234")


def test_index_key_and_encryption_key_differ():
    """Encryption and indexing use separate keys derived from the field key."""
    enc, idx = crypto.field_keys()
    assert len(enc) == 16
    assert len(idx) == 32
    assert enc != idx[:16]


@pytest.fixture
def fresh_key_cache():
    """Forget derived keys: in debug mode they hang on SECRET_KEY, fixed per process."""
    crypto._keys.cache_clear()
    yield
    crypto._keys.cache_clear()


def _debug_index(secret_key: str) -> str:
    crypto._keys.cache_clear()
    with override_settings(FIELD_ENCRYPTION_KEY="", SECRET_KEY=secret_key):
        return crypto.blind_index("440301199001011234")


def test_debug_key_is_derived_from_the_secret_key(fresh_key_cache):
    """With no field key (debug mode) the keys come from SECRET_KEY."""
    first = _debug_index("one-secret-key-" * 4)
    assert first == _debug_index("one-secret-key-" * 4)
    assert first != _debug_index("another-secret-" * 4)
    assert first != crypto.blind_index("440301199001011234")


@pytest.mark.parametrize("bad", ["not-hex-at-all", "00112233", "00" * 17])
def test_malformed_field_key_is_refused(bad):
    """A field key that is not 32 hex digits is a configuration error."""
    with override_settings(FIELD_ENCRYPTION_KEY=bad), \
            pytest.raises(ImproperlyConfigured, match="32 hexadecimal digits"):
        crypto.encrypt_field("x")
