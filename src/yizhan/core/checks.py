"""System checks: configuration problems reported in plain words.

``yizhan check`` runs Django's checks plus these; each message says what is
wrong and the hint says what to set.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from yizhan.core.middleware import parse_proxies
from yizhan.core.pdf import check_cjk_font

register(check_cjk_font)

# The SMS backends that send nothing: for development and tests.
LOCAL_SMS_BACKENDS = ("yizhan.core.notify.ConsoleSmsBackend",
                      "yizhan.core.notify.MemorySmsBackend")


@register(Tags.security, deploy=False)
def check_platform_settings(app_configs, **kwargs):
    problems = []
    if not settings.DEBUG and not settings.ALLOWED_HOSTS:
        problems.append(Error(
            "ALLOWED_HOSTS 为空，不会响应任何请求。/ "
            "ALLOWED_HOSTS is empty: no request will be served.",
            hint="请把 ALLOWED_HOSTS 设为站点域名 / "
                 "Set ALLOWED_HOSTS to the host names of the site, e.g. "
                 "ALLOWED_HOSTS=zwfw.example.gov.cn",
            id="core.E001",
        ))
    if not settings.DEBUG and not _public_host(settings.YIZHAN_PUBLIC_URL):
        # The URL is printed in every certificate's QR code, inside the
        # signed bytes: certificates issued with the default lead to the
        # holder's own machine, for good.
        problems.append(Error(
            f"YIZHAN_PUBLIC_URL（{settings.YIZHAN_PUBLIC_URL!r}）指向本机或不是完整的 "
            "http(s) 网址：电子证照二维码中的核验网址将无法打开，且证照签发后不能更改。/ "
            f"YIZHAN_PUBLIC_URL ({settings.YIZHAN_PUBLIC_URL!r}) points to this machine or "
            "is not a full http(s) URL: the verification URL in every certificate's QR code "
            "would not open, and cannot be changed once the certificate is signed.",
            hint="请设为平台的公网地址 / Set it to the platform's public address, e.g. "
                 "YIZHAN_PUBLIC_URL=https://zwfw.example.gov.cn",
            id="core.E005",
        ))
    key = settings.FIELD_ENCRYPTION_KEY
    if key:
        try:
            ok = len(bytes.fromhex(key)) == 16
        except ValueError:
            ok = False
        if not ok:
            problems.append(Error(
                "YIZHAN_FIELD_KEY 不是 32 位十六进制数字。/ "
                "YIZHAN_FIELD_KEY is not 32 hexadecimal digits.",
                hint="生成方法 / Generate one with: "
                     "python -c 'import secrets; print(secrets.token_hex(16))'",
                id="core.E002",
            ))
    if not settings.DEBUG and not settings.HTTPS:
        problems.append(Warning(
            "YIZHAN_HTTPS 已关闭，会话 Cookie 以明文 HTTP 传输。/ "
            "YIZHAN_HTTPS is off: session cookies are sent over plain HTTP.",
            hint="请在 HTTPS 之后提供服务并去掉 YIZHAN_HTTPS=0 / "
                 "Serve the platform behind HTTPS and unset YIZHAN_HTTPS=0.",
            id="core.W002",
        ))
    broker = settings.YIZHAN_BROKER_URL
    if broker and not broker.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
        problems.append(Error(
            f"YIZHAN_BROKER_URL {broker!r} 不是 Redis 或 RabbitMQ 地址。/ "
            f"YIZHAN_BROKER_URL {broker!r} is neither a Redis nor a RabbitMQ URL.",
            hint="请使用 redis://… 或 amqp://…，内嵌模式留空 / "
                 "Use redis://host:6379/0 or amqp://user:password@host:5672//, "
                 "or leave it empty for embedded mode.",
            id="core.E003",
        ))
    for entry in parse_proxies(settings.YIZHAN_TRUSTED_PROXIES)[1]:
        problems.append(Error(
            f"YIZHAN_TRUSTED_PROXIES 中的 {entry!r} 不是 IP 地址或网段。/ "
            f"{entry!r} in YIZHAN_TRUSTED_PROXIES is not an IP address or network.",
            hint="例如 / For example: YIZHAN_TRUSTED_PROXIES=10.0.0.5,10.1.0.0/16",
            id="core.E004",
        ))
    sms = settings.YIZHAN_SMS_BACKEND
    if not settings.DEBUG and sms in LOCAL_SMS_BACKENDS:
        # Applicants would never get their texts, and the console backend
        # writes their phone numbers into the log instead.
        problems.append(Warning(
            f"短信通知没有接入短信网关（YIZHAN_SMS_BACKEND={sms}）：短信不会发出，"
            "控制台后端还把手机号码写入日志。/ "
            f"SMS notifications are not connected to a gateway (YIZHAN_SMS_BACKEND={sms}): "
            "no text is sent, and the console backend writes phone numbers to the log.",
            hint="请把 YIZHAN_SMS_BACKEND 设为短信网关的发送类 / "
                 "Set YIZHAN_SMS_BACKEND to the dotted path of the gateway's class "
                 "with send(phone, text) (docs/operations.md).",
            id="core.W004",
        ))
    engine = settings.DATABASES["default"]["ENGINE"]
    if not settings.DEBUG and engine.endswith("sqlite3"):
        problems.append(Warning(
            "数据库为 SQLite：适合单机，不适合多个 Web 节点。/ "
            "The database is SQLite: fine for one machine, not for several web nodes.",
            hint="分布式部署请设置 / For a distributed setup set "
                 "DATABASE_URL=postgres://user:password@host/dbname",
            id="core.W003",
        ))
    return problems


def check_demo_accounts() -> list[Error]:
    """The demo city's administrators on a production install, still with the
    password the README publishes: anyone can sign in as them.

    It reads the database, so it is not registered with Django's checks,
    which run before every command (``migrate`` of a database with no
    tables yet among them): ``yizhan check`` runs it with the other live
    checks (not with ``--no-live``).
    """
    from yizhan import demo

    if settings.DEBUG:
        return []
    names = demo.accounts_with_published_password()
    if not names:
        return []
    return [Error(
        f"已加载示范市，其管理员账户 {'、'.join(names)} 仍使用 README 中公开的演示密码 "
        f"{demo.DEMO_PASSWORD}，任何人都能以其身份登录；示范市的其他账户也使用该密码。/ "
        f"The demo city is loaded, and its administrators' accounts ({', '.join(names)}) "
        f"still have the demo password the README publishes ({demo.DEMO_PASSWORD}): anyone "
        "can sign in as them. The demo's other accounts have it too.",
        hint="请删除演示数据库、另建空库后部署，或修改示范市全部账户的密码"
             "（yizhan changepassword 用户名）/ Drop the demo database and deploy on an "
             "empty one, or change the password of every demo account "
             "(yizhan changepassword USERNAME).",
        id="core.E006",
    )]


def _public_host(url: str) -> bool:
    """Whether ``url`` is an http(s) address with a host other than this machine."""
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True   # a host name
    return not (address.is_loopback or address.is_unspecified)
