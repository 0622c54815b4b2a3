"""The Celery application for distributed mode.

Workers start with ``celery -A yizhan.core.celery worker`` (and ``beat``
for the periodic schedule).  Every task registered with
``yizhan.core.tasks.task`` becomes a Celery task of the same name, so the
code that schedules work does not know which mode it runs in.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yizhan.settings")

import django

django.setup()

from celery import Celery  # noqa: E402
from django.conf import settings  # noqa: E402

from yizhan.core import tasks  # noqa: E402

app = Celery("yizhan", broker=settings.YIZHAN_BROKER_URL or None)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    timezone=settings.TIME_ZONE,
    beat_schedule={
        item.name: {"task": item.name, "schedule": float(item.seconds)}
        for item in tasks.periodic()
    },
)

def _through_run_now(name: str):
    """The task as a worker runs it: through ``run_now``, so it gets its own context
    (one correlation id for everything it writes, source "task") as in embedded mode."""

    def run(**kwargs):
        return tasks.run_now(name, **kwargs)

    run.__name__ = run.__qualname__ = name.replace(".", "_")
    run.__doc__ = tasks.registered()[name].__doc__
    return run


for _name in tasks.registered():
    app.task(name=_name)(_through_run_now(_name))
