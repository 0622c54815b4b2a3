"""The applicant's journey through the pages and the API, as the applicant expects it.

From a review of the journey: what the public status answer keeps back, the
query code that must not be lost, a double click that must not read as a
failure, items not offered online, large items, the working days left, and
digits typed on a phone's Chinese keyboard.
"""

import datetime
import json
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from tests.cases.helpers import (
    PDF,
    accepted,
    another_citizen,
    apply_form,
    apply_url,
    audit_actions,
    complete,
    draft,
    nothing_written,
    open_task,
    publish_item,
    reload,
    submitted,
)
from yizhan.cases import services
from yizhan.cases.actions import CasesAction
from yizhan.cases.models import Case, StatusQueryFailure
from yizhan.catalog import services as catalog_services
from yizhan.catalog.content import MAX_MATERIALS
from yizhan.core.crypto import sm3_hex
from yizhan.directory.roles import Role

API = "/api/v1"
CODE = 'data-testid="query-code"'


def _post_json(client, url, payload=None):
    return client.post(url, json.dumps(payload or {}), content_type="application/json")


def _shown_code(page: str) -> str:
    return re.search(r'data-testid="query-code">[^<]*?(\d{8})', page).group(1)


def _status_found(number, code) -> bool:
    return Client().get(f"{API}/cases/status", {"number": number, "code": code}
                        ).status_code == 200


def _first_click_inside(real, client, url, form):
    """A stand-in for ``real``, a service the view calls, in which the first click
    finishes inside the second: called the first time, it has the same browser (the
    same session as ``client``) post ``form`` to ``url`` before calling ``real``.
    Returns the stand-in and a dict that then holds the first click's ``response``."""
    first = {}

    def call(**kwargs):
        if not first:
            first["running"] = True
            same_browser = Client()
            same_browser.cookies = client.cookies   # the same session
            first["response"] = same_browser.post(url, form)
        return real(**kwargs)

    return call, first


def _new_version(world, version):
    v2 = catalog_services.item_version_draft(actor=world.admin, item=version.item)
    catalog_services.item_version_submit(actor=world.admin, version=v2)
    return catalog_services.item_version_publish(actor=world.user("a", Role.SYSADMIN),
                                                 version=v2)


def _in_correction(world, version):
    """A submitted case whose window asked to correct 营业执照; the material."""
    case, _code = submitted(world, version)
    material = version.materials.get(name="营业执照")
    services.case_request_correction(actor=world.user("a", Role.WINDOW_CLERK),
                                     task=open_task(case),
                                     items=[{"material_id": material.pk, "problem": "已过期"}])
    return reload(case), material


# --- the public status answer ---------------------------------------------------------

@pytest.mark.parametrize("how", ["refused", "withdrawn"])
def test_the_public_status_answer_shows_no_reasons(world, promised, client_for, how):
    """Anyone with the number and code sees the status, never the refusal's reasons
    nor the applicant's reason to withdraw: the page leaves them out as the API does.
    The applicant, signed in, still reads them."""
    case, code = submitted(world, promised)
    secret = "经核查申请人张三的营业执照系伪造，已移送公安机关"
    if how == "refused":
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept", decision="reject",
                 opinion=secret)
    else:
        client_for(world.citizen).post(f"/my/cases/{case.pk}/withdraw/", {"reason": secret})
    assert reload(case).outcome_reason == secret
    api = Client().get(f"{API}/cases/status", {"number": case.number, "code": code})
    assert api.status_code == 200 and secret not in api.content.decode()
    page = Client().post("/status/", {"number": case.number, "code": code})
    assert page.status_code == 200
    assert 'data-testid="timeline"' in page.content.decode()
    assert secret not in page.content.decode()
    own = client_for(world.citizen).get(f"/my/cases/{case.pk}/").content.decode()
    assert secret in own


# --- the query code -------------------------------------------------------------------

