"""``yizhan check``: configuration problems of this installation, in plain words.

Runs Django's system checks (with the deployment checks unless in debug
mode), then checks what only a live installation can show: the database
answers, migrations are applied, the demo city's administrators do not have
the published password (core.E006), the broker answers if one is configured.
"""

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from yizhan.core.checks import check_demo_accounts


class Command(BaseCommand):
    help = "Report configuration problems of this installation in plain words."
    # The command runs Django's checks itself and reports them with the live
    # ones: Django's own run before it would stop it at the first error (an
    # empty ALLOWED_HOSTS hiding the demo's published password) and print
    # every warning twice.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--no-live", action="store_true",
                            help="skip the checks that connect to the database and broker")

    def handle(self, *args, **options):
        problems = _reported(checks.run_checks(include_deployment_checks=not settings.DEBUG))
        if settings.DEBUG:
            problems.append(("WARNING", "调试模式已开启，错误页会显示内部细节。/ "
                             "DEBUG is on: error pages show internal details.",
                             "对外部署请去掉 YIZHAN_DEBUG / "
                             "Unset YIZHAN_DEBUG for any deployment reachable by others."))
        if not options["no_live"]:
            problems.extend(self._live())
        if not problems:
            self.stdout.write(self.style.SUCCESS("配置检查通过 / configuration OK"))
            return
        for level, text, hint in problems:
            self.stdout.write(f"{level}: {text}")
            if hint:
                self.stdout.write(f"    → {hint}")
        errors = sum(1 for p in problems if p[0] == "ERROR")
        if errors:
            raise CommandError(f"发现 {errors} 项配置错误 / {errors} configuration error(s) found")

    def _live(self):
        found = []
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            connection.ensure_connection()
        except Exception as exc:
            return [("ERROR", f"数据库无响应 / the database does not answer: {exc}",
                     "请检查 DATABASE_URL 与数据库服务 / "
                     "Check DATABASE_URL and that the database server is running.")]
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            found.append(("ERROR", f"有 {len(pending)} 个数据库迁移未执行 / "
                          f"{len(pending)} database migration(s) are not applied.",
                          "运行 / Run: yizhan migrate"))
        else:
            found.extend(_reported(check_demo_accounts()))
        if settings.YIZHAN_BROKER_URL:
            try:
                from kombu import Connection

                with Connection(settings.YIZHAN_BROKER_URL, connect_timeout=3) as conn:
                    conn.ensure_connection(max_retries=1)
            except ImportError:
                found.append(("ERROR", "已配置消息代理但未安装 Celery / "
                              "a broker is configured but Celery is not installed.",
                              "安装分布式组件 / Install the distributed extras: "
                              "pip install 'yizhan[distributed]'"))
            except Exception as exc:
                found.append(("ERROR", f"消息代理无响应 / the broker does not answer: {exc}",
                              "请检查 YIZHAN_BROKER_URL 与 Redis/RabbitMQ / "
                              "Check YIZHAN_BROKER_URL and that Redis or RabbitMQ is running."))
        return found


def _reported(messages) -> list[tuple[str, str, str]]:
    """(level, text, hint) of the warnings and errors among ``messages``."""
    problems = []
    for message in messages:
        if message.level < checks.WARNING or message.is_silenced():
            continue
        level = "ERROR" if message.level >= checks.ERROR else "WARNING"
        problems.append((level, f"[{message.id}] {message.msg}", message.hint or ""))
    return problems
