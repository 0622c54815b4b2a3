"""Settings for the test suite: production settings with fixed test keys.

The suite runs with DEBUG off, as production does, so the keys that
production refuses to start without are given here.  Fast password hashing
keeps the suite quick; nothing else differs from production.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("YIZHAN_FIELD_KEY", "000102030405060708090a0b0c0d0e0f")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("YIZHAN_HTTPS", "0")

from yizhan.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# No collected static files in tests; WhiteNoise serves from the finders.
STATIC_ROOT = None
YIZHAN_SMS_BACKEND = "yizhan.core.notify.MemorySmsBackend"