def test_the_query_code_stays_on_the_case_page_through_the_session(world, promised,
                                                                     client_for):
    """Shown at submission, the code is still there when the applicant turns on 大字模式
    to read it, or comes back to the page later; a new session no longer shows it."""
    client = client_for(world.citizen)
    client.post(apply_url(promised), apply_form(world, promised, "k-large"))
    case = Case.objects.get()
    detail = f"/my/cases/{case.pk}/"
    code = _shown_code(client.get(detail).content.decode())
    back = client.post("/display/", {"large_text": "on", "next": detail}, follow=True)
    assert back.redirect_chain[-1][0] == detail
    assert _shown_code(back.content.decode()) == code
    assert _shown_code(client.get(detail).content.decode()) == code
    assert _status_found(case.number, code)
    elsewhere = client_for(world.citizen).get(detail).content.decode()
    assert CODE not in elsewhere


def test_a_double_click_keeps_the_query_code(world, promised, client_for, monkeypatch):
    """Two clicks of 提交申请: the second request starts (its session read) while the
    first is still working, and ends after it.  The browser shows the second's page,
    which must still show the code the first issued (every request saves its whole
    session: the second's copy, read before the code, must not replace it)."""
    from yizhan.cases import views

    client = client_for(world.citizen)
    url = apply_url(promised)
    real_create = views.services.case_create
    create_while_the_first_click_finishes, first = _first_click_inside(
        real_create, client, url, apply_form(world, promised, "k-dbl"))
    monkeypatch.setattr(views.services, "case_create", create_while_the_first_click_finishes)
    second = client.post(url, apply_form(world, promised, "k-dbl"))
    monkeypatch.setattr(views.services, "case_create", real_create)
    case = Case.objects.get()
    assert case.status == Case.Status.SUBMITTED
    assert first["response"]["Location"] == second["Location"] == f"/my/cases/{case.pk}/"
    code = _shown_code(client.get(second["Location"]).content.decode())
    assert _status_found(case.number, code)


def test_a_second_click_arriving_while_the_first_submits_goes_to_the_case(
        world, promised, client_for, monkeypatch):
    """The second click finds the draft the first made (same key); by the time it
    uploads its copies of the files the first has submitted, and they are refused as
    late.  The application went through: the browser is sent to the case, with its
    query code, not shown the form again with 办件已提交 at every file."""
    from yizhan.cases import views

    client = client_for(world.citizen)
    url = apply_url(promised)
    real_upload = views.services.material_upload
    upload_after_the_first_click_finished, _first = _first_click_inside(
        real_upload, client, url, apply_form(world, promised, "k-mid"))
    # The second click creates the draft first, then uploads in the first's wake.
    services.case_create(actor=world.citizen, item_version=promised,
                         applicant=world.applicant, idempotency_key="k-mid")
    monkeypatch.setattr(views.services, "material_upload", upload_after_the_first_click_finished)
    second = client.post(url, apply_form(world, promised, "k-mid"))
    monkeypatch.setattr(views.services, "material_upload", real_upload)
    case = Case.objects.get()
    assert case.status == Case.Status.SUBMITTED
    assert second.status_code == 302, second.content.decode()[:500]
    assert second["Location"] == f"/my/cases/{case.pk}/"
    page = client.get(second["Location"]).content.decode()
    assert "不能再上传材料" not in page
    assert _status_found(case.number, _shown_code(page))


def test_a_retried_application_after_a_new_version_shows_the_submitted_case(
        world, promised, client_for):
    """The form went through but its answer was lost, and the item got a new version
    meanwhile: the retry with the same key shows the submitted case, not a refusal
    that sends the applicant to apply a second time."""
    client = client_for(world.citizen)
    url = apply_url(promised)
    first = client.post(url, apply_form(world, promised, "form-key-v"))
    case = Case.objects.get()
    assert first.status_code == 302 and reload(case).status == Case.Status.SUBMITTED
    _new_version(world, promised)
    with nothing_written():
        again = client.post(url, apply_form(world, promised, "form-key-v"))
    assert again.status_code == 302, again.content.decode()[:500]
    assert again["Location"] == f"/my/cases/{case.pk}/"


