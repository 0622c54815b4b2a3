"""Start-up refusals, ``platform_check`` and the ``yizhan`` console script."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from yizhan import cli, demo
from yizhan.accounts.models import User
from yizhan.accounts.services import password_change
from yizhan.core.checks import check_demo_accounts

REPO = Path(__file__).resolve().parents[2]
START = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'yizhan.settings'; "
         "django.setup(); print('started')")
SECRET = "a-long-random-secret-for-this-test-only-0123456789abcdefghij"
FIELD_KEY = "00112233445566778899aabbccddeeff"


def _environment(**values: str) -> dict[str, str]:
    """This process's environment without the platform's keys, plus ``values``."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "YIZHAN_FIELD_KEY", "YIZHAN_DEBUG",
                        "DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    env.update(values)
    return env


def _start(**values: str) -> subprocess.CompletedProcess:
    # A fixed command line: this interpreter and a constant script.
    return subprocess.run([sys.executable, "-c", START],  # noqa: S603
                          env=_environment(**values), cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def test_missing_secret_key_refuses_to_start():
    """With DEBUG off and no SECRET_KEY the platform does not start, and says why."""
    result = _start(YIZHAN_FIELD_KEY=FIELD_KEY)
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "SECRET_KEY is not set" in result.stderr
    assert "未设置 SECRET_KEY" in result.stderr


def test_missing_field_key_refuses_to_start():
    """With DEBUG off and no YIZHAN_FIELD_KEY the platform does not start."""
    result = _start(SECRET_KEY=SECRET)
    assert result.returncode != 0
    assert "YIZHAN_FIELD_KEY is not set" in result.stderr
    assert "32 hexadecimal digits" in result.stderr


def test_debug_off_value_does_not_count_as_debug():
    """YIZHAN_DEBUG=0 is off: the keys are still required."""
    result = _start(YIZHAN_DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_both_keys_set_starts():
    """With both keys the platform starts in production mode."""
    result = _start(SECRET_KEY=SECRET, YIZHAN_FIELD_KEY=FIELD_KEY)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_debug_mode_starts_without_keys():
    """A laptop run (YIZHAN_DEBUG=1) needs no keys."""
    result = _start(YIZHAN_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_console_script_reports_the_missing_key_plainly():
    """``yizhan check`` without SECRET_KEY exits 2 with one plain line, not a traceback."""
    script = Path(sys.executable).with_name("yizhan")
    if not script.exists():
        pytest.skip("the yizhan console script is not installed in this environment")
    result = subprocess.run([str(script), "check"], env=_environment(), cwd=REPO,  # noqa: S603
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("yizhan: SECRET_KEY is not set")
    assert "Traceback" not in result.stderr


# --- platform_check ------------------------------------------------------------


@pytest.fixture(autouse=True)
def _public_url(settings):
    """The public address production must set (core.E005): the test settings are
    production's, with the default that points to this machine."""
    settings.YIZHAN_PUBLIC_URL = "https://zwfw.example.gov.cn"


def _platform_check(*args) -> str:
    out = io.StringIO()
    call_command("platform_check", "--no-live", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _platform_check_error() -> tuple[str, str]:
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("platform_check", "--no-live", stdout=out, stderr=io.StringIO())
    return str(raised.value), out.getvalue()


def test_platform_check_reports_warnings_without_failing():
    """The test configuration has warnings only: each is printed with its hint."""
    output = _platform_check()
    assert "WARNING: [core.W002] YIZHAN_HTTPS 已关闭" in output
    assert "YIZHAN_HTTPS is off" in output
    assert "→ 请在 HTTPS 之后提供服务" in output and "Serve the platform behind HTTPS" in output
    assert "ERROR" not in output


@pytest.mark.parametrize(("backend", "warned"), [
    ("yizhan.core.notify.ConsoleSmsBackend", True),
    ("yizhan.core.notify.MemorySmsBackend", True),
    ("province.sms.GatewayBackend", False),
])
def test_platform_check_warns_while_sms_goes_nowhere(backend, warned):
    """In production, an SMS backend that sends nothing (and logs the phone
    numbers) is named, with what to set."""
    with override_settings(YIZHAN_SMS_BACKEND=backend):
        output = _platform_check()
    assert ("[core.W004]" in output) is warned
    if warned:
        assert f"短信通知没有接入短信网关（YIZHAN_SMS_BACKEND={backend}）" in output
        assert "Set YIZHAN_SMS_BACKEND to the dotted path" in output
    with override_settings(YIZHAN_SMS_BACKEND=backend, DEBUG=True):
        assert "[core.W004]" not in _platform_check()


def test_platform_check_refuses_a_foreign_broker_url():
    """A broker URL that is neither Redis nor RabbitMQ is an error, with the fix."""
    with override_settings(YIZHAN_BROKER_URL="ftp://x"):
        message, output = _platform_check_error()
    assert "1 configuration error(s) found" in message
    assert "ERROR: [core.E003] YIZHAN_BROKER_URL 'ftp://x' 不是 Redis 或 RabbitMQ 地址" in output
    assert "YIZHAN_BROKER_URL 'ftp://x' is neither a Redis nor a RabbitMQ URL" in output
    assert "Use redis://host:6379/0" in output


def test_platform_check_refuses_a_malformed_field_key():
    """A field key that is not 32 hex digits is an error naming YIZHAN_FIELD_KEY."""
    with override_settings(FIELD_ENCRYPTION_KEY="not-hex"):
        _message, output = _platform_check_error()
    assert "[core.E002] YIZHAN_FIELD_KEY 不是 32 位十六进制数字" in output
    assert "YIZHAN_FIELD_KEY is not 32 hexadecimal digits." in output
    assert "secrets.token_hex(16)" in output


def test_platform_check_refuses_empty_allowed_hosts():
    """No ALLOWED_HOSTS outside debug is an error."""
    with override_settings(ALLOWED_HOSTS=[]):
        _message, output = _platform_check_error()
    assert "[core.E001] ALLOWED_HOSTS 为空" in output
    assert "ALLOWED_HOSTS is empty" in output
    assert "ALLOWED_HOSTS=zwfw.example.gov.cn" in output


def test_platform_check_counts_every_error():
    """Several errors are all listed and counted."""
    with override_settings(ALLOWED_HOSTS=[], YIZHAN_BROKER_URL="ftp://x"):
        message, output = _platform_check_error()
    assert "2 configuration error(s) found" in message
    assert "core.E001" in output and "core.E003" in output


def test_platform_check_warns_about_debug():
    """DEBUG on is reported, with what to unset."""
    with override_settings(DEBUG=True):
        output = _platform_check()
    assert "DEBUG is on" in output
    assert "Unset YIZHAN_DEBUG" in output


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000", "http://127.1.2.3/", "http://localhost:8000/",
    "https://zwfw.localhost", "http://[::1]:8000", "http://0.0.0.0:8000",
    "zwfw.example.gov.cn", "",
])
def test_platform_check_refuses_a_public_url_that_is_this_machine(settings, url):
    """The verification URL is printed in every certificate's QR code, inside the
    signed bytes: in production the default (127.0.0.1) would be there for good."""
    settings.YIZHAN_PUBLIC_URL = url
    message, output = _platform_check_error()
    assert "1 configuration error(s) found" in message
    assert f"[core.E005] YIZHAN_PUBLIC_URL（{url!r}）指向本机或不是完整的 http(s) 网址" in output
    assert f"YIZHAN_PUBLIC_URL ({url!r}) points to this machine" in output
    assert "YIZHAN_PUBLIC_URL=https://zwfw.example.gov.cn" in output


def test_platform_check_accepts_a_public_url_and_this_machine_in_debug(settings):
    """Any other host passes, an intranet address too; a laptop run (debug) may use
    the default."""
    for url in ("https://zwfw.example.gov.cn", "http://10.20.30.40:8080/zwfw/"):
        settings.YIZHAN_PUBLIC_URL = url
        assert "core.E005" not in _platform_check()
    settings.YIZHAN_PUBLIC_URL = "http://127.0.0.1:8000"
    settings.DEBUG = True
    assert "core.E005" not in _platform_check()


def test_platform_check_accepts_redis_and_rabbitmq_urls():
    """Redis and RabbitMQ broker URLs pass the static check."""
    for url in ("redis://127.0.0.1:6379/0", "rediss://h:6380/1", "amqp://u:p@h:5672//"):
        with override_settings(YIZHAN_BROKER_URL=url):
            assert "core.E003" not in _platform_check()


def test_platform_check_live_finds_the_migrated_database(db):
    """With the database checked, an up-to-date schema raises no error."""
    out = io.StringIO()
    call_command("platform_check", stdout=out, stderr=io.StringIO())
    assert "migration(s) are not applied" not in out.getvalue()
    assert "does not answer" not in out.getvalue()


def test_platform_check_refuses_the_demo_citys_published_password(db):
    """The demo loaded on a production install by mistake: its administrators
    sign in with the password the README prints, and ``yizhan check`` said
    nothing.  A password changed is no longer named; in debug (``make run``)
    nothing is said."""
    demo.load(out=lambda *args: None)
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("platform_check", stdout=out, stderr=io.StringIO())
    assert "1 configuration error(s) found" in str(refused.value)
    output = out.getvalue()
    assert ("ERROR: [core.E006] 已加载示范市，其管理员账户 "
            "admin、jcj.head、jcj.officer、zsj.data、zsj.sysadmin 仍使用") in output
    assert ("accounts (admin, jcj.head, jcj.officer, zsj.data, zsj.sysadmin) still have "
            f"the demo password the README publishes ({demo.DEMO_PASSWORD})") in output
    assert "yizhan changepassword USERNAME" in output
    assert "core.E006" not in _platform_check()   # --no-live: no database

    admin = User.objects.get(username="admin")
    password_change(actor=admin, user=admin, old_password=demo.DEMO_PASSWORD,
                    new_password="Another-Pass-2031")
    [error] = check_demo_accounts()
    assert error.id == "core.E006"
    assert "其管理员账户 jcj.head、jcj.officer、zsj.data、zsj.sysadmin 仍使用" in error.msg
    with override_settings(DEBUG=True):
        assert check_demo_accounts() == []


def test_platform_check_does_not_read_passwords_without_the_demo_city(db, monkeypatch):
    """An installation without the demo computes no password hash for it."""
    monkeypatch.setattr("yizhan.demo.check_password", lambda *args: pytest.fail("hashed"))
    assert check_demo_accounts() == []


# --- console script --------------------------------------------------------------


@pytest.fixture
def executed(monkeypatch):
    """Record what the console script hands to Django instead of running it."""
    calls: list[list[str]] = []
    monkeypatch.setattr("django.core.management.execute_from_command_line",
                        lambda argv: calls.append(list(argv)))
    return calls


@pytest.mark.parametrize(("argv", "expected"), [
    (["yizhan", "check"], ["yizhan", "platform_check"]),
    (["yizhan", "check", "--no-live"], ["yizhan", "platform_check", "--no-live"]),
    (["yizhan", "django-check", "--deploy"], ["yizhan", "check", "--deploy"]),
    (["yizhan", "audit", "verify"], ["yizhan", "audit", "verify"]),
    (["yizhan", "migrate"], ["yizhan", "migrate"]),
    (["yizhan"], ["yizhan"]),
])
def test_console_script_maps_commands(executed, argv, expected):
    """``yizhan check`` is platform_check; Django's own check is ``django-check``."""
    cli.main(argv)
    assert executed == [expected]


def test_console_script_reads_sys_argv(executed, monkeypatch):
    """Without arguments main() reads the command line."""
    monkeypatch.setattr(sys, "argv", ["/usr/bin/yizhan", "check"])
    cli.main()
    assert executed == [["/usr/bin/yizhan", "platform_check"]]


def test_console_script_waits_for_the_work_a_command_left(monkeypatch):
    """Without a broker, work a command enqueued (deadlines recomputed after
    ``yizhan workdays seed``) runs on a daemon thread: the command waits for
    it instead of exiting with it unfinished."""
    import time

    from yizhan.core import tasks

    done = []

    def slow(name, **kwargs):
        time.sleep(0.2)
        done.append(name)

    monkeypatch.setattr(tasks, "run_now", slow)
    monkeypatch.setattr("django.core.management.execute_from_command_line",
                        lambda argv: tasks._embedded.submit("cases.catch_up_deadlines", {}))
    cli.main(["yizhan", "workdays", "seed"])
    assert done == ["cases.catch_up_deadlines"]


def test_console_script_turns_configuration_errors_into_exit_2(monkeypatch, capsys):
    """A configuration error is one line on stderr and exit status 2."""

    def refuse(argv):
        raise ImproperlyConfigured("SECRET_KEY is not set.")

    monkeypatch.setattr("django.core.management.execute_from_command_line", refuse)
    with pytest.raises(SystemExit) as raised:
        cli.main(["yizhan", "check"])
    assert raised.value.code == 2
    assert capsys.readouterr().err == "yizhan: SECRET_KEY is not set.\n"


def test_platform_check_refuses_a_trusted_proxy_that_is_no_address():
    """Each malformed entry is named; the valid ones pass."""
    with override_settings(YIZHAN_TRUSTED_PROXIES=["10.0.0.5", "10.1.0.0/16", "proxy.local"]):
        message, output = _platform_check_error()
    assert "1 configuration error(s) found" in message
    assert "[core.E004] YIZHAN_TRUSTED_PROXIES 中的 'proxy.local' 不是 IP 地址或网段" in output
    assert "'proxy.local' in YIZHAN_TRUSTED_PROXIES is not an IP address or network." in output
    with override_settings(YIZHAN_TRUSTED_PROXIES=["10.0.0.5", "fd00::/8"]):
        assert "core.E004" not in _platform_check()


def test_console_script_makes_a_new_var_folder_for_sqlite(tmp_path):
    """``YIZHAN_VAR_DIR`` naming a folder not made yet: the database opens there."""
    script = Path(sys.executable).with_name("yizhan")
    if not script.exists():
        pytest.skip("the yizhan console script is not installed in this environment")
    var = tmp_path / "new" / "var"
    result = subprocess.run(  # noqa: S603
        [str(script), "showmigrations", "workdays"], cwd=tmp_path, timeout=120, check=False,
        env=_environment(YIZHAN_DEBUG="1", YIZHAN_VAR_DIR=str(var)),
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (var / "yizhan.sqlite3").is_file()


# --- what docs/operations.md and `yizhan check` promise ---------------------------

# Variables read only by the test suite, not by an installation.
TEST_ONLY = {"YIZHAN_TEST_SQLITE"}


def _variables_read_by_settings() -> set[str]:
    source = (REPO / "src" / "yizhan" / "settings.py").read_text()
    return set(re.findall(r'(?:os\.environ\.get|env_bool|env_list)\(\s*"([A-Z][A-Z0-9_]*)"',
                          source)) - TEST_ONLY


def _variables_in_the_settings_table() -> set[str]:
    text = (REPO / "docs" / "operations.md").read_text()
    table = text.split("## Settings (environment variables)", 1)[1].split("\n## ", 1)[0]
    names = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_every_environment_variable_settings_reads_is_in_the_operations_table():
    """settings.py says 'See docs/operations.md for the full list': a variable
    the operator can set (the mail backend, the log level) is in the table."""
    read = _variables_read_by_settings()
    assert {"SECRET_KEY", "YIZHAN_PUBLIC_URL", "EMAIL_HOST"} <= read
    missing = sorted(read - _variables_in_the_settings_table())
    assert not missing, f"docs/operations.md's table lacks {missing}"


def test_every_variable_of_the_operations_table_is_read_by_settings():
    stale = sorted(_variables_in_the_settings_table() - _variables_read_by_settings())
    assert not stale, f"docs/operations.md lists variables settings.py never reads: {stale}"


@pytest.mark.django_db
def test_yizhan_check_reports_in_plain_words_and_runs_the_live_checks_despite_an_error(
        settings, capsys, monkeypatch):
    """README: `yizhan check` reports configuration problems in plain words,
    with what to set; operations.md: it also checks the database, the
    migrations and the demo accounts (core.E006).  Run as an operator runs it
    (the console script, not call_command, which skips Django's own pre-check),
    one static error (empty ALLOWED_HOSTS, core.E001) must not hide the rest."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = []
    settings.YIZHAN_PUBLIC_URL = "https://zwfw.example.gov.cn"
    demo_error = Error("demo administrators keep the published password", id="core.E006")
    monkeypatch.setattr(
        "yizhan.core.management.commands.platform_check.check_demo_accounts",
        lambda: [demo_error])
    with pytest.raises(SystemExit) as exited:
        cli.main(["yizhan", "check"])
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert "ERROR: [core.E001]" in out, (out, err)
    assert "ERROR: [core.E006]" in out, (out, err)
    assert "2 configuration error(s) found" in err, err


@pytest.mark.django_db
def test_yizhan_check_prints_each_warning_once(settings, capsys):
    """Without errors, the warnings are the command's report alone, not also
    Django's 'System check identified some issues' before it."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["zwfw.example.gov.cn"]
    settings.YIZHAN_PUBLIC_URL = "https://zwfw.example.gov.cn"
    settings.YIZHAN_SMS_BACKEND = "yizhan.core.notify.ConsoleSmsBackend"
    cli.main(["yizhan", "check", "--no-live"])
    out, err = capsys.readouterr()
    assert (out + err).count("core.W004") == 1, (out, err)
