"""The admin pages of the calendar: writes go through the services."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry

from tests.workdays.writes import nothing_written
from yizhan.audit.models import AuditRecord
from yizhan.directory.roles import Role
from yizhan.workdays.actions import WorkdaysAction
from yizhan.workdays.models import CalendarDay, CalendarYear

D = dt.date
NOTICE = "国办发明电〔2026〕9号"
DAYS = "/admin/workdays/calendarday/"
YEARS = "/admin/workdays/calendaryear/"


@pytest.mark.django_db
class TestCalendarAdmin:
    def test_a_calendar_administrator_adds_a_day_and_publishes_the_year(self, world,
                                                                        client_for):
        client = client_for(world.admin)
        response = client.post(f"{DAYS}add/", {"date": "2027-01-01", "name": "元旦",
                                               "reason": NOTICE})
        assert response.status_code == 302, response.content.decode()[:2000]
        day = CalendarDay.objects.get(date=D(2027, 1, 1))
        assert (day.is_workday, day.name) == (False, "元旦")
        assert AuditRecord.objects.filter(action=WorkdaysAction.DAY_SET).count() == 1

        response = client.post(f"{YEARS}2027/change/", {"published": "on", "reason": NOTICE})
        assert response.status_code == 302, response.content.decode()[:2000]
        assert CalendarYear.objects.get(pk=2027).published is True
        assert AuditRecord.objects.filter(action=WorkdaysAction.YEAR_PUBLISHED).count() == 1
        # A published year is read-only from then on.
        assert client.get(f"{YEARS}2027/change/").status_code == 200
        with nothing_written():
            client.post(f"{YEARS}2027/change/", {"published": "", "reason": "撤回"})

    def test_a_day_changed_back_to_the_rule_disappears(self, world, client_for):
        client = client_for(world.admin)
        day = CalendarDay.objects.get(date=D(2026, 10, 10))  # a worked Saturday
        response = client.post(f"{DAYS}{day.pk}/change/", {"name": "", "reason": NOTICE})
        assert response.status_code == 302
        assert not CalendarDay.objects.filter(date=D(2026, 10, 10)).exists()

    def test_a_refusal_by_the_service_is_shown_on_the_form(self, world, client_for):
        client = client_for(world.admin)
        with nothing_written():
            response = client.post(f"{DAYS}add/", {"date": "2027-01-01", "name": "",
                                                   "reason": NOTICE})
        assert response.status_code == 200
        assert "请填写节日名称" in response.content.decode()

    @pytest.mark.parametrize(("form", "message"), [
        # Tuesday 5 January 2027 "worked": it is a working day anyway.
        ({"date": "2027-01-05", "is_workday": "on", "name": "", "reason": NOTICE},
         "2027-01-05 按周一至周五的规则本就是工作日，无需录入。"),
        # Saturday 2 January 2027 "off" (inside 元旦): it is off anyway.
        ({"date": "2027-01-02", "name": "元旦", "reason": NOTICE},
         "2027-01-02 是周末，本就放假，无需录入。"),
    ], ids=["weekday_worked", "saturday_off"])
    def test_adding_a_day_the_weekday_rule_gives_is_refused_on_the_form(self, world,
                                                                       client_for, form,
                                                                       message):
        """The service stores nothing for a day the weekday rule already gives;
        the add page says so instead of reporting a day added (with a link to
        an object that does not exist and an admin log entry for it)."""
        client = client_for(world.admin)
        with nothing_written():
            response = client.post(f"{DAYS}add/", form)
        page = response.content.decode()
        assert response.status_code == 200
        assert message in page
        assert "成功添加" not in page and "/None/change/" not in page
        assert not LogEntry.objects.exists()

    def test_an_agency_sysadmin_may_look_but_not_change(self, world, client_for):
        client = client_for(world.user("a", Role.SYSADMIN))
        assert client.get(DAYS).status_code == 200
        assert client.get(YEARS).status_code == 200
        with nothing_written():
            response = client.post(f"{DAYS}add/", {"date": "2027-01-01", "name": "元旦",
                                                   "reason": NOTICE})
        assert response.status_code == 403

    def test_a_division_sysadmin_may_change(self, city_sysadmin, client_for):
        client = client_for(city_sysadmin)
        response = client.post(f"{DAYS}add/", {"date": "2027-01-01", "name": "元旦",
                                               "reason": NOTICE})
        assert response.status_code == 302

    def test_reviewers_do_not_get_in(self, world, client_for):
        client = client_for(world.user("a", Role.REVIEWER))
        for url in (DAYS, YEARS, f"{DAYS}add/"):
            response = client.get(url)
            assert response.status_code in {302, 403}, url
            if response.status_code == 302:
                assert "/login/" in response["Location"]