def test_a_retried_create_over_the_api_after_a_new_version_returns_the_case(
        world, promised, client_for):
    """Through the API: the retry of POST /cases with the same key and body names the
    case already submitted on the old version."""
    client = client_for(world.citizen)
    body = {"impl_code": promised.item.impl_code, "applicant_id": world.applicant.pk,
            "data": {}, "idempotency_key": "api-key-v"}
    first = _post_json(client, f"{API}/cases", body)
    assert first.status_code == 201
    case_id = first.json()["id"]
    for material in promised.materials.all():
        client.post(f"{API}/cases/{case_id}/materials",
                    {"material_id": material.pk, "file": SimpleUploadedFile("a.pdf", PDF)})
    assert _post_json(client, f"{API}/cases/{case_id}/submit").status_code == 200
    _new_version(world, promised)
    again = _post_json(client, f"{API}/cases", body)
    assert again.status_code in (200, 201), again.content
    assert again.json()["id"] == case_id


def test_the_applicant_gets_a_new_query_code_on_the_case_page(world, promised, client_for):
    """Lost the code (another browser, a session ended): 重新生成查询码 on the case page
    gives a new one, shown there with a note that the old one no longer works; the
    old code finds nothing any more, and the reissue is audited."""
    case, old = submitted(world, promised)
    client = client_for(world.citizen)
    detail = f"/my/cases/{case.pk}/"
    page = client.get(detail).content.decode()
    assert CODE not in page and 'data-testid="reissue-query-code"' in page
    response = client.post(detail, {"action": "reissue_query_code"}, follow=True)
    assert response.redirect_chain[-1][0] == detail
    page = response.content.decode()
    new = _shown_code(page)
    assert reload(case).query_code_hash == sm3_hex(f"{case.number}:{new}".encode())
    assert "原查询码已失效" in page
    assert _status_found(case.number, new)
    if new != old:   # one chance in 10^8 that the new code is the old one
        assert not _status_found(case.number, old)
    assert audit_actions(case)[-1] == CasesAction.QUERY_CODE_REISSUED


def test_a_new_query_code_is_the_applicants_alone(world, promised, client_for):
    """Nobody else gets a code for the case: another citizen's post is a 404 and writes
    nothing; the form needs a POST with its action; a draft has no code to replace."""
    case, _code = submitted(world, promised)
    stranger, _applicant = another_citizen()
    detail = f"/my/cases/{case.pk}/"
    with nothing_written():
        assert client_for(stranger).post(
            detail, {"action": "reissue_query_code"}).status_code == 404
        assert client_for(world.citizen).post(detail, {"action": "other"}).status_code == 404
    unsent = draft(world, promised, key="unsent")
    page = client_for(world.citizen).get(f"/my/cases/{unsent.pk}/").content.decode()
    assert 'data-testid="reissue-query-code"' not in page


def test_a_new_query_code_over_the_api(world, promised, client_for):
    """An API client whose answer to /submit was lost gets null on a retry; POST
    /cases/{id}/query-code gives it a new code (the old one stops working)."""
    case, old = submitted(world, promised)
    client = client_for(world.citizen)
    assert _post_json(client, f"{API}/cases/{case.pk}/submit").json()["query_code"] is None
    response = _post_json(client, f"{API}/cases/{case.pk}/query-code")
    assert response.status_code == 200, response.content
    new = response.json()["query_code"]
    assert re.fullmatch(r"\d{8}", new)
    assert _status_found(case.number, new)
    if new != old:
        assert not _status_found(case.number, old)
    stranger, _applicant = another_citizen()
    with nothing_written():
        refused = _post_json(client_for(stranger), f"{API}/cases/{case.pk}/query-code")
    assert refused.status_code == 404


# --- items not offered online ---------------------------------------------------------

