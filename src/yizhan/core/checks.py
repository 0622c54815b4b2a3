"""System checks: configuration problems reported in plain words.

``yizhan check`` runs Django's checks plus these; each message says what is
wrong and the hint says what to set.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from yizhan.core.pdf import check_cjk_font

register(check_cjk_font)


@register(Tags.security, deploy=False)
def check_platform_settings(app_configs, **kwargs):
    problems = []
    if not settings.DEBUG and not settings.ALLOWED_HOSTS:
        problems.append(Error(
            "ALLOWED_HOSTS is empty: no request will be served.",
            hint="Set ALLOWED_HOSTS to the host names of the site, e.g. "
                 "ALLOWED_HOSTS=zwfw.example.gov.cn",
            id="core.E001",
        ))
    key = settings.FIELD_ENCRYPTION_KEY
    if key:
        try:
            ok = len(bytes.fromhex(key)) == 16
        except ValueError:
            ok = False
        if not ok:
            problems.append(Error(
                "YIZHAN_FIELD_KEY is not 32 hexadecimal digits.",
                hint="Generate one with: python -c 'import secrets; print(secrets.token_hex(16))'",
                id="core.E002",
            ))
    if not settings.DEBUG and not settings.HTTPS:
        problems.append(Warning(
            "YIZHAN_HTTPS is off: session cookies are sent over plain HTTP.",
            hint="Serve the platform behind HTTPS and unset YIZHAN_HTTPS=0.",
            id="core.W002",
        ))
    broker = settings.YIZHAN_BROKER_URL
    if broker and not broker.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
        problems.append(Error(
            f"YIZHAN_BROKER_URL {broker!r} is neither a Redis nor a RabbitMQ URL.",
            hint="Use redis://host:6379/0 or amqp://user:password@host:5672//, "
                 "or leave it empty for embedded mode.",
            id="core.E003",
        ))
    engine = settings.DATABASES["default"]["ENGINE"]
    if not settings.DEBUG and engine.endswith("sqlite3"):
        problems.append(Warning(
            "The database is SQLite: fine for one machine, not for several web nodes.",
            hint="Set DATABASE_URL=postgres://user:password@host/dbname for a distributed setup.",
            id="core.W003",
        ))
    return problems
