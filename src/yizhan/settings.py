"""Django settings for Yizhan, read from the environment.

Every value an operator may need to change comes from an environment
variable; the defaults are the safe production ones.  Embedded mode (one
process on SQLite, ``make run``) is what ``YIZHAN_DEBUG=1`` with no
``DATABASE_URL`` gives.  See docs/operations.md for the full list.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("YIZHAN_VAR_DIR", Path.cwd() / "var")).resolve()

# The marker default lets a developer start without configuration, and lets
# start-up refuse it outside debug mode (see the check below).
INSECURE_SECRET_KEY = "insecure-development-key-do-not-use-in-production"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("YIZHAN_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
        "value (for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
        "or set YIZHAN_DEBUG=1 for a local development run. "
        "未设置 SECRET_KEY：请在环境变量中设置一个足够长的随机值，"
        "或在本机开发时设置 YIZHAN_DEBUG=1。"
    )

# Key for personal identifiers encrypted at rest (SM4-GCM): 32 hex digits.
# In debug mode a key is derived from SECRET_KEY so a laptop run needs no
# setup; in production a missing key refuses to start.
FIELD_ENCRYPTION_KEY = os.environ.get("YIZHAN_FIELD_KEY", "")
if not FIELD_ENCRYPTION_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "YIZHAN_FIELD_KEY is not set. Set it to 32 hexadecimal digits (a 128-bit SM4 key, "
        "for example: python -c 'import secrets; print(secrets.token_hex(16))'). "
        "未设置 YIZHAN_FIELD_KEY：请设置为 32 位十六进制数字（128 位 SM4 密钥）。"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "yizhan.portal.apps.YizhanAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "yizhan.core",
    "yizhan.audit",
    "yizhan.accounts",
    "yizhan.directory",
    "yizhan.workdays",
    "yizhan.catalog",
    "yizhan.cases",
    "yizhan.supervision",
    "yizhan.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "yizhan.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "yizhan.core.middleware.ContentSecurityPolicyMiddleware",
    "yizhan.portal.errors.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "yizhan.urls"
WSGI_APPLICATION = "yizhan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yizhan.portal.context_processors.display",
            ],
            "builtins": ["yizhan.portal.templatetags.portal_tags"],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # A connection is kept for a minute, and checked before it is used again
    # by a request or a job: one the server dropped while idle (a restart, a
    # failover, a firewall) is replaced instead of failing the next request
    # with a 500 or losing the next job.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60,
                                                  conn_health_checks=True)}
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "yizhan.sqlite3"}
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write
    # lock at BEGIN so two writers queue on the busy timeout instead of one
    # failing with "database is locked" half way through a transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
    )
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
        "YIZHAN_TEST_SQLITE", ""
    ) or None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Authentication -------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# Failed sign-ins: after LOGIN_MAX_FAILURES within LOGIN_LOCK_SECONDS for one
# account or one address, further attempts are refused until the window ends.
LOGIN_MAX_FAILURES = int(os.environ.get("YIZHAN_LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCK_SECONDS = int(os.environ.get("YIZHAN_LOGIN_LOCK_SECONDS", "900"))

SESSION_COOKIE_AGE = int(os.environ.get("YIZHAN_SESSION_SECONDS", str(8 * 3600)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security headers -----------------------------------------------------
HTTPS = env_bool("YIZHAN_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("YIZHAN_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
# The reverse proxies in front of the platform (addresses or networks).  A
# request from one of them is the client named in X-Forwarded-For, for the
# sign-in and status-query throttles, and may carry its X-Request-ID;
# without this, every user behind the proxy is one address.
YIZHAN_TRUSTED_PROXIES = env_list("YIZHAN_TRUSTED_PROXIES", "")
SECURE_HSTS_SECONDS = int(os.environ.get("YIZHAN_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Request bodies: Django refuses larger non-file bodies with a 400; uploads
# have their own per-kind limits in the services that accept them.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("YIZHAN_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# A larger file goes to a temporary file, of which no more is kept than the
# largest file any endpoint accepts (yizhan.core.upload_handlers).
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "yizhan.core.upload_handlers.CappedTemporaryFileUploadHandler",
]
YIZHAN_MAX_RECEIVED_FILE_BYTES = int(os.environ.get("YIZHAN_MAX_RECEIVED_FILE_BYTES",
                                                    str(20 * 1024 * 1024)))
# What one request's files keep in all while they arrive; a request with
# more is refused (413) and what it kept deleted.  200 inputs at the limit
# above would otherwise take 4 GB of temporary disk per request.
YIZHAN_MAX_REQUEST_FILES_BYTES = int(os.environ.get("YIZHAN_MAX_REQUEST_FILES_BYTES",
                                                    str(200 * 1024 * 1024)))
# Files in one request: more are refused (400) before any view runs.  Django
# counts every file input a form sends, the empty ones too, and the apply page
# has one for each of an item's materials, of which there may be 200
# (catalog.content.MAX_MATERIALS): the limit must be at least that, or a
# page of 21 materials could never be sent.  Each file is still capped as it
# arrives (YIZHAN_MAX_RECEIVED_FILE_BYTES) and checked by the service.
DATA_UPLOAD_MAX_NUMBER_FILES = 200
# Fields in one request: Django's default of 1,000 would refuse whole, as a
# bad request, the catalog desk's form of an item with some eighty of its
# 200 allowed materials (a dozen inputs each), losing what the editor typed.
# The body's size (YIZHAN_MAX_BODY_BYTES) still bounds what is parsed.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("YIZHAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files and uploads --------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(os.environ.get("YIZHAN_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Mail and notifications -------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "YIZHAN_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@yizhan.invalid")

# --- Background work --------------------------------------------------------
# Empty: embedded mode, tasks run in this process after commit.  A broker URL
# (redis://... or amqp://...) hands them to Celery workers instead.
YIZHAN_BROKER_URL = os.environ.get("YIZHAN_BROKER_URL", "")

# --- Platform ---------------------------------------------------------------
YIZHAN_SITE_NAME = os.environ.get("YIZHAN_SITE_NAME", "示范市一站式政务服务平台")
# The offices every page's footer names as the site's 主办 (the body
# answerable for it) and 承办 (the body running it), as government sites
# must; not named when empty (the demo city names its own).
YIZHAN_SITE_OWNER = os.environ.get("YIZHAN_SITE_OWNER", "")
YIZHAN_SITE_OPERATOR = os.environ.get("YIZHAN_SITE_OPERATOR", "")
# The address the public reaches the platform at: printed in certificates'
# QR codes, so it must be the real public URL in production.
YIZHAN_PUBLIC_URL = os.environ.get("YIZHAN_PUBLIC_URL", "http://127.0.0.1:8000")
YIZHAN_SMS_BACKEND = os.environ.get("YIZHAN_SMS_BACKEND", "yizhan.core.notify.ConsoleSmsBackend")
# A CJK TrueType font file for PDFs; empty: found among Debian's fonts.
YIZHAN_PDF_FONT = os.environ.get("YIZHAN_PDF_FONT", "")
# Files the platform derives and may rebuild at any time (a reduced copy of
# the PDF font); safe to delete.
YIZHAN_CACHE_DIR = Path(os.environ.get("YIZHAN_CACHE_DIR", VAR_DIR / "cache"))
YIZHAN_MAX_UPLOAD_BYTES = int(os.environ.get("YIZHAN_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
# Audit records are chained per shard so that concurrent writers do not all
# wait on one chain head; see audit/services.py.
YIZHAN_AUDIT_SHARDS = int(os.environ.get("YIZHAN_AUDIT_SHARDS", "8"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("YIZHAN_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # pypdf warns of every damaged file it reads ("incorrect startxref
        # pointer"), and the public sends many: the upload check says what
        # it refuses, so only pypdf's errors are logged.
        "pypdf": {"level": "ERROR"},
    },
}