def test_an_item_not_offered_online_is_not_applied_for_online(world, client_for):
    """网上办理深度 一级/二级 (a guide, forms to download; apply at the window): the guide
    offers no 在线申请, the apply page says so with a link back to the guide and no
    form, and neither the page nor POST /api/v1/cases takes the application."""
    version = publish_item(world, name="窗口办理事项", online_depth=1)
    client = client_for(world.citizen)
    guide = f"/services/items/{version.item.impl_code}/"
    assert 'data-testid="apply"' not in client.get(guide).content.decode()
    page = client.get(apply_url(version)).content.decode()
    assert "该事项不提供网上申请，请按办事指南到窗口办理。" in page
    assert f'href="{guide}"' in page
    assert 'data-testid="submit-application"' not in page and 'type="file"' not in page
    with nothing_written():
        posted = client.post(apply_url(version), apply_form(world, version, "offline-p"))
        response = _post_json(client, f"{API}/cases", {
            "impl_code": version.item.impl_code, "applicant_id": world.applicant.pk,
            "data": {}, "idempotency_key": "offline-1"})
    assert posted.status_code == 409
    assert "到窗口办理" in posted.content.decode()
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "cases.item_not_online"


def test_the_window_still_files_an_item_not_offered_online(world, client_for):
    """A window clerk files a walk-in applicant's application for it (POST /cases with
    the applicant's record), recorded as the window's."""
    version = publish_item(world, name="窗口办理事项", online_depth=2)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    response = _post_json(clerk, f"{API}/cases", {
        "impl_code": version.item.impl_code, "applicant_id": world.applicant.pk,
        "data": {}, "idempotency_key": "walk-in-1"})
    assert response.status_code == 201, response.content
    assert Case.objects.get(pk=response.json()["id"]).channel == "window"


# --- an item of many materials --------------------------------------------------------

def test_an_item_with_more_than_twenty_materials_is_applied_for_on_the_page(
        world, client_for):
    """Items may list up to 200 materials, each with its file input: the page with 21
    files attached goes through (a request may carry as many files as an item has
    materials), rather than answering a bare 400 that keeps nothing typed."""
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES >= MAX_MATERIALS
    version = publish_item(world, name="建设工程规划许可",
                           materials=[{"name": f"材料{i}", "forms": ["original"]}
                                      for i in range(1, 22)])
    client = client_for(world.citizen)
    assert client.get(apply_url(version)).content.decode().count('type="file"') == 21
    response = client.post(apply_url(version), apply_form(world, version, "k-21"))
    assert response.status_code == 302, (response.status_code,
                                         response.content.decode()[:200])
    assert Case.objects.get().status == Case.Status.SUBMITTED


