"""Catalog pages: browsing, search and the guide (public); the catalog desk (staff)."""

import json
import re

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone, translation
from django.utils.translation import pgettext

from tests.catalog.helpers import (
    attach,
    create,
    digest,
    editor,
    nothing_written,
    pdf_bytes,
    provincial_agency,
    publish,
    published,
    reviewer,
    workbook_bytes,
)
from tests.factories import item_content
from yizhan.accounts.models import User
from yizhan.bpmn.templates import template_xml
from yizhan.catalog import services, transfer
from yizhan.catalog.models import Item, ItemVersion
from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role


@pytest.fixture
def guide_item(world):
    return published(
        world, "食品经营许可证核发", basic_code="XK04101000",
        legal_basis="《中华人民共和国食品安全法》第三十五条",
        acceptance_conditions="在本市开餐馆、饭店等，具有与经营的食品品种相适应的场所",
        materials=[{"name": "食品经营许可申请书", "forms": ["original", "electronic"]},
                   {"name": "授权委托书", "necessity": "conditional",
                    "condition": "委托他人代为办理的", "forms": ["original"]}],
        fees=[{"name": "证书工本费", "standard": "每证 10 元", "amount": "10",
               "basis": "某收费文件"}],
        limit_notes="现场核查时间不计入", consultation="0755-25831200；12345",
        special_procedures=["inspection", "hearing"])


def test_the_services_page_lists_themes_and_agencies_with_items(world, guide_item):
    create(world, "只有草稿", key="b")
    page = Client().get("/services/")
    assert page.status_code == 200
    text = page.content.decode()
    for theme in ("生育收养", "婚姻登记", "准营准办", "工程建设"):
        assert theme in text
    assert "?theme=permits" in text
    assert f"?agency={world.agency_a.pk}" in text
    assert f"?agency={world.agency_b.pk}" not in text


def test_search_page_shows_results_and_says_when_there_are_none(guide_item):
    page = Client().get("/services/search/", {"q": "食品经营"}).content.decode()
    assert "食品经营许可证核发" in page
    assert f"/services/items/{guide_item.item.impl_code}/" in page
    assert "找到 1 个事项" in page
    page = Client().get("/services/search/", {"q": "开餐馆"}).content.decode()
    assert "食品经营许可证核发" in page
    empty = Client().get("/services/search/", {"q": "宇宙飞船"}).content.decode()
    assert "没有找到相关事项" in empty


def test_search_page_filters_by_theme_and_agency(world, guide_item):
    by_theme = Client().get("/services/search/", {"theme": "permits"}).content.decode()
    assert "<h1>准营准办</h1>" in by_theme
    assert "食品经营许可证核发" in by_theme
    assert "找到 0 个事项" in Client().get("/services/search/",
                                          {"theme": "marriage"}).content.decode()
    by_agency = Client().get("/services/search/", {"agency": world.agency_b.pk}).content.decode()
    assert "<h1>乙局</h1>" in by_agency
    assert "找到 0 个事项" in by_agency
    unknown_theme = Client().get("/services/search/", {"theme": "nonsense"})
    assert unknown_theme.status_code == 200
    assert "食品经营许可证核发" in unknown_theme.content.decode()


def test_the_page_of_an_agency_that_does_not_exist_is_404(world, guide_item):
    """?agency= naming no agency is a department page that does not exist, not
    the whole catalog under no heading (a value that is no id is ignored, below)."""
    assert Client().get("/services/search/", {"agency": "999999"}).status_code == 404


def test_the_guide_shows_everything_an_applicant_needs(guide_item):
    page = Client().get(f"/services/items/{guide_item.item.impl_code}/")
    assert page.status_code == 200
    text = page.content.decode()
    for expected in ("食品经营许可证核发", guide_item.item.impl_code, "XK04101000", "行政许可",
                     "《中华人民共和国食品安全法》第三十五条", "食品经营许可申请书",
                     "原件、电子件", "授权委托书", "委托他人代为办理的", "证书工本费",
                     "每证 10 元", "20 个工作日", "10 个工作日", "现场核查时间不计入",
                     "承诺件", "0755-25831200", "现场勘验、听证", "?print=1"):
        assert expected in text, expected
    assert "inspection" not in text


def test_the_guide_links_the_blank_forms_samples_and_result_sample(world):
    """Stored and exported, but once shown nowhere to the applicant."""
    version = published(
        world, materials=[{"name": "申请书", "blank_form": "/media/blank.docx",
                           "sample": "https://example.gov.cn/sample.pdf"},
                          {"name": "身份证", "sample": "窗口领取"},
                          {"name": "委托书", "blank_form": "javascript:alert(1)"}],
        result_sample="/media/result.pdf")
    text = Client().get(f"/services/items/{version.item.impl_code}/").content.decode()
    for link in ("/media/blank.docx", "https://example.gov.cn/sample.pdf", "/media/result.pdf"):
        assert f'href="{link}"' in text, link
    assert "窗口领取" in text
    # Free text an editor typed: shown, never made a link.
    assert 'href="javascript' not in text
    assert "javascript:alert(1)" in text


