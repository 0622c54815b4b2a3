"""The admin pages of the calendar: writes go through the services."""

import datetime as dt
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from tests.workdays.writes import nothing_written
from yizhan.audit.models import AuditRecord
from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role
from yizhan.workdays import permissions
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

    def test_the_weekday_column_is_in_english_on_an_english_page(self, world, client_for):
        """节假日调整 in English lists 1 January 2026 (a Thursday) with its weekday
        in English (Django's abbreviations), not a Chinese character."""
        client = client_for(world.admin)
        html = client.get(f"{DAYS}?date__year=2026",
                          HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Weekday" in html                       # the page is in English
        row = html.split('id="result_list"')[1].split("</tr>")[1]
        cells = [re.sub(r"<[^>]+>", "", cell).strip()
                 for cell in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", row, flags=re.S)]
        assert "Jan. 1, 2026" in cells, cells
        assert "Thu" in cells and "四" not in cells, cells

    def test_the_calendar_reminder_leads_its_reader_to_a_page_they_may_open(
            self, world, client_for, monkeypatch):
        """A district's system administrator (a division grant: a calendar
        administrator) is reminded on the workbench in December that 2027 is
        missing, with a link to enter it.  The district has no agency yet: the
        admin site lets them in all the same, and lists no agency's rows."""
        officer = world.user("a", Role.REVIEWER)
        directory_services.scope_grant_create(actor=world.admin, user=officer,
                                              role=Role.SYSADMIN, division=world.district,
                                              reason="区政务办维护工作日历")
        officer = type(officer).objects.get(pk=officer.pk)
        assert permissions.calendar_day_set(officer)
        monkeypatch.setattr(timezone, "now", lambda: dt.datetime(
            2026, 12, 5, 10, tzinfo=timezone.get_default_timezone()))
        client = client_for(officer)
        page = client.get("/workbench/").content.decode()
        assert 'data-testid="workdays-notice"' in page
        link = re.search(r'href="(/admin/workdays/calendarday/add/)"', page).group(1)
        response = client.get(link)
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        posts = client.get("/admin/directory/post/")
        assert posts.status_code == 200
        assert posts.context["cl"].result_count == 0
