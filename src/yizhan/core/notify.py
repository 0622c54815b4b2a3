"""Notifications to applicants and staff: one interface, pluggable channels.

``send(...)`` is called by services and delivers after the transaction
commits (through the task interface, so a slow mail server never holds a
request).  Channels: e-mail through Django's mail backend, and SMS through
the backend named by ``YIZHAN_SMS_BACKEND`` — a dotted path to a class with
``send(phone, text)``.  The console backend prints; the memory backend
keeps messages in ``outbox`` for tests; a province plugs in its SMS
gateway's client the same way.

An SMS is kept within two concatenated segments of Chinese text
(``SMS_MAX_LENGTH``) where it can be: a message whose text would be longer
gives a shorter ``sms_text`` for the phone, and the e-mail keeps the whole.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from yizhan.core import tasks

log = logging.getLogger(__name__)

# Two concatenated SMS segments of Chinese text (70 characters each).
SMS_MAX_LENGTH = 140


@dataclass(frozen=True)
class Message:
    phone: str
    text: str


class ConsoleSmsBackend:
    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", phone, text)


class MemorySmsBackend:
    outbox: list[Message] = []

    def send(self, phone: str, text: str) -> None:
        MemorySmsBackend.outbox.append(Message(phone, text))


def sms_backend():
    path = getattr(settings, "YIZHAN_SMS_BACKEND", "yizhan.core.notify.ConsoleSmsBackend")
    return import_string(path)()


def sms_message(text: str) -> str:
    """The SMS as the phone receives it: the site's signature, then ``text``."""
    return f"【{settings.YIZHAN_SITE_NAME}】{text}"


def sms_fits(text: str) -> bool:
    """Whether ``text``, signed, fits in two segments (``SMS_MAX_LENGTH``)."""
    return len(sms_message(text)) <= SMS_MAX_LENGTH


@tasks.task("core.deliver_notification")
def deliver(*, email: str = "", phone: str = "", subject: str = "", text: str = "",
            case_number: str = "", sms_text: str = "") -> None:
    """Send by each channel given; one that fails never keeps the other from going.

    The e-mail says ``text``; the SMS says ``sms_text``, or ``text`` when
    there is no shorter one.

    A mail server down must not cost the applicant the SMS (nor a gateway
    down the e-mail): each failure is logged with the case number, so the
    message can be traced and given again, and the other channel is sent.
    The address and phone number are not logged.
    """
    if email:
        try:
            send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
        except Exception:
            log.exception("notification by e-mail failed (case %s)", case_number or "-")
    if phone:
        try:
            sms_backend().send(phone, sms_message(sms_text or text))
        except Exception:
            log.exception("notification by SMS failed (case %s)", case_number or "-")


def send(*, email: str = "", phone: str = "", subject: str, text: str,
         case_number: str = "", sms_text: str = "") -> None:
    """Deliver by e-mail and/or SMS once the current transaction commits.

    ``case_number`` names the case the message is about, for the log of a
    channel that fails; ``sms_text``, when given, is what the SMS says
    instead of ``text`` (a shorter text, the details left to the e-mail).
    """
    if not email and not phone:
        return
    tasks.enqueue("core.deliver_notification", email=email, phone=phone, subject=str(subject),
                  text=str(text), case_number=case_number or "", sms_text=str(sms_text))