def test_the_guide_without_fees_says_it_is_free(world):
    version = published(world, "免费事项")
    assert "不收费。" in Client().get(f"/services/items/{version.item.impl_code}/").content.decode()


def _main_text(response) -> str:
    """The visible text of a page's <main>, spaces collapsed."""
    root = lxml.html.fromstring(response.content.decode())
    main = root.find(".//main")
    return " ".join((main if main is not None else root).text_content().split())


# --- what the national guide standard asks for (办理地点, 办理时间, 减免依据) ---------------


def test_the_guide_says_on_what_grounds_a_waivable_fee_is_reduced_or_waived(world):
    """A fee is 可减免 是 with no word of who is exempt or by which rule: the
    implementation-list standard has 允许减免依据 beside 是否允许减免.  (The demo
    squeezed it into 收费依据: 小微企业免收，见……财税〔2016〕79号.)"""
    version = published(world, "不动产转移登记", basic_code="QR00101000", fees=[{
        "name": "不动产登记费（住宅类）", "standard": "每件 80 元", "amount": "80",
        "basis": "发改价格规〔2016〕2559号", "waivable": True,
        "waiver_basis": "小微企业免收：财税〔2016〕79号"}])

    text = _main_text(Client().get(f"/services/items/{version.item.impl_code}/"))

    assert "小微企业免收" in text


def test_the_guide_says_where_and_when_to_apply_in_person(world):
    """办理地点 and 办理时间 are elements of every guide (an older citizen goes to
    the window): the item had no such fields, so the demo wrote them into 咨询方式."""
    version = published(world, "内地居民结婚登记", basic_code="QR00101000",
                        handling_place="示范市民政局婚姻登记处（市民中心A区2楼）",
                        handling_hours="工作日 9:00—12:00，14:00—17:30")

    text = _main_text(Client().get(f"/services/items/{version.item.impl_code}/"))

    assert "婚姻登记处（市民中心A区2楼）" in text
    assert "14:00—17:30" in text


def test_the_place_hours_and_waiver_grounds_are_labelled_on_the_guide_and_its_print(world):
    """Each under its own label; the grounds in a column of the fee table, which a
    phone stacks under its label like the others, and a fee never waived has none."""
    version = published(
        world, "不动产转移登记", basic_code="QR00101000",
        handling_place="市民中心C区", handling_hours="工作日 9:00—18:00",
        fees=[{"name": "登记费", "standard": "每件 550 元", "basis": "发改价格规〔2016〕2559号",
               "waivable": True, "waiver_basis": "小微企业免收：财税〔2016〕79号"},
              {"name": "工本费", "standard": "每本 10 元", "basis": "发改价格规〔2016〕2559号"}])
    for params in ({}, {"print": "1"}):
        root = lxml.html.fromstring(Client().get(
            f"/services/items/{version.item.impl_code}/", params).content.decode())
        facts = {dt.text_content(): dt.getnext().text_content()
                 for dt in root.xpath('//dl[contains(@class, "guide")]/dt')}
        assert (facts["办理地点"], facts["办理时间"]) == ("市民中心C区", "工作日 9:00—18:00")
        [table] = [t for t in root.xpath("//table[contains(@class, 'stacked')]")
                   if "减免依据" in t.xpath("string(thead)")]
        waived, charged = table.xpath("tbody/tr")
        assert [td.get("data-label") for td in waived.xpath("td")][-2:] == ["可减免", "减免依据"]
        assert waived.xpath("td")[-1].text_content() == "小微企业免收：财税〔2016〕79号"
        assert charged.xpath("td")[-1].text_content() == ""
        assert charged.xpath("td")[-1].get("data-label") is None


def test_the_guide_shows_the_result_type_without_a_result_name(world):
    """审批结果类型 (证照, 批文, 其他) is an element of the guide of its own: given
    without the result's name, it was left out with it."""
    alone = published(world, "只有结果类型", result_type="批文")
    both = published(world, "有结果名称", basic_code="XK00102000",
                     result_name="食品经营许可证", result_type="证照")
    neither = published(world, "没有结果", basic_code="XK00103000")
    for version, expected in ((alone, "批文"), (both, "食品经营许可证（证照）"),
                              (neither, None)):
        for params in ({}, {"print": "1"}):
            root = lxml.html.fromstring(Client().get(
                f"/services/items/{version.item.impl_code}/", params).content.decode())
            facts = {dt.text_content(): dt.getnext().text_content()
                     for dt in root.xpath('//dl[contains(@class, "guide")]/dt')}
            assert facts.get("审批结果") == expected, (version.name, params)


