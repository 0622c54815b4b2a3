"""Tables of the platform's core: the record of tries that throttles count."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Attempt(models.Model):
    """One try at something anyone may do without signing in.

    Kept while it counts for a throttle (``yizhan.core.throttle``) and
    deleted by a periodic job afterwards.  ``address`` is the address
    counted against (an IPv6 client's /64), ``key`` a keyed digest of what
    was tried on (an e-mail address), never the value itself.
    """

    class Kind(models.TextChoices):
        PASSWORD_RESET = "accounts.password_reset", "accounts.password_reset"
        SIGN_UP = "directory.sign_up", "directory.sign_up"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    at = models.DateTimeField()
    address = models.GenericIPAddressField(null=True, blank=True)
    key = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("尝试记录")
        verbose_name_plural = _("尝试记录")
        indexes = [
            models.Index(fields=["kind", "address", "at"], name="attempt_kind_address_idx"),
            models.Index(fields=["kind", "key", "at"], name="attempt_kind_key_idx"),
            models.Index(fields=["at"], name="attempt_at_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.address} {self.at:%Y-%m-%d %H:%M}"
