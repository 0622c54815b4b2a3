"""What every page says of the site, the home page's departments, and setting
up: the demo city and what a fresh machine needs for ``make run``."""

import io
import re
from pathlib import Path

import lxml.html
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.catalog.helpers import published
from yizhan import demo
from yizhan.catalog import selectors
from yizhan.directory.models import Agency, Division
from yizhan.portal import views

REPO = Path(__file__).resolve().parents[2]
FICTITIOUS = "本平台为开源软件一站（Yizhan）的演示部署，所有机构与人员均为虚构。"


@pytest.fixture
def city(db):
    demo.load(out=lambda *args: None)


def _footer(client=None) -> str:
    page = lxml.html.fromstring((client or Client()).get("/").content.decode())
    return " ".join(page.xpath("//footer")[0].text_content().split())


# --- the footer -------------------------------------------------------------------


def test_an_installation_is_not_told_it_is_a_fictitious_demo(db, settings):
    """A city installing the platform (without the demo city, which the test
    world imitates) was shown, on every page, 示范市's offices as 主办 and 承办
    and a note that every agency and person is fictitious: it names no office
    until it sets its own."""
    settings.YIZHAN_SITE_NAME = "某市政务服务网"
    assert _footer() == "某市政务服务网"


def test_the_footer_names_the_offices_the_installation_sets(db, settings):
    settings.YIZHAN_SITE_NAME = "某市政务服务网"
    settings.YIZHAN_SITE_OWNER = "某市人民政府办公室"
    settings.YIZHAN_SITE_OPERATOR = "某市政务服务数据管理局"
    assert _footer() == "某市政务服务网 · 主办：某市人民政府办公室 · 承办：某市政务服务数据管理局"
    settings.YIZHAN_SITE_OPERATOR = ""
    assert _footer() == "某市政务服务网 · 主办：某市人民政府办公室"


def test_the_demo_city_says_it_is_fictitious_and_names_its_own_offices(city, settings):
    """Loaded in this process after a page was shown: the next page knows."""
    footer = _footer()
    assert f"主办：{demo.SITE_OWNER} · 承办：{demo.SITE_OPERATOR}" in footer
    assert footer.endswith(FICTITIOUS)
    settings.YIZHAN_SITE_OWNER = "某市人民政府办公室"
    footer = _footer()
    assert f"主办：某市人民政府办公室 · 承办：{demo.SITE_OPERATOR}" in footer
    assert footer.endswith(FICTITIOUS)


def test_a_page_shown_before_the_demo_is_loaded_does_not_hide_it_after(db):
    assert FICTITIOUS not in _footer()
    demo.load(out=lambda *args: None)
    assert FICTITIOUS in _footer()


def test_whether_the_demo_is_loaded_is_asked_once_a_minute_not_once_a_page(db, monkeypatch):
    """A server learns of a demo loaded by another process within a minute;
    in between, its pages cost no query for it."""
    now = [1000.0]
    asked = []
    monkeypatch.setattr(demo, "_monotonic", lambda: now[0])
    monkeypatch.setattr(demo, "is_loaded", lambda: asked.append(now[0]) or len(asked) > 1)
    client = Client()
    assert FICTITIOUS not in _footer(client)
    now[0] += demo.LOADED_CHECK_SECONDS - 1
    assert FICTITIOUS not in _footer(client)
    assert asked == [1000.0]
    now[0] += 1
    assert FICTITIOUS in _footer(client)
    assert len(asked) == 2


# --- the home page's departments --------------------------------------------------------


def test_a_department_with_items_is_a_link_to_them(world, client):
    published(world, "甲事项")
    page = lxml.html.fromstring(client.get("/").content)
    grid = page.xpath("//ul[@class='agency-grid']")[0]
    links = {a.text_content(): a.get("href") for a in grid.xpath(".//a")}
    assert links == {"甲局": f"{reverse('catalog:search')}?agency={world.agency_a.pk}"}
    assert "乙局" in grid.text_content()
    assert page.xpath("//a[text()='全部部门']/@href") == [f"{reverse('catalog:index')}#by-agency"]


def test_the_departments_the_home_page_leaves_out_are_a_click_away(world, client,
                                                                   monkeypatch):
    """The home page lists the first 40 top-level agencies: the demo's 43 were
    cut with no "more" link.  全部部门 leads to the catalog's list by department,
    where a department left out is found with its items."""
    monkeypatch.setattr(views, "HOME_AGENCIES", 1)
    published(world, "乙事项", key="b")
    page = lxml.html.fromstring(client.get("/").content)
    assert [li.text_content() for li in page.xpath("//ul[@class='agency-grid']/li")] == ["甲局"]
    more = page.xpath("//a[text()='全部部门']/@href")
    assert more == [f"{reverse('catalog:index')}#by-agency"]
    index = lxml.html.fromstring(client.get(more[0]).content)
    assert index.xpath("//ul[@class='agency-grid']//a[text()='乙局']/@href") == [
        f"{reverse('catalog:search')}?agency={world.agency_b.pk}"]


def test_the_demo_citys_departments_link_to_their_items_at_one_query(city):
    """Whichever of the demo's agencies have items are links, for one query."""
    with CaptureQueriesContext(connection) as queries:
        page = lxml.html.fromstring(Client().get("/").content)
    assert sum("catalog_itemversion" in q["sql"] for q in queries.captured_queries) == 1
    rows = page.xpath("//ul[@class='agency-grid']/li")
    assert len(rows) == views.HOME_AGENCIES
    links = {li.text_content(): li.xpath("a/@href") for li in rows}
    counts = selectors.item_counts_by_agency()
    for agency in Agency.objects.filter(name__in=links):
        expected = [f"/services/search/?agency={agency.pk}"] if agency.pk in counts else []
        assert links[agency.name] == expected, agency.name
    assert links["示范市市场监督管理局"] and not links["示范市人民政府"]


# --- the demo city ---------------------------------------------------------------------


def test_loading_the_demo_city_without_debug_is_refused(db, settings):
    """Its administrators and some 200 staff all have the password the README
    prints: a production install loading it would be anyone's."""
    settings.DEBUG = False
    with pytest.raises(CommandError) as refused:
        call_command("demo", stdout=io.StringIO())
    assert "拒绝加载示范市" in str(refused.value)
    assert "Pass --allow-production to load it here all the same." in str(refused.value)
    assert not Division.objects.exists()


@pytest.mark.parametrize(("debug", "args"), [(True, []), (False, ["--allow-production"])])
def test_the_demo_city_loads_in_debug_mode_or_when_allowed(db, settings, debug, args):
    settings.DEBUG = debug
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    assert demo.is_loaded()
    assert f"password {demo.DEMO_PASSWORD}" in out.getvalue()


def test_make_run_loads_the_demo_in_debug_mode():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^RUN_ENV := YIZHAN_DEBUG=1$", makefile, re.MULTILINE)
    assert "$(RUN_ENV) $(BIN)/yizhan demo\n" in makefile


# --- what a fresh machine needs ----------------------------------------------------------


def test_the_readme_names_what_a_fresh_debian_needs_for_make_run():
    """``make run`` runs ``python3 -m venv``, which fails on Debian ("ensurepip
    is not available") until python3-venv is installed; the README said only
    Python 3.11 and make were needed, and make did not say what was missing."""
    install = "apt-get install python3 python3-venv make"
    assert install in (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert makefile.index("import ensurepip") < makefile.index("-m venv $(VENV)")
    assert install in makefile