def test_a_guide_without_a_place_or_hours_leaves_them_out(world):
    version = published(world, "网上办事项")
    text = _main_text(Client().get(f"/services/items/{version.item.impl_code}/"))
    assert "办理地点" not in text and "办理时间" not in text


def test_the_printable_guide_is_a_page_of_its_own(guide_item):
    code = guide_item.item.impl_code
    page = Client().get(f"/services/items/{code}/", {"print": "1"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "portal/print.css" in text
    assert "main-nav" not in text
    assert "食品经营许可申请书" in text
    assert "证书工本费" in text
    assert f"{code} · v1" in text


@override_settings(YIZHAN_PUBLIC_URL="https://zwfw.example.gov.cn/")
def test_the_printable_guide_prints_where_each_file_and_link_leads(world):
    """On paper a link is its text only: the printable view prints after each
    downloadable file, and each form linked elsewhere or on this site, its
    address as the public knows it (never the request's host), the Chinese
    file name as characters; the guide page itself does not."""
    version = create(world, "社会团体成立登记", basic_code="XK00101000", materials=[
        {"name": "申请书", "forms": ["original"]},
        {"name": "章程草案", "forms": ["original"],
         "blank_form": "https://forms.example.org/org-charter.pdf",
         "sample": "/static/portal/charter-sample.pdf"}])
    content = pdf_bytes("print")
    attach(world, version, content, name="申请书（2026版）.pdf")
    publish(world, version)
    code = version.item.impl_code

    printed = lxml.html.fromstring(
        Client().get(f"/services/items/{code}/", {"print": "1"}).content.decode())
    page = Client().get(f"/services/items/{code}/").content.decode()

    addresses = [e.text_content() for e in printed.xpath('//*[@class="address"]')]
    assert addresses == [
        f"https://zwfw.example.gov.cn/services/files/{digest(content)}/申请书（2026版）.pdf",
        "https://forms.example.org/org-charter.pdf",
        "https://zwfw.example.gov.cn/static/portal/charter-sample.pdf"]
    assert 'class="address"' not in page


def test_the_printable_guide_keeps_large_text(world):
    """An elderly user in large-text mode opens 打印版: the page kept the mode only
    on the standard guide and showed 11pt text (14.7 px, smaller even than the
    standard page); print.css enlarges it on screen (html.large-text)."""
    version = published(world, "食品经营许可证核发", basic_code="XK04101000")
    client = Client()
    client.cookies["yz_display"] = "large"
    large = re.compile(r'<html[^>]*class="[^"]*\blarge-text\b')
    for params in ({}, {"print": "1"}):
        page = client.get(f"/services/items/{version.item.impl_code}/", params)
        assert large.search(page.content.decode()), params
    standard = Client().get(f"/services/items/{version.item.impl_code}/", {"print": "1"})
    assert not large.search(standard.content.decode())


def _prewrapped(text: str, value: str) -> bool:
    """Whether ``value`` is shown in an element of class prewrap (or within one)."""
    doc = lxml.html.fromstring(text)
    found = [el for el in doc.iter() if value in "".join(el.itertext())
             and not any(value in "".join(child.itertext()) for child in el)]
    assert found, value
    return all(any("prewrap" in (up.get("class") or "").split()
                   for up in (el, *el.iterancestors())) for el in found)


def test_multi_line_fields_keep_their_lines(world):
    """Text typed on several lines (an Excel cell with Alt+Enter, the API) ran
    together — 咨询：窗口：市民中心B区 电话：0755-1234 — where the legal basis and the
    process kept their lines."""
    multi = {"consultation": "窗口：市民中心B区\n电话：0755-1234",
             "complaint": "窗口：投诉台\n电话：12345",
             "limit_notes": "现场核查时间不计入\n专家评审时间不计入",
             "materials": [{"name": "申请书", "forms": ["original"],
                            "basis": "某办法第一条\n某办法第二条",
                            "acceptance_standard": "内容完整\n签字盖章"}],
             "handling_place": "市民中心A区2楼\n各区行政服务中心",
             "handling_hours": "工作日 9:00—18:00\n周六 9:00—12:00",
             "fees": [{"name": "工本费", "standard": "每证 10 元", "amount": "10",
                       "basis": "某收费文件\n某补充通知", "waivable": True,
                       "waiver_basis": "低保对象免收\n见某补充通知"}]}
    version = published(world, "食品经营许可证核发", basic_code="XK04101000", **multi)
    text = Client().get(f"/services/items/{version.item.impl_code}/").content.decode()
    values = [multi["consultation"], multi["complaint"], multi["limit_notes"],
              multi["materials"][0]["basis"], multi["materials"][0]["acceptance_standard"],
              multi["fees"][0]["basis"], multi["handling_place"], multi["handling_hours"],
              multi["fees"][0]["waiver_basis"]]
    for value in values:
        assert _prewrapped(text, value), value


def test_an_immediate_item_is_done_on_the_spot_not_in_0_working_days(world):
    """即办件 (limit 0): the guide and the search said 承诺 0 个工作日."""
    version = published(world, "个体户名称查询", basic_code="XK04102000",
                        case_type="immediate", process_template="immediate",
                        statutory_limit=0, promised_limit=0)
    guide = Client().get(f"/services/items/{version.item.impl_code}/").content.decode()
    found = Client().get("/services/search/", {"q": "个体户名称查询"}).content.decode()
    for text in (guide, found):
        assert "当场办结" in text and "0 个工作日" not in text


def test_english_guide_says_one_working_day_and_a_space_after_each_label(world):
    """“1 working days”, and “Questions:0755-1234”, “Legal basis:某办法”.

    Needs the English catalog's entries: the plural of “%(n)s 个工作日” and
    “承诺 %(n)s 个工作日”, and 咨询：/投诉：/依据： translated with a space after
    the colon, as 空白表格： is (“Blank form: ”)."""
    version = published(world, "食品经营许可证核发", basic_code="XK04101000",
                        statutory_limit=2, promised_limit=1, consultation="0755-1234",
                        complaint="0755-5678",
                        materials=[{"name": "申请书", "forms": ["original"],
                                    "basis": "某办法"}])
    client = Client(headers={"accept-language": "en"})
    guide = client.get(f"/services/items/{version.item.impl_code}/").content.decode()
    found = client.get("/services/search/", {"q": "食品经营"}).content.decode()
    assert "1 working days" not in guide and "1 working days" not in found
    assert "1 working day" in guide and "2 working days" in guide
    assert "1 working day" in found
    shown = re.sub(r"<[^>]+>", "", guide)
    for label in ("Questions: 0755-1234", "Complaints: 0755-5678", "Legal basis: 某办法"):
        assert label in shown, label


def test_the_english_guide_heads_the_list_of_materials_in_the_plural(world):
    """申请材料 heads a list of several documents: its heading has a context of
    its own, apart from the model's verbose name (one "Application document")."""
    version = published(world, "测试事项", materials=[
        {"name": "申请书", "forms": ["original"]}, {"name": "身份证明", "forms": ["copy"]}])
    client = Client()
    client.cookies["django_language"] = "en"
    root = lxml.html.fromstring(
        client.get(f"/services/items/{version.item.impl_code}/").content.decode())

    headings = [h.text_content().strip() for h in root.xpath("//main//h2")]

    assert "Application document" not in headings
    with translation.override("en"):
        assert headings[2] == pgettext("guide heading", "申请材料")


def test_unknown_and_unpublished_items_are_404(world):
    draft = create(world)
    for code in ("XK00000000", draft.item.impl_code):
        assert Client().get(f"/services/items/{code}/").status_code == 404


# --- the catalog desk -------------------------------------------------------------


def test_the_desk_needs_sign_in(world):
    response = Client().get("/workbench/catalog/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/workbench/catalog/"


def test_the_desk_lists_the_editor_s_agency_items_only(world, client_for):
    create(world, "甲的事项")
    create(world, "乙的事项", key="b")
    page = client_for(editor(world)).get("/workbench/catalog/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "甲的事项" in text
    assert "乙的事项" not in text
    assert 'enctype="multipart/form-data"' in text


def _also_a_window_clerk_of_b(world):
    """A's head, who also holds a window post in B (no editing role there)."""
    head = editor(world)
    directory_services.staff_post(actor=world.admin, user=head,
                                  post=world.posts["b"][Role.WINDOW_CLERK])
    return User.objects.get(pk=head.pk)


def test_the_desk_lists_only_the_items_one_may_edit(world, client_for):
    """Not every agency one holds a post in: B's items, which the head may not edit,
    were listed beside A's."""
    create(world, "乙局的事项", key="b")
    create(world, "甲局的事项")
    text = client_for(_also_a_window_clerk_of_b(world)).get("/workbench/catalog/").content.decode()
    assert "甲局的事项" in text and "乙局的事项" not in text


def test_the_desk_export_of_someone_also_posted_elsewhere_imports_back(world, client_for):
    """B's items were exported too, and importing that very export back was refused
    whole (PermissionDenied for B's row)."""
    published(world, "乙事项", key="b")
    published(world, "甲事项", basic_code="XK00102000")
    head = _also_a_window_clerk_of_b(world)
    exported = client_for(head).get("/workbench/catalog/export/")
    assert exported.status_code == 200
    records = transfer.read_upload("catalog.xlsx", exported.content)
    assert [r.data["name"] for r in records] == ["甲事项"]
    result = transfer.catalog_import(actor=head, records=records, source="catalog.xlsx")
    assert len(result.unchanged) == 1


def test_a_draft_is_opened_only_by_the_editors_of_its_agency(world, client_for):
    """By its address too, on the desk and through the API: a head of A who is a
    window clerk of B, or a window clerk of A with an API session, read B's (A's)
    unpublished drafts, process included, since any post that saw the agency would
    do."""
    draft_b = create(world, "乙局的草稿", key="b")
    draft_a = create(world, "甲局的草稿")
    head = client_for(_also_a_window_clerk_of_b(world))
    assert head.get(f"/workbench/catalog/versions/{draft_b.pk}/").status_code == 404
    assert head.get(f"/api/v1/catalog/versions/{draft_b.pk}").status_code == 404
    assert head.get(f"/workbench/catalog/versions/{draft_a.pk}/").status_code == 200
    clerk = client_for(world.user("a", "window_clerk"))
    assert clerk.get(f"/api/v1/catalog/versions/{draft_a.pk}").status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "window_clerk"])
def test_the_desk_is_closed_to_staff_who_edit_no_items(world, client_for, role):
    assert client_for(world.user("a", role)).get("/workbench/catalog/").status_code == 403
    assert client_for(world.citizen).get("/workbench/catalog/").status_code == 403


def test_a_draft_shows_submit_to_its_editor_and_no_publish(world, client_for):
    version = create(world)
    text = client_for(editor(world)).get(
        f"/workbench/catalog/versions/{version.pk}/").content.decode()
    assert "提交审核" in text
    assert 'data-testid="publish"' not in text


def test_a_pending_version_shows_the_publish_button_to_a_reviewer_only(world, client_for):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    url = f"/workbench/catalog/versions/{version.pk}/"
    assert 'data-testid="publish"' in client_for(reviewer(world)).get(url).content.decode()
    assert 'data-testid="publish"' not in client_for(editor(world)).get(url).content.decode()
    assert client_for(editor(world, "b")).get(url).status_code == 404


def _review_page(world, client_for, **content) -> lxml.html.HtmlElement:
    """The reviewer's page of a pending version, the one with 审核通过并发布."""
    version = create(world, "食品经营许可证核发", **content)
    services.item_version_submit(actor=editor(world), version=version)
    page = client_for(reviewer(world)).get(f"/workbench/catalog/versions/{version.pk}/")
    assert page.status_code == 200 and 'data-testid="publish"' in page.content.decode()
    return lxml.html.fromstring(page.content.decode())


def _rows(table) -> list[list[str]]:
    return [[" ".join(cell.text_content().split()) for cell in row.xpath("th|td")]
            for row in table.xpath("tbody/tr")]


def test_the_reviewer_sees_the_application_form_they_publish(world, client_for):
    """Every applicant answers its fields, and the process's conditions read them,
    yet the public guide does not show them: the page the reviewer publishes
    from lists each field, a table in its own scrolling box for phones."""
    fields = [{"name": "area", "label": "经营场所面积", "type": "number", "required": True},
              {"name": "kind", "label": "经营类别", "type": "choice", "required": False,
               "choices": ["餐饮", "零售"]}]
    page = _review_page(world, client_for, form_fields=fields)
    table = page.xpath('//table[@data-testid="form-fields"]')[0]
    assert table.xpath("caption")[0].text_content() == "申请表字段"
    assert [th.text_content() for th in table.xpath("thead//th")] == [
        "字段名称", "显示名称", "类型", "必填", "选项"]
    assert _rows(table) == [["area", "经营场所面积", "数字", "是", ""],
                            ["kind", "经营类别", "选择", "否", "餐饮、零售"]]
    assert "table-scroll" in table.getparent().get("class")


def test_the_reviewer_sees_the_process_they_publish(world, client_for):
    """Which process every case of the version follows, and who does each step:
    the agencies its lanes give the steps to, in the order a case reaches them."""
    page = _review_page(world, client_for)
    assert page.xpath('//*[@data-testid="process-template"]')[0].text_content() == "承诺件流程"
    page = _review_page(world, client_for, basic_code="XK00102000",
                        process_template="parallel", joint_agencies=["乙局"])
    assert page.xpath('//*[@data-testid="process-template"]')[0].text_content() == "并联审批流程"
    steps = _rows(page.xpath('//table[@data-testid="process-steps"]')[0])
    assert steps[0] == ["受理 accept", "甲局（实施机关）", "窗口受理员"]
    assert ["会同审查 joint_review", "乙局（联办机关）", "审查员"] in steps
    assert not page.xpath('//*[@data-testid="process-xml"]')


def test_the_reviewer_reads_an_uploaded_process_as_its_steps_and_its_file(world, client_for):
    """A custom process is shown as the agencies its lanes name, with the BPMN
    itself at hand (folded: a file hundreds of lines long)."""
    xml = template_xml("upper_review").decode()
    upper = provincial_agency(world)
    page = _review_page(world, client_for, process_template="custom", process_xml=xml,
                        upper_agency=upper.name)
    assert page.xpath('//*[@data-testid="process-template"]')[0].text_content() == "自定义流程"
    lanes = [row[1] for row in _rows(page.xpath('//table[@data-testid="process-steps"]')[0])]
    assert f"{upper.name}（上级审批机关）" in lanes
    details = page.xpath('//details[@data-testid="process-xml"]')[0]
    assert details.xpath("summary")[0].text_content() == "自定义流程 BPMN"
    assert details.xpath(".//code")[0].text_content() == xml.strip()


def test_the_review_page_says_why_a_process_could_not_be_published(world, client_for):
    """An agency an uploaded lane names closed after submission: the page still
    opens, and says what publication would refuse."""
    xml = template_xml("upper_review").decode().replace("$upper/", "乙局/")
    version = create(world, process_template="custom", process_xml=xml)
    services.item_version_submit(actor=editor(world), version=version)
    directory_services.agency_update(actor=world.admin, agency=world.agency_b, is_active=False)
    page = client_for(reviewer(world)).get(f"/workbench/catalog/versions/{version.pk}/")
    assert page.status_code == 200
    alert = lxml.html.fromstring(page.content.decode()).xpath(
        '//section[@id="process"]//*[@role="alert"]')[0].text_content()
    assert "“乙局”不能使用：该机关已停用" in alert


def test_the_public_guide_leaves_the_form_and_the_process_to_the_desk(world):
    version = published(world, form_fields=[{"name": "area", "label": "经营场所面积",
                                            "type": "number", "required": True}])
    text = Client().get(f"/services/items/{version.item.impl_code}/").content.decode()
    assert 'data-testid="form-fields"' not in text and 'data-testid="process-steps"' not in text


def test_publishing_from_the_desk(world, client_for):
    version = create(world)
    client = client_for(editor(world))
    response = client.post(f"/workbench/catalog/versions/{version.pk}/submit/")
    assert response.status_code == 302
    response = client_for(reviewer(world)).post(
        f"/workbench/catalog/versions/{version.pk}/publish/", {"note": "同意"}, follow=True)
    assert "已发布。" in response.content.decode()
    version.refresh_from_db()
    assert (version.status, version.review_note) == ("published", "同意")
    response = client.post(f"/workbench/catalog/versions/{version.pk}/draft/")
    new = ItemVersion.objects.get(item=version.item, number=2)
    assert response["Location"] == f"/workbench/catalog/versions/{new.pk}/"


def _desk(version) -> str:
    return f"/workbench/catalog/versions/{version.pk}/"


def _form(page_html: str, action_suffix: str):
    doc = lxml.html.fromstring(page_html)
    return next(f for f in doc.forms if (f.action or "").endswith(action_suffix))


def test_a_reviewer_publishes_only_the_content_their_page_showed(world, client_for):
    """Reviewer 1 opens a pending version (旧名称). Meanwhile a colleague returns it,
    the editor rewrites it (新名称) and submits it again. Reviewer 1 then presses
    审核通过并发布 on the page still showing 旧名称: content nobody reviewed must not
    go public."""
    version = create(world, "旧名称")
    services.item_version_submit(actor=editor(world), version=version)
    first = client_for(reviewer(world))
    form = _form(first.get(_desk(version)).content.decode(), "/publish/")
    services.item_version_return(actor=world.user("a", "sysadmin"), version=version,
                                 note="请补充材料")
    services.item_version_edit(actor=editor(world), version=version,
                               data=item_content("新名称"))
    services.item_version_submit(actor=editor(world), version=version)

    fields = dict(form.form_values())
    fields["note"] = "同意"
    with nothing_written():
        response = first.post(form.action, fields, follow=True)
    assert "该版本在您打开后已被修改，请重新打开后再审核。" in response.content.decode()
    with nothing_written():
        first.post(f"{_desk(version)}return/", fields, follow=True)
    version.refresh_from_db()
    assert version.status == ItemVersion.Status.PENDING, (
        f"published {version.name!r}, which the reviewer never saw")

    # Opened again, the page shows 新名称 and publishes it.
    form = _form(first.get(_desk(version)).content.decode(), "/publish/")
    first.post(form.action, dict(form.form_values()))
    version.refresh_from_db()
    assert (version.status, version.name) == (ItemVersion.Status.PUBLISHED, "新名称")


def test_a_review_posted_with_a_time_that_is_no_time_is_refused_on_the_page(world, client_for):
    version = create(world)
    services.item_version_submit(actor=editor(world), version=version)
    with nothing_written():
        response = client_for(reviewer(world)).post(
            f"{_desk(version)}publish/", {"edited_at": "昨天"}, follow=True)
    assert response.status_code == 200
    assert "修改时间无效" in response.content.decode()


def test_the_next_version_s_page_links_the_published_one(world, client_for):
    """The reviewer of v2 can open v1, the version in service, from v2's page;
    the desk's list says the item is published while its v2 is a draft."""
    v1 = published(world)
    v2 = services.item_version_draft(actor=editor(world), item=v1.item)
    client = client_for(reviewer(world))
    page = lxml.html.fromstring(client.get(_desk(v2)).content.decode())
    rows = page.xpath('//table[@data-testid="versions"]/tbody/tr')
    assert [" ".join(row.text_content().split()) for row in rows] == [
        "v2 草稿", f"v1 已发布 {timezone.localtime(v1.published_at):%Y-%m-%d %H:%M}"]
    published_row = page.xpath('//tr[@data-testid="published-version"]')[0]
    assert published_row.xpath(".//a/@href") == [_desk(v1)]
    assert "已发布" in published_row.text_content()
    assert page.xpath('//table[@data-testid="versions"]//*[@aria-current="page"]')[0] \
        .text_content() == "v2"

    listing = lxml.html.fromstring(client.get("/workbench/catalog/").content.decode())
    row = listing.xpath(f'//tr[.//a[@href="{_desk(v2)}"]]')[0]
    link = row.xpath(f'.//a[@data-testid="published-{v1.item_id}"]')[0]
    assert (link.get("href"), link.text_content()) == (_desk(v1), "已发布 v1")
    # A published latest version says nothing more.
    assert not listing.xpath('//a[starts-with(@data-testid, "published-")]'
                             f'[not(@data-testid="published-{v1.item_id}")]')


def _desk_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get("/workbench/catalog/").status_code == 200
    return len(captured)


def _items_with_next_drafts(world, count, start):
    for n in range(start, start + count):
        version = published(world, f"事项{n}", basic_code=f"XK00{n:03d}000")
        services.item_version_draft(actor=editor(world), item=version.item)


def test_the_desk_list_reads_as_many_queries_for_five_items_as_for_one(world, client_for):
    """The published version each row names is read with its item, not once a row."""
    client = client_for(reviewer(world))
    _items_with_next_drafts(world, 1, 100)
    client.get("/workbench/catalog/")  # the reviewer's scope, read once per request
    one = _desk_queries(client)
    _items_with_next_drafts(world, 4, 200)
    assert _desk_queries(client) == one
    assert client.get("/workbench/catalog/").content.decode().count("已发布 v1") == 5


def test_the_editor_publishing_their_own_version_from_the_desk_is_told_why_not(world, client_for):
    officer = reviewer(world)
    version = services.item_create(actor=officer, agency=world.agency_a, data=item_content())
    services.item_version_submit(actor=officer, version=version)
    with nothing_written():
        response = client_for(officer).post(
            f"/workbench/catalog/versions/{version.pk}/publish/", follow=True)
    assert "发布须由编辑人以外的人员审核。" in response.content.decode()


def test_an_unknown_desk_action_is_404(world, client_for):
    version = create(world)
    response = client_for(editor(world)).post(f"/workbench/catalog/versions/{version.pk}/burn/")
    assert response.status_code == 404


def test_desk_import_errors_are_rendered_as_a_table(world, client_for):
    raw = workbook_bytes(items=[{"事项键": "k", "实施机关": "甲局", "事项名称": "缺很多字段"}])
    with nothing_written():
        response = client_for(editor(world)).post(
            "/workbench/catalog/import/", {"file": SimpleUploadedFile("catalog.xlsx", raw)})
    assert response.status_code == 400
    text = response.content.decode()
    assert 'data-testid="import-errors"' in text
    assert "导入未执行" in text
    assert "<td>事项</td><td>2</td><td>基本编码</td>" in text
    assert "<td>设定依据</td>" in text


def test_desk_import_of_a_good_file_redirects_with_a_message(world, client_for):
    raw = json.dumps([{**item_content("桌面导入"), "agency": "甲局"}], ensure_ascii=False)
    response = client_for(editor(world)).post(
        "/workbench/catalog/import/",
        {"file": SimpleUploadedFile("catalog.json", raw.encode())}, follow=True)
    assert "导入成功：新增 1 项" in response.content.decode()
    assert Item.objects.get().versions.get().name == "桌面导入"


def test_desk_import_of_a_wrong_file_says_what_is_wrong(world, client_for):
    """Refused with the status the API answers (415, an unsupported type), the
    message on the page."""
    response = client_for(editor(world)).post(
        "/workbench/catalog/import/", {"file": SimpleUploadedFile("notes.txt", b"hello")})
    assert response.status_code == 415
    assert "只能导入 .xlsx 或 .json 文件。" in response.content.decode()


def test_desk_export_gives_the_latest_versions_as_excel(world, client_for):
    published(world, "已发布")
    revised = published(world, "修订前", basic_code="XK00103000")
    services.item_version_draft(actor=editor(world), item=revised.item,
                                data=item_content("修订稿", basic_code="XK00103000"))
    create(world, "草稿", basic_code="XK00102000")
    response = client_for(editor(world)).get("/workbench/catalog/export/")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    names = sorted(r.data["name"] for r in transfer.read_excel(response.content))
    assert names == ["修订稿", "已发布", "草稿"]


@pytest.mark.parametrize("agency", ["²", str(10**30), "-1", "abc"])
def test_search_page_ignores_an_agency_that_is_no_id(world, guide_item, agency):
    response = Client().get("/services/search/", {"agency": agency, "q": "食品经营"})
    assert response.status_code == 200
    assert "食品经营许可证核发" in response.content.decode()


def test_a_query_longer_than_the_form_allows_shows_the_error_and_no_results(world, guide_item):
    """A 101-character query is refused by the form: the page says how long a
    query may be and lists nothing, rather than every item as if it matched."""
    published(world, "公共场所卫生许可证核发", key="b", basic_code="XK05101000")
    page = Client().get("/services/search/", {"q": "宇宙飞船" * 26})
    text = page.content.decode()
    assert page.status_code == 200
    assert "食品经营许可证核发" not in text and "公共场所卫生许可证核发" not in text
    assert 'role="alert"' in text and "100" in text
    assert "找到" not in text


@pytest.mark.parametrize(("language", "stock"), [
    ("zh-hans", "变量"), ("en", "Ensure this value")])
def test_a_query_that_is_too_long_is_refused_in_plain_words(world, language, stock):
    """A pasted sentence of 110 characters: not Django's stock wording
    (确保该变量包含不超过 100 字符 (目前字符数 110)。), where "this variable"
    means nothing to a citizen and the brackets are half-width."""
    client = Client()
    client.cookies["django_language"] = language
    response = client.get("/services/search/", {"q": "食品经营许可证怎么办理" * 10})
    root = lxml.html.fromstring(response.content.decode())

    message = " ".join(e.text_content() for e in root.xpath('//*[@role="alert"]'))

    assert "100" in message and stock not in message
    if language == "zh-hans":
        assert message.strip() == "搜索内容请不超过 100 个字，请删减后再搜索。"


def test_a_department_with_more_than_200_items_lists_them_all_a_page_at_a_time(world):
    """The department page counts every item (找到 201 个事项, not 200) and pages
    through them with the shared pager; a page number past the end shows the last."""
    head, officer = editor(world), reviewer(world)
    for n in range(201):
        version = services.item_create(
            actor=head, agency=world.agency_a,
            data=item_content(f"测试事项{n:03d}", basic_code=f"XK{n + 1:05d}000"))
        services.item_version_submit(actor=head, version=version)
        services.item_version_publish(actor=officer, version=version)
    client = Client()
    first = client.get("/services/search/", {"agency": world.agency_a.pk}).content.decode()
    assert "找到 201 个事项" in first
    assert "测试事项000" in first and "测试事项050" not in first
    assert f"?agency={world.agency_a.pk}&amp;page=2" in first
    last = client.get("/services/search/", {"agency": world.agency_a.pk, "page": 5})
    assert "测试事项200" in last.content.decode() and "5 / 5" in last.content.decode()
    past = client.get("/services/search/", {"agency": world.agency_a.pk, "page": 99})
    assert past.status_code == 200 and "测试事项200" in past.content.decode()
    found = client.get("/services/search/", {"q": "测试事项", "page": 5}).content.decode()
    assert "找到 201 个事项" in found and "测试事项200" in found