def test_a_form_with_more_files_than_a_request_takes_says_what_to_do(world, client_for):
    """Over the platform's limit of files in one request the page says so, and how
    to go on (save a draft, upload in turns), not a bare 400."""
    version = publish_item(world, name="多材料许可",
                           materials=[{"name": f"材料{i}", "forms": ["original"]}
                                      for i in range(1, 4)])
    with override_settings(DATA_UPLOAD_MAX_NUMBER_FILES=2):
        response = client_for(world.citizen).post(apply_url(version),
                                                  apply_form(world, version, "k-3"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "一次最多可提交 2 个文件" in page and "保存草稿" in page
    assert not Case.objects.exists()


# --- working days left ----------------------------------------------------------------

def _decided_in_time_long_ago(case):
    """Move the clock into the past: accepted 40 days ago, decided on day 5, both
    deadlines passed since (the decision was in time)."""
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        accepted_at=now - datetime.timedelta(days=40),
        decided_at=now - datetime.timedelta(days=35),
        promised_due=now - datetime.timedelta(days=26),
        statutory_due=now - datetime.timedelta(days=12))
    return reload(case)


def _decided(world, version, *, delivered=False):
    case = accepted(world, version)
    complete(world.user("a", Role.REVIEWER), case, "review")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    if delivered:
        complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    return _decided_in_time_long_ago(case)


def test_a_case_decided_in_time_is_not_overdue_while_awaiting_delivery(
        world, promised, client_for):
    """The clock runs to the decision: an approval made in time, not yet delivered,
    is not marked 已超期, and its days left are counted at the decision."""
    case = _decided(world, promised)
    assert case.status == Case.Status.APPROVED
    page = client_for(world.citizen).get(f"/my/cases/{case.pk}/").content.decode()
    assert "已超期" not in page
    left = client_for(world.citizen).get(f"{API}/cases/{case.pk}").json()["remaining"]
    assert left["promised"] >= 0 and left["statutory"] >= 0


def test_a_closed_case_has_no_working_days_left(world, promised, client_for):
    """Delivered and closed: neither the page nor the API counts the days down (into
    ever larger negative numbers, as if overdue)."""
    case = _decided(world, promised, delivered=True)
    assert case.status == Case.Status.CLOSED
    page = client_for(world.citizen).get(f"/my/cases/{case.pk}/").content.decode()
    assert 'data-testid="remaining"' not in page
    left = client_for(world.citizen).get(f"{API}/cases/{case.pk}").json()["remaining"]
    assert (left["promised"], left["statutory"]) == (None, None)


def test_an_overdue_statutory_deadline_reads_overdue(world, promised, client_for):
    """An undecided case past both deadlines: each line says 已超期 N 个工作日, never
    "剩余 -N 个工作日" (-N working days left)."""
    case = accepted(world, promised)
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        accepted_at=now - datetime.timedelta(days=40),
        promised_due=now - datetime.timedelta(days=26),
        statutory_due=now - datetime.timedelta(days=12))
    page = client_for(world.citizen).get(f"/my/cases/{case.pk}/").content.decode()
    statutory = page[page.find("法定期限"):][:400]
    assert "已超期" in statutory, statutory
    assert "剩余 -" not in page


# --- the status query from a phone ----------------------------------------------------

def test_the_status_query_takes_full_width_digits(world, promised):
    """A phone's Chinese keyboard types ４４９９…: the same digits find the case, on the
    page and through the API, and a wrong try counts against the number meant."""
    case, code = submitted(world, promised)
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    number, typed = case.number.translate(wide), code.translate(wide)
    api = Client().get(f"{API}/cases/status", {"number": number, "code": typed})
    assert api.status_code == 200, api.content.decode()
    page = Client().post("/status/", {"number": f" {number} ", "code": typed})
    assert page.status_code == 200 and case.number in page.content.decode()
    wrong = f"{(int(code) + 1) % 10**8:08d}".translate(wide)
    assert Client().post("/status/", {"number": number, "code": wrong}).status_code == 404
    assert StatusQueryFailure.objects.get().number == case.number


# --- corrections ----------------------------------------------------------------------

def test_a_correction_sent_twice_is_not_reported_as_failed(world, promised, client_for):
    """A double click on 提交补正材料: the first went through; the page of the second
    says nothing failed and uploads nothing, and the API answers the retry 200."""
    case, material = _in_correction(world, promised)
    client = client_for(world.citizen)
    form = {f"material_{material.pk}": SimpleUploadedFile("n.pdf", PDF)}
    client.post(f"/my/cases/{case.pk}/correct/", form)
    assert reload(case).status == Case.Status.SUBMITTED
    form = {f"material_{material.pk}": SimpleUploadedFile("n2.pdf", PDF + b"%")}
    with nothing_written():
        again = client.post(f"/my/cases/{case.pk}/correct/", form, follow=True)
        retry = _post_json(client, f"{API}/cases/{case.pk}/correct")
    page = again.content.decode()
    assert "本件没有待补正的内容" not in page and "不能再上传材料" not in page
    assert 'class="message error"' not in page
    assert retry.status_code == 200, retry.content


