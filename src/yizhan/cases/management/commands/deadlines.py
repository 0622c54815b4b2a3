"""``yizhan deadlines``: count the deadlines again after a calendar change.

The recount a calendar change asks for runs in the background after the
change commits; the periodic job ``cases.catch_up_deadlines`` makes up
for one that was lost (a worker that died, a broker that dropped it).
This is the same catch-up, for an operator who will not wait for it.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from yizhan.cases.tasks import DEADLINES_FOLLOWER, deadlines_catch_up
from yizhan.core import context
from yizhan.workdays.selectors import calendar_checkpoint, calendar_version


class Command(BaseCommand):
    help = (
        "Deadline operations. 'recount' counts every open case's deadlines again if the "
        "holiday calendar changed since they were last all counted (what the periodic job "
        "does); with --force, in any case. 'status' shows the calendar's version and the "
        "one the deadlines were last all counted on."
    )

    def add_arguments(self, parser):
        parser.add_argument("operation", choices=["recount", "status"],
                            help="the operation to run: recount or status")
        parser.add_argument("--force", action="store_true",
                            help="recount even if the deadlines are counted on the current "
                                 "calendar")

    def handle(self, *args, operation, force=False, **options):
        if operation == "status":
            self._status()
            return
        with context.acting("cli"):
            done = deadlines_catch_up(force=force)
        if done.ran:
            self.stdout.write(self.style.SUCCESS(
                f"已重新计算 / recounted on calendar version {done.version} "
                f"(before: {done.before}): {done.result} cases moved."))
        else:
            self.stdout.write(
                f"无需重新计算 / up to date: the deadlines are counted on calendar version "
                f"{done.version} (--force to recount anyway).")

    def _status(self):
        version = calendar_version()
        mark = calendar_checkpoint(follower=DEADLINES_FOLLOWER)
        if mark is None or mark.caught_up_at is None:
            self.stdout.write(f"日历版本 / calendar version {version}; deadlines never all "
                              "counted by the catch-up yet.")
            return
        when = timezone.localtime(mark.caught_up_at).strftime("%Y-%m-%d %H:%M:%S")
        state = "up to date" if mark.version == version else "behind: will be recounted"
        self.stdout.write(f"日历版本 / calendar version {version}; deadlines last all counted "
                          f"on version {mark.version} at {when} ({state}).")
