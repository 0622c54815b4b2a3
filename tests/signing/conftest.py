"""Fixtures of the signing tests: a fresh key cache and the SM2 switch."""

import pytest

from yizhan.audit import signing


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    """No test sees a private key another test decrypted."""
    signing.clear_key_cache()
    yield
    signing.clear_key_cache()


@pytest.fixture
def without_sm2(monkeypatch):
    """This process behaves as if Tongsuo were not installed."""
    monkeypatch.setattr(signing, "SM2_AVAILABLE", False)


@pytest.fixture
def with_sm2():
    if not signing.SM2_AVAILABLE:
        pytest.skip("tongsuopy is not installed")
