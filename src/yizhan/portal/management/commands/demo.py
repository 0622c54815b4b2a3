"""``yizhan demo``: load the demo city once and print its accounts."""

from django.core.management.base import BaseCommand

from yizhan import demo


class Command(BaseCommand):
    help = "Load the demo city (示范市) if it is not loaded yet, and print the demo accounts."

    def handle(self, *args, **options):
        from yizhan.core import tasks

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
