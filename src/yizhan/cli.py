"""The ``yizhan`` console script.

It is Django's ``manage.py`` with the platform's settings, plus three
spellings operators expect: ``yizhan check`` (plain-words configuration
report), ``yizhan audit verify`` and ``yizhan demo``.
"""

import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.settings")
    if len(argv) > 1 and argv[1] == "check":
        # Django's own check stays reachable as ``yizhan django-check``.
        argv[1] = "platform_check"
    elif len(argv) > 1 and argv[1] == "django-check":
        argv[1] = "check"
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        _make_database_folder()
        execute_from_command_line(argv)
        _finish_background_work()
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"yizhan: {exc}\n")
        sys.exit(2)


def _finish_background_work() -> None:
    """Wait for the work a command handed to the embedded runner.

    Without a broker, work enqueued at commit (deadlines recomputed after
    ``yizhan workdays seed`` adds a year, for one) runs on a daemon thread
    of this process, which would die unfinished when the command returns.
    """
    from yizhan.core import tasks

    tasks.drain()


def _make_database_folder() -> None:
    """The folder of an SQLite database, made before its first use.

    ``YIZHAN_VAR_DIR`` may name a folder that does not exist yet; SQLite
    creates the file but not the folder, and says only "unable to open
    database file".
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if database["ENGINE"].endswith("sqlite3") and name and not name.startswith(
            (":memory:", "file:")):
        Path(name).parent.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
