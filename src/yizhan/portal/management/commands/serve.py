"""``yizhan serve``: the whole platform in one process (embedded mode).

Serves pages, API and static files with waitress, and runs background and
periodic work in the same process when no broker is configured.
"""

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the whole platform (pages, API, background work) in this process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on")
        parser.add_argument("--threads", type=int, default=8, help="request threads")

    def handle(self, *args, host, port, threads, **options):
        from waitress import serve

        from yizhan.core import tasks
        from yizhan.wsgi import application

        if not settings.YIZHAN_BROKER_URL:
            tasks.EmbeddedScheduler().start()
            self.stdout.write("后台任务在本进程中运行 / background work runs in this process")
        self.stdout.write(f"一站 Yizhan: http://{host}:{port}/")
        serve(application, host=host, port=port, threads=threads, ident="yizhan")
