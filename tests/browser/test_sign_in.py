"""Staff sign in to the workbench and out again; a refusal is explained."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_staff_sign_in_lands_on_workbench_and_sign_out_returns(page: Page, site, sign_in):
    """A reviewer reaches 工作台; signing out leaves the portal signed out."""
    reviewer = site.world.user("a", "reviewer")
    page.goto("/")
    page.get_by_test_id("sign-in-link").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))

    sign_in(reviewer.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/workbench/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("工作台")
    nav = page.get_by_role("navigation", name="主导航")
    workbench = nav.get_by_role("link", name="工作台", exact=True)
    expect(workbench).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("main")).to_contain_text("甲局")
    expect(page.get_by_test_id("sign-in-link")).to_have_count(0)

    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text("您已安全退出。")
    expect(page.get_by_test_id("sign-in-link")).to_be_visible()
    expect(page.get_by_test_id("sign-out")).to_have_count(0)
    expect(workbench).to_have_count(0)

    # The workbench is closed again: it asks for a sign-in.
    page.goto("/workbench/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/workbench/$"))


def test_refused_sign_in_stays_on_login_with_a_clear_message(page: Page, site, sign_in):
    """A wrong password is refused in plain Chinese, on the login page."""
    sign_in(site.world.user("a", "reviewer").username, PASSWORD + "x")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("用户名或密码错误")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    expect(page.get_by_test_id("sign-out")).to_have_count(0)
    # The username is kept for a second try; the password is not.
    expect(page.get_by_label("用户名")).to_have_value("a.reviewer")
    expect(page.get_by_label("密码")).to_have_value("")


def test_sign_in_returns_to_the_page_asked_for(page: Page, site):
    """Following a link to the workbench signs in and comes back to it."""
    page.goto("/workbench/agency/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_label("用户名").fill(site.world.user("b", "agency_head").username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/workbench/agency/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("本机关")
    expect(page.get_by_role("main")).to_contain_text("乙局")
