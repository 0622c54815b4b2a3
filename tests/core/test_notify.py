"""Delivering a notification: each channel on its own."""

import logging

import pytest
from django.core import mail
from django.test import override_settings

from yizhan.core import notify
from yizhan.core.notify import MemorySmsBackend


class BrokenMail:
    """An e-mail backend whose server is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


class BrokenSms:
    """An SMS gateway that is down."""

    def send(self, phone, text):
        raise TimeoutError("gateway down")


@pytest.fixture(autouse=True)
def _empty_outboxes():
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    yield
    MemorySmsBackend.outbox.clear()


def _deliver():
    notify.deliver(email="citizen@example.com", phone="13800000000", subject="办件进度",
                   text="办件 44990020260001000001 已受理。", case_number="44990020260001000001")


@override_settings(EMAIL_BACKEND="tests.core.test_notify.BrokenMail")
def test_a_mail_server_down_does_not_lose_the_sms(caplog):
    """One notification, two channels: the SMS goes all the same, and the failed
    e-mail is logged with the case number (not the address)."""
    with caplog.at_level(logging.ERROR, logger="yizhan.core.notify"):
        _deliver()
    assert [m.phone for m in MemorySmsBackend.outbox] == ["13800000000"]
    [record] = caplog.records
    assert "e-mail" in record.getMessage() and "44990020260001000001" in record.getMessage()
    assert "citizen@example.com" not in record.getMessage()


@override_settings(YIZHAN_SMS_BACKEND="tests.core.test_notify.BrokenSms")
def test_an_sms_gateway_down_does_not_lose_the_email(caplog):
    """The other way round: the e-mail goes, the failed SMS is logged without the number."""
    with caplog.at_level(logging.ERROR, logger="yizhan.core.notify"):
        _deliver()
    assert [m.to for m in mail.outbox] == [["citizen@example.com"]]
    [record] = caplog.records
    assert "SMS" in record.getMessage() and "44990020260001000001" in record.getMessage()
    assert "13800000000" not in record.getMessage()
