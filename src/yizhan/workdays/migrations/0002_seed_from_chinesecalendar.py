"""Seed the holiday table from the installed ``chinesecalendar``.

Every fresh database starts with the years the package knows (2004 through
its last year), published, so deadlines are final from the first day.  The
migration writes with the historical models and no audit record: it is
initial data, like the schema.  Later package versions add their new years
through ``yizhan workdays seed`` (``services.calendar_seed``), which is
audited and never overwrites stored years.
"""

from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from yizhan.workdays import source

    CalendarYear = apps.get_model("workdays", "CalendarYear")
    CalendarDay = apps.get_model("workdays", "CalendarDay")
    CalendarVersion = apps.get_model("workdays", "CalendarVersion")
    now = timezone.now()
    version = source.package_version()
    stored = set(CalendarYear.objects.values_list("year", flat=True))
    days = []
    for year in source.package_years():
        if year in stored:
            continue
        row = CalendarYear.objects.create(year=year, source="chinesecalendar",
                                          source_version=version, published=True,
                                          published_at=now, created_at=now)
        days.extend(
            CalendarDay(date=d.date, year=row, is_workday=d.is_workday, name=d.name,
                        changed_at=now)
            for d in source.package_exceptions(year)
        )
    CalendarDay.objects.bulk_create(days, batch_size=500)
    if not CalendarVersion.objects.filter(pk=1).update(version=1, changed_at=now):
        CalendarVersion.objects.create(pk=1, version=1, changed_at=now)


def unseed(apps, schema_editor):
    apps.get_model("workdays", "CalendarDay").objects.all().delete()
    apps.get_model("workdays", "CalendarYear").objects.all().delete()
    apps.get_model("workdays", "CalendarVersion").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("workdays", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
