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


def test_the_sms_says_its_shorter_text_and_the_email_the_whole(settings):
    """``sms_text`` is for the phone; the e-mail keeps ``text``."""
    settings.YIZHAN_SITE_NAME = "一站"
    notify.deliver(email="head@example.org", phone="13900008888", subject="延期申请待批准",
                   text="办件 1 的承办人申请延长办理期限 5 个工作日，理由：需现场核查。",
                   sms_text="办件 1 有延期申请待您批准，详见邮件或工作台。")
    [message] = mail.outbox
    assert "需现场核查" in message.body
    assert [m.text for m in MemorySmsBackend.outbox] == [
        "【一站】办件 1 有延期申请待您批准，详见邮件或工作台。"]


def test_without_a_shorter_text_the_sms_says_the_text():
    _deliver()
    assert [m.text.endswith("办件 44990020260001000001 已受理。")
            for m in MemorySmsBackend.outbox] == [True]


def test_an_sms_fits_in_two_segments_signature_included(settings):
    """Two segments of Chinese text: 140 characters, the site's signature counted."""
    settings.YIZHAN_SITE_NAME = "一站"
    assert notify.sms_fits("字" * (notify.SMS_MAX_LENGTH - 4))
    assert not notify.sms_fits("字" * (notify.SMS_MAX_LENGTH - 3))
