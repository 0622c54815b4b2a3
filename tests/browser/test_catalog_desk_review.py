"""The catalog desk's version page as a reviewer uses it: the versions of the
item, and a refused withdrawal coming back with what was typed."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import _check
from tests.catalog.helpers import editor, published, reviewer
from tests.factories import PASSWORD
from yizhan.catalog import services

pytestmark = pytest.mark.browser

TYPED = "根据市政府第12次常务会议纪要暂停办理本事项，待新规定出台后恢复"


def test_a_refused_withdrawal_comes_back_as_typed_with_its_message_at_the_field(
        page: Page, site, sign_in):
    v1 = published(site.world)
    v2 = services.item_version_draft(actor=editor(site.world), item=v1.item)
    sign_in(reviewer(site.world).username, PASSWORD)
    page.goto(reverse("catalog:desk_version", args=[v2.pk]))
    _check(page)
    page.get_by_test_id("versions").get_by_role("link", name="v1", exact=True).click()
    expect(page).to_have_url(re.compile(reverse("catalog:desk_version", args=[v1.pk]) + "$"))
    _check(page)

    page.get_by_test_id("kind-suspended").check()
    reason = page.get_by_label("依据（决定名称和文号）")
    reason.fill(TYPED)
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.get_by_test_id("withdraw").click()
    assert answered.value.status == 400
    expect(reason).to_have_value(TYPED)
    expect(page.get_by_test_id("kind-suspended")).to_be_checked()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description(re.compile("文号"))
    _check(page)