def test_a_correction_clicked_twice_at_once_is_not_reported_as_failed(
        world, promised, client_for, monkeypatch):
    """The second click read the case under correction; while it uploads, the first
    resubmits, and the second's file is refused as late.  Its page says nothing failed."""
    from yizhan.cases import views

    case, material = _in_correction(world, promised)
    client = client_for(world.citizen)
    url = f"/my/cases/{case.pk}/correct/"
    upload_after_the_first_click_finished, first = _first_click_inside(
        views.services.material_upload, client, url,
        {f"material_{material.pk}": SimpleUploadedFile("n.pdf", PDF)})
    monkeypatch.setattr(views.services, "material_upload", upload_after_the_first_click_finished)
    second = client.post(url, {f"material_{material.pk}": SimpleUploadedFile("n.pdf", PDF)},
                         follow=True)
    assert reload(case).status == Case.Status.SUBMITTED
    page = second.content.decode()
    assert first["response"].status_code == 302
    assert "不能再上传材料" not in page and "本件没有待补正的内容" not in page
    assert 'class="message error"' not in page


def test_a_case_withdrawn_under_correction_is_not_shown_paused(world, promised, client_for):
    """Withdrawn while a correction was awaited: the case is closed, its page no longer
    says 暂停计时, and a correction sent afterwards is refused and writes nothing."""
    case, material = _in_correction(world, promised)
    client = client_for(world.citizen)
    client.post(f"/my/cases/{case.pk}/withdraw/", {"reason": "不办了"})
    assert reload(case).status == Case.Status.WITHDRAWN
    with nothing_written():
        late = client.post(f"/my/cases/{case.pk}/correct/",
                           {f"material_{material.pk}": SimpleUploadedFile("n.pdf", PDF)},
                           follow=True)
    assert "补正材料已提交" not in late.content.decode()
    page = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'data-testid="paused"' not in page
    assert reload(case).paused_since is None


def test_a_code_replaced_in_another_browser_is_no_longer_shown(world, promised, client_for):
    """Applied on the computer (the page keeps the code for the session), a new code
    asked for on the phone: back on the computer the page no longer shows the old
    code as one to keep, since it no longer finds the case."""
    from yizhan.cases import selectors

    def codes_shown(page: str) -> list[str]:
        return re.findall(r'data-testid="query-code">[^<]*?(\d{8})', page)

    computer = client_for(world.citizen)
    computer.post(apply_url(promised), apply_form(world, promised, "k-two-browsers"))
    case = Case.objects.get()
    detail = f"/my/cases/{case.pk}/"
    [old] = codes_shown(computer.get(detail).content.decode())
    client_for(world.citizen).post(detail, {"action": "reissue_query_code"})
    case.refresh_from_db()
    assert not selectors.query_code_matches(case, old)
    assert codes_shown(computer.get(detail).content.decode()) == []


def test_a_withdrawn_draft_is_not_told_as_submitted_to_its_applicant(world, promised,
                                                                     client_for):
    """The applicant withdrew a draft (it was never submitted, it has no number).
    Its page must not offer 重新生成查询码 (a query code for a case without a
    number opens nothing), nor the service give one, and the apply form sent
    again from the browser's history must not say 该申请已提交（办件编号 None）
    but that the draft was withdrawn."""
    from yizhan.core.errors import Conflict

    case = draft(world, promised, key="K-draft", data={"x": 1})
    services.case_withdraw(actor=world.citizen, case=case)
    client = client_for(world.citizen)

    page = client.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'data-testid="reissue-query-code"' not in page
    with nothing_written(), pytest.raises(Conflict):
        services.case_query_code_reissue(actor=world.citizen, case=reload(case))

    again = client.post(f"/services/items/{promised.item.impl_code}/apply/", {
        "key": "K-draft", "applicant": str(world.applicant.pk)}, follow=True)
    text = again.content.decode()
    assert again.status_code == 400
    assert "None" not in text and "该申请已提交" not in text
    assert "该请求编号的草稿已撤回" in text
