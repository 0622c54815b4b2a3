"""``yizhan demo``: load the demo city once and print its accounts."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yizhan import demo


class Command(BaseCommand):
    help = "Load the demo city (示范市) if it is not loaded yet, and print the demo accounts."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production", action="store_true",
            help="load it without debug mode as well (its accounts all have the password "
                 "the README prints)")

    def handle(self, *args, **options):
        from yizhan.core import tasks

        # The demo's administrators and some 200 staff accounts all sign in
        # with the password the README publishes: on a production install
        # anyone could take the platform over.
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "未开启调试模式（YIZHAN_DEBUG），拒绝加载示范市：其全部账户使用 README 中公开的"
                f"密码 {demo.DEMO_PASSWORD}。如确需在此加载，请加 --allow-production。/ "
                "Debug mode (YIZHAN_DEBUG) is off: the demo city is not loaded, since all of "
                f"its accounts have the password the README publishes ({demo.DEMO_PASSWORD}). "
                "Pass --allow-production to load it here all the same.")

        # Certificates of the demo cases are issued by background tasks after
        # commit; run them in this command rather than on a thread that the
        # command's exit would cut short.
        tasks.EAGER = True
        accounts = demo.load(out=self.stdout.write)
        self.stdout.write("")
        self.stdout.write(f"演示账户（密码均为 {demo.DEMO_PASSWORD}） / demo accounts "
                          f"(password {demo.DEMO_PASSWORD}):")
        for account in accounts:
            self.stdout.write(f"  {account.username:<16} {account.what}")
