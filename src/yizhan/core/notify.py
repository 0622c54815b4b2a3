"""Notifications to applicants and staff: one interface, pluggable channels.

``send(...)`` is called by services and delivers after the transaction
commits (through the task interface, so a slow mail server never holds a
request).  Channels: e-mail through Django's mail backend, and SMS through
the backend named by ``YIZHAN_SMS_BACKEND`` — a dotted path to a class with
``send(phone, text)``.  The console backend prints; the memory backend
keeps messages in ``outbox`` for tests; a province plugs in its SMS
gateway's client the same way.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from yizhan.core import tasks

log = logging.getLogger(__name__)


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


@tasks.task("core.deliver_notification")
def deliver(*, email: str = "", phone: str = "", subject: str = "", text: str = "") -> None:
    if email:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
    if phone:
        sms_backend().send(phone, f"【{settings.YIZHAN_SITE_NAME}】{text}")


def send(*, email: str = "", phone: str = "", subject: str, text: str) -> None:
    """Deliver by e-mail and/or SMS once the current transaction commits."""
    if not email and not phone:
        return
    tasks.enqueue("core.deliver_notification", email=email, phone=phone, subject=str(subject),
                  text=str(text))
