"""Seeding: the migration's data, calendar_seed and ``yizhan workdays``."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.workdays.writes import nothing_written
from yizhan.audit.models import AuditRecord
from yizhan.core.errors import PermissionDenied
from yizhan.directory.roles import Role
from yizhan.workdays import services, source
from yizhan.workdays.actions import WorkdaysAction
from yizhan.workdays.models import CalendarDay, CalendarVersion, CalendarYear
from yizhan.workdays.selectors import calendar_build, calendar_version
from yizhan.workdays.signals import calendar_year_published

D = dt.date


@pytest.fixture
def published_years():
    received = []

    def receiver(sender, year, **kwargs):
        received.append(year)

    calendar_year_published.connect(receiver)
    yield received
    calendar_year_published.disconnect(receiver)


def _forget_year(year):
    """Arrange a database seeded by an older package that lacked ``year``."""
    CalendarDay.objects.filter(year_id=year).delete()
    CalendarYear.objects.filter(pk=year).delete()


@pytest.mark.django_db
class TestMigration:
    def test_every_year_the_package_knows_is_seeded_and_published(self):
        years = list(CalendarYear.objects.order_by("year"))
        assert [row.year for row in years] == list(range(2004, 2027))
        assert {(row.source, row.published) for row in years} == {("chinesecalendar", True)}
        assert all(row.published_by is None and row.source_version == source.package_version()
                   for row in years)
        assert calendar_version() >= 1

    def test_spring_festival_2024(self):
        """10 February is a Saturday: off, and no exception; the weekdays after are."""
        assert not CalendarDay.objects.filter(date=D(2024, 2, 10)).exists()
        monday = CalendarDay.objects.get(date=D(2024, 2, 12))
        assert (monday.is_workday, monday.name, monday.year_id) == (False, "春节", 2024)
        sunday = CalendarDay.objects.get(date=D(2024, 2, 4))
        assert (sunday.is_workday, sunday.name) == (True, "春节")
        calendar = calendar_build()
        assert calendar.is_workday(D(2024, 2, 10)) is False
        assert calendar.is_workday(D(2024, 2, 4)) is True

    def test_only_exceptions_are_stored(self):
        """557 rows, each a weekday off or a weekend worked, as in the package."""
        rows = list(CalendarDay.objects.values_list("date", "is_workday"))
        assert all(is_workday == (day.weekday() >= 5) for day, is_workday in rows)
        assert dict(rows) == source.calendar_from_package().exceptions()

    def test_the_stored_calendar_is_the_packages(self):
        stored = calendar_build()
        package = source.calendar_from_package()
        assert stored.known_years == package.known_years
        assert stored.exceptions() == package.exceptions()


@pytest.mark.django_db
class TestCalendarSeed:
    def test_seeding_again_changes_nothing(self, django_capture_on_commit_callbacks,
                                           published_years):
        with nothing_written(), django_capture_on_commit_callbacks(execute=True):
            report = services.calendar_seed(actor=None)
        assert report.created == []
        assert report.kept == list(range(2004, 2027))
        assert report.differing == []
        assert published_years == []

    def test_a_missing_year_is_seeded_audited_and_announced(
            self, world, django_capture_on_commit_callbacks, published_years):
        _forget_year(2026)
        version = calendar_version()
        with django_capture_on_commit_callbacks() as callbacks:
            report = services.calendar_seed(actor=None)
            assert published_years == []  # not before commit
        assert report.created == [2026]
        row = CalendarYear.objects.get(pk=2026)
        assert (row.source, row.published) == ("chinesecalendar", True)
        assert CalendarDay.objects.filter(year=row).count() == len(source.package_exceptions(2026))
        record = AuditRecord.objects.get(action=WorkdaysAction.YEAR_SEEDED)
        assert (record.actor_label, record.object_id) == ("system", "2026")
        assert record.changes["holidays"] == 19 and record.changes["workdays"] == 6
        assert calendar_version() == version + 1
        for callback in callbacks:
            callback()
        assert published_years == [2026]

    def test_stored_years_are_never_overwritten(self, world):
        """An administrator's correction survives a later seeding; it is reported."""
        services.calendar_day_set(actor=world.admin, date=D(2026, 12, 31), is_workday=False,
                                  name="示范调整", reason="测试")
        report = services.calendar_seed(actor=world.admin)
        assert report.created == []
        assert report.differing == [2026]
        assert CalendarDay.objects.get(date=D(2026, 12, 31)).name == "示范调整"

    def test_refused_for_staff_without_a_division_grant(self, world):
        _forget_year(2026)
        for actor in (world.user("a", Role.REVIEWER), world.user("a", Role.SYSADMIN),
                      world.citizen):
            with nothing_written(), pytest.raises(PermissionDenied):
                services.calendar_seed(actor=actor)
        assert not CalendarYear.objects.filter(pk=2026).exists()


@pytest.mark.django_db
class TestCommand:
    def run(self, *args) -> str:
        out = StringIO()
        call_command("workdays", *args, stdout=out)
        return out.getvalue()

    def test_seed_is_idempotent_and_says_so(self):
        assert "nothing new" in self.run("seed")
        assert CalendarVersion.objects.get(pk=1).version == calendar_version()

    def test_seed_stores_a_missing_year_as_the_system_from_the_command_line(self):
        _forget_year(2026)
        assert "2026" in self.run("seed")
        record = AuditRecord.objects.get(action=WorkdaysAction.YEAR_SEEDED)
        assert (record.actor_label, record.source) == ("system", "cli")

    def test_show_lists_the_years(self):
        output = self.run("show")
        assert "2004" in output and "2026" in output

    def test_show_year_lists_its_exceptions(self):
        output = self.run("show", "2026")
        assert "2026-10-01 周四 放假 国庆节" in output
        assert "2026-10-10 周六 上班 国庆节" in output
        assert "2026-10-03" not in output  # a Saturday off is no exception

    def test_unknown_year_and_stray_arguments_name_the_value(self):
        with pytest.raises(CommandError, match="2031"):
            self.run("show", "2031")
        with pytest.raises(CommandError, match="2026"):
            self.run("seed", "2026")
