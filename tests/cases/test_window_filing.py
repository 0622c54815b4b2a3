"""窗口代办申请: the window clerk files for a walk-in applicant on the workbench pages."""

import re
import threading

import pytest

from tests.cases.helpers import (
    colleague,
    event_types,
    material_uploads,
    nothing_written,
    open_task,
    publish_again,
    publish_item,
    reload,
    run_in_thread,
)
from tests.factories import valid_credit_code, valid_id_number
from tests.markers import postgres_only
from tests.writes import watching
from yizhan.audit.models import AuditRecord
from yizhan.cases import selectors, services
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, CaseEvent, EventType, MaterialFile, Task
from yizhan.core.crypto import decrypt_field
from yizhan.core.errors import Conflict
from yizhan.directory import services as directory_services
from yizhan.directory.actions import DirectoryAction
from yizhan.directory.models import Applicant
from yizhan.directory.roles import Role

_no_case_written = watching(Case, CaseEvent, MaterialFile, Task, Applicant)


def _url(version) -> str:
    return f"/workbench/apply/{version.item.impl_code}/"


def _form(version, *, kind="person", number, key="window-key-1", files=None, **fields) -> dict:
    """The window's application form as the browser posts it: the applicant's
    document, a PDF for every material (``files`` maps a name to other bytes,
    or None to leave it out), and any other ``fields``."""
    return {"key": key, "kind": kind, "number": number, **fields,
            **material_uploads(version, files)}


def _find(client, version, *, kind="person", number):
    """查找: the lookup is posted, keeping the number out of the URL."""
    return client.post(_url(version), {"action": "find", "kind": kind, "number": number})


def _field(page: str, field_id: str) -> str:
    return re.search(rf'<(?:input|select)[^>]*id="{field_id}"[^>]*>', page).group(0)


def _marked(page: str, field_id: str) -> str:
    """The message the page ties to a field (aria-invalid, aria-describedby)."""
    tag = _field(page, field_id)
    assert 'aria-invalid="true"' in tag
    described = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()[-1]
    return re.search(rf'id="{described}">([^<]*)<', page).group(1)


@pytest.fixture
def window_only(world):
    """An item applied for only at the window (网上办理深度 二级) of agency A."""
    return publish_item(world, name="窗口办理事项", online_depth=2, materials=[
        {"name": "申请书", "forms": ["original"]},
        {"name": "营业执照", "forms": ["copy"]},
    ])


def test_the_window_files_for_a_walk_in_applicant_on_the_page(world, window_only, client_for):
    """An item the applicant cannot apply for online: the clerk picks it on the
    workbench, registers the walk-in applicant by their ID number, attaches the
    materials and submits.  The case is the window's, waits for acceptance, and
    the clerk is shown the number and the query code to hand over."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    client = client_for(clerk)
    home = client.get("/workbench/").content.decode()
    assert 'href="/workbench/apply/"' in home
    listing = client.get("/workbench/apply/").content.decode()
    assert _url(window_only) in listing and "仅窗口办理" in listing

    number = valid_id_number(seq=21)
    page = _find(client, window_only, number=number)
    assert page.status_code == 200
    page = page.content.decode()
    assert 'data-testid="applicant-new"' in page and 'name="name"' in page
    assert 'data-testid="window-application"' in page and 'name="material_' in page
    key = re.search(r'name="key" value="([0-9a-f]+)"', page).group(1)

    response = client.post(_url(window_only), _form(window_only, number=number, key=key,
                                                     name="王五", phone="13700002222"))
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/workbench/filed/{case.pk}/"
    walk_in = Applicant.objects.get(name="王五")
    assert (walk_in.user, walk_in.phone) == (None, "13700002222")
    assert (case.applicant, case.submitted_by, case.channel, case.status) == (
        walk_in, clerk, "window", Case.Status.SUBMITTED)
    assert event_types(case) == [EventType.SUBMITTED]
    assert open_task(case, "accept").agency_id == world.agency_a.pk

    filed = client.get(response["Location"]).content.decode()
    assert case.number in filed
    code = re.search(r'data-testid="query-code">(\d{8})<', filed).group(1)
    assert selectors.query_code_matches(case, code)


def test_the_window_finds_an_applicant_registered_before(world, window_only, client_for):
    """A legal person registered before is found by its credit code and filed for;
    no second record is made, and nothing of the name fields is asked."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    code = valid_credit_code(881)
    company = directory_services.applicant_register(
        actor=clerk, kind="legal", name="王记餐饮有限公司", credit_code=code,
        legal_rep_name="王五")
    client = client_for(clerk)
    page = _find(client, window_only, kind="legal", number=code.lower())
    page = page.content.decode()
    assert "王记餐饮有限公司" in page and 'name="name"' not in page
    response = client.post(_url(window_only), _form(window_only, kind="legal", number=code))
    assert response.status_code == 302
    assert Case.objects.get().applicant == company
    assert Applicant.objects.filter(kind="legal", credit_code=code).count() == 1


def test_a_form_opened_before_a_new_version_is_published_files_its_files(
        world, window_only, client_for):
    """The window's form, like the apply page's, names the version it was opened
    on: a version published meanwhile with the same materials takes its files
    as those materials'."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    number = valid_id_number(seq=23)
    page = _find(client, window_only, number=number).content.decode()
    assert re.search(rf'name="version" value="{window_only.pk}"', page)
    again = publish_again(world, window_only, name="窗口办理事项", online_depth=2,
                          materials=[{"name": "申请书", "forms": ["original"]},
                                     {"name": "营业执照", "forms": ["copy"]}])
    form = _form(window_only, number=number, name="王五") | {"version": str(window_only.pk)}
    response = client.post(_url(window_only), form)
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.item_version_id, case.status) == (again.pk, Case.Status.SUBMITTED)
    assert MaterialFile.objects.filter(case=case, material__version=again).count() == 2


def test_a_double_click_files_once(world, window_only, client_for):
    """The same form posted twice (a double click, a retry): one applicant, one case,
    and both answers land on the filed case's page."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    number = valid_id_number(seq=22)
    first = client.post(_url(window_only), _form(window_only, number=number, name="王五"))
    case = Case.objects.get()
    audited = set(AuditRecord.objects.values_list("pk", flat=True))
    with _no_case_written():
        again = client.post(_url(window_only), _form(window_only, number=number, name="王五"))
    assert first["Location"] == again["Location"] == f"/workbench/filed/{case.pk}/"
    # Only its lookup of the number, as every lookup is.
    assert list(AuditRecord.objects.exclude(pk__in=audited).values_list(
        "action", flat=True)) == [DirectoryAction.APPLICANT_LOOKED_UP]
    assert Applicant.objects.filter(name="王五").count() == 1
    assert event_types(case) == [EventType.SUBMITTED]
    # The code the first click was shown is still on the page the second lands on.
    assert 'data-testid="query-code"' in client.get(again["Location"]).content.decode()


def test_a_bad_document_number_is_shown_at_its_field(world, window_only, client_for):
    """A mistyped ID number: 400, the message at the number field, nothing written."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    good = valid_id_number(seq=23)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    found = _find(client, window_only, number=bad)
    assert found.status_code == 400
    assert "校验位" in _marked(found.content.decode(), "number")
    with nothing_written():
        posted = client.post(_url(window_only), _form(window_only, number=bad, name="王五"))
    assert posted.status_code == 400
    assert "校验位" in _marked(posted.content.decode(), "number")


def test_the_registration_s_problems_are_shown_at_their_fields(world, window_only, client_for):
    """No name, a bad phone: 400, each at its field, the phone typed kept; nobody
    registered, no case."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    number = valid_id_number(seq=24)
    response = client.post(_url(window_only), _form(window_only, number=number, name=""))
    assert response.status_code == 400
    assert _marked(response.content.decode(), "name") == "请填写姓名或名称。"
    response = client.post(_url(window_only), _form(window_only, number=number, name="王五",
                                                     phone="call me"))
    page = response.content.decode()
    assert response.status_code == 400 and "联系电话格式有误" in _marked(page, "phone")
    assert 'value="call me"' in page
    assert not Case.objects.exists()
    assert not Applicant.objects.filter(name="王五").exists()


def test_a_name_not_the_registered_one_is_refused(world, window_only, client_for):
    """The number typed is registered under another name: the clerk is told at the
    name field rather than filing for someone else."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    number = valid_id_number(seq=25)
    directory_services.applicant_register(actor=clerk, kind="person", name="赵六",
                                          id_number=number)
    response = client_for(clerk).post(_url(window_only),
                                      _form(window_only, number=number, name="王五"))
    assert response.status_code == 400
    assert "赵六" in response.content.decode()
    assert not Case.objects.exists()


def test_a_missing_material_and_answer_are_shown_at_their_fields(world, client_for):
    """Refused for a missing material, then for a missing answer: each at its field;
    the retry with the same key files the same case."""
    version = publish_item(world, name="带表单的窗口事项", online_depth=1,
                           form_fields=[{"name": "area", "label": "经营面积",
                                         "type": "number", "required": True}])
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    number = valid_id_number(seq=26)
    material = version.materials.get()
    refused = client.post(_url(version), _form(version, number=number, name="王五",
                                                files={"申请书": None}, field_area="80"))
    assert refused.status_code == 400
    assert _marked(refused.content.decode(), f"material-{material.pk}") == "请上传此材料。"
    # The applicant is registered now: the page comes back with the record found.
    assert 'data-testid="applicant-found"' in refused.content.decode()
    unanswered = client.post(_url(version), _form(version, number=number, field_area=""))
    assert unanswered.status_code == 400
    assert "经营面积" in _marked(unanswered.content.decode(), "f-area")
    done = client.post(_url(version), _form(version, number=number, field_area="80"))
    assert done.status_code == 302
    case = Case.objects.get()
    assert (case.status, case.data) == (Case.Status.SUBMITTED, {"area": 80})


def test_an_applicant_the_item_does_not_serve_is_refused_before_registering(
        world, client_for):
    """An item for legal persons only: a natural person is refused at the kind, and
    nobody is registered for an application the service would refuse."""
    version = publish_item(world, name="法人事项", service_objects=["legal"])
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    page = client.get(_url(version)).content.decode()
    assert 'id="kind-legal"' in page and 'id="kind-person"' not in page
    with nothing_written():
        response = client.post(_url(version), _form(version, number=valid_id_number(seq=27),
                                                    name="王五"))
    assert response.status_code == 400
    assert "不受理自然人" in _marked(response.content.decode(), "kind-legal")


@pytest.mark.parametrize(("key", "role", "status"), [
    ("a", Role.REVIEWER, 403),        # no window post anywhere
    ("b", Role.WINDOW_CLERK, 404),    # the window of another agency
])
def test_only_the_accepting_agency_s_window_files(world, window_only, client_for,
                                                   key, role, status):
    client = client_for(world.user(key, role))
    number = valid_id_number(seq=28)
    assert client.get(_url(window_only)).status_code == status
    assert _find(client, window_only, number=number).status_code == status
    with nothing_written():
        assert client.post(_url(window_only), _form(window_only, number=number,
                                                    name="王五")).status_code == status
    # B's clerk has a window of their own: the link, and a list without A's items.
    listing = client.get("/workbench/apply/")
    assert listing.status_code == (403 if status == 403 else 200)
    assert _url(window_only) not in listing.content.decode()
    home = client.get("/workbench/").content.decode()
    assert ('href="/workbench/apply/"' in home) == (status == 404)


def test_the_window_pages_need_a_sign_in_and_a_staff_post(world, window_only, client,
                                                          client_for):
    assert client.get("/workbench/apply/").status_code == 302
    assert client.get(_url(window_only)).status_code == 302
    assert client_for(world.citizen).get(_url(window_only)).status_code == 403


def test_the_filed_page_is_the_filing_clerk_s(world, window_only, client_for):
    """A colleague does not get the page (the case page is theirs); the clerk whose
    code was lost replaces it there, and the old one stops working."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    client = client_for(clerk)
    client.post(_url(window_only), _form(window_only, number=valid_id_number(seq=29),
                                         name="王五"))
    case = Case.objects.get()
    other = client_for(colleague(world, "a", Role.WINDOW_CLERK, "clerk.c"))
    assert other.get(f"/workbench/filed/{case.pk}/").status_code == 404
    old = re.search(r'data-testid="query-code">(\d{8})<',
                    client.get(f"/workbench/filed/{case.pk}/").content.decode()).group(1)
    fresh = client_for(clerk)   # another browser: the code is not kept there
    page = fresh.get(f"/workbench/filed/{case.pk}/").content.decode()
    assert 'data-testid="query-code"' not in page and 'data-testid="reissue-query-code"' in page
    reissued = fresh.post(f"/workbench/filed/{case.pk}/", {"action": "reissue_query_code"},
                          follow=True).content.decode()
    new = re.search(r'data-testid="query-code">(\d{8})<', reissued).group(1)
    case.refresh_from_db()
    assert selectors.query_code_matches(case, new)
    assert not selectors.query_code_matches(case, old)


def test_the_citizen_s_apply_page_of_a_window_item_is_unchanged(world, window_only,
                                                                client_for):
    """The applicant's own apply page still sends them to the window."""
    page = client_for(world.citizen).get(
        f"/services/items/{window_only.item.impl_code}/apply/").content.decode()
    assert 'data-testid="not-online"' in page


@postgres_only
def test_a_double_click_registering_at_once_files_once(transactional_db, world, window_only,
                                                       monkeypatch):
    """Both clicks find nobody under the number and register at the same moment: the
    second is refused as registered already, takes the first's record and files the
    same case; both answers are the filed page."""
    from django.test import Client

    from yizhan.cases import views

    clerk = world.user("a", Role.WINDOW_CLERK)
    together = threading.Barrier(2, timeout=30)
    real_register = views.directory_services.applicant_register

    def applicant_register(**kwargs):
        together.wait()
        return real_register(**kwargs)

    monkeypatch.setattr(views.directory_services, "applicant_register", applicant_register)
    first = Client(raise_request_exception=False)
    first.force_login(clerk)
    second = Client(raise_request_exception=False)
    second.cookies = first.cookies
    number = valid_id_number(seq=30)
    forms = [_form(window_only, number=number, name="王五", key="k-window") for _tab in "12"]
    threads = [run_in_thread(lambda c=c, f=f: c.post(_url(window_only), f))
               for c, f in zip((first, second), forms, strict=True)]
    for thread, _box in threads:
        thread.join(timeout=60)
    case = Case.objects.get()
    assert Applicant.objects.filter(name="王五").count() == 1
    assert case.status == Case.Status.SUBMITTED
    for _thread, box in threads:
        assert box["result"].status_code == 302, box["result"]
        assert box["result"]["Location"] == f"/workbench/filed/{case.pk}/"


def test_a_clerk_of_another_agency_cannot_file_for_the_item_in_the_service(world):
    """The page refuses B's clerk an item of A, and so does the service (the API
    goes through it): the counter is the accepting agency's."""
    from yizhan.cases import services
    from yizhan.core.errors import PermissionDenied

    version = publish_item(world, name="窗口代办许可", online_depth=2)
    walk_in = directory_services.applicant_register(
        actor=world.user("a", Role.WINDOW_CLERK), kind=Applicant.Kind.PERSON,
        name="王五", id_number=valid_id_number(seq=31), phone="13900003131")
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_create(actor=world.user("b", Role.WINDOW_CLERK), item_version=version,
                             applicant=walk_in)
    case = services.case_create(actor=world.user("a", Role.WINDOW_CLERK),
                                item_version=version, applicant=walk_in)
    assert case.channel == "window"


def test_the_lookup_keeps_the_id_number_out_of_urls_and_is_audited(world, window_only,
                                                                    client_for):
    """The clerk looks the walk-in applicant up by their full ID number: the find
    form is posted, so the number never lands in a URL (server and proxy logs, the
    counter browser's history, the Referer of every later request), nor in the
    display toggles' ``next``; a number in the query string is not looked up.
    Each lookup leaves an audit record: who, the number masked, found or not."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    client = client_for(clerk)
    page = client.get(_url(window_only)).content.decode()
    find = re.search(r'<form[^>]*data-testid="find-applicant"[^>]*>', page).group(0)
    assert 'method="post"' in find
    assert 'name="csrfmiddlewaretoken"' in page.split(find, 1)[1].split("</form>", 1)[0]
    number = decrypt_field(world.applicant.id_number_enc)
    page = _find(client, window_only, number=number)
    assert page.status_code == 200
    page = page.content.decode()
    assert 'data-testid="applicant-found"' in page
    assert number not in "".join(re.findall(r'(?:href|action)="([^"]*)"', page))
    assert {f'value="{_url(window_only)}"'} == set(re.findall(
        r'name="next" (value="[^"]*")', page))
    stranger = valid_id_number(seq=42)
    assert 'data-testid="applicant-new"' in _find(client, window_only,
                                                  number=stranger).content.decode()
    with _no_case_written():
        ignored = client.get(_url(window_only), {"kind": "person", "number": stranger})
    assert 'data-testid="window-application"' not in ignored.content.decode()
    looked_up = AuditRecord.objects.filter(
        action=DirectoryAction.APPLICANT_LOOKED_UP).order_by("seq")
    assert [(r.actor_id, r.object_id, r.changes) for r in looked_up] == [
        (clerk.pk, str(world.applicant.pk),
         {"kind": "person", "id_number": world.applicant.id_number_masked, "found": True}),
        (clerk.pk, "", {"kind": "person", "id_number": stranger[:4] + "*" * 10 + stranger[-4:],
                        "found": False}),
    ]


def test_large_text_on_the_window_page_keeps_what_the_clerk_typed(world, client_for):
    """The display toggles send the window's application form along, as the apply
    page's: 大字模式 brings the page back with the applicant looked up again and the
    name, phone and answers the clerk typed, and asks for the chosen files again."""
    version = publish_item(world, name="窗口办理事项", online_depth=2,
                           form_fields=[{"name": "area", "label": "经营面积",
                                         "type": "number", "required": True}])
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    number = valid_id_number(seq=41)
    page = _find(client, version, number=number).content.decode()
    toggle = re.search(r'<button[^>]*data-testid="large-text"[^>]*>', page).group()
    assert 'form="window-application"' in toggle and 'formaction="/display/"' in toggle
    assert 'id="window-application"' in page
    key = re.search(r'name="key" value="([0-9a-f]+)"', page).group(1)
    material = version.materials.first()
    with _no_case_written():
        switched = client.post("/display/", {
            "key": key, "kind": "person", "number": number, "name": "王五",
            "phone": "13700002222", "field_area": "88", f"material_{material.pk}": "申请书.pdf",
            "large_text": "on", "next": _url(version), "display_keeps_form": "1"},
            follow=True)
    assert switched.redirect_chain == [(_url(version), 302)]
    page = switched.content.decode()
    assert 'class="large-text"' in page and 'data-testid="applicant-new"' in page
    assert 'value="王五"' in _field(page, "name")
    assert 'value="13700002222"' in _field(page, "phone")
    assert 'value="88"' in _field(page, "f-area")
    assert f'name="key" value="{key}"' in page
    assert "所选文件未能保存，请重新选择。" in page


def test_a_window_draft_offers_the_applicant_no_edit_link(world, client_for):
    """A refused answer keeps the window's scans in a draft, submitted by the clerk,
    for a citizen with an account.  Its case page offers the citizen no 修改申请信息:
    the apply page continues only the viewer's own drafts (it would answer 404)."""
    version = publish_item(world, name="带表单的许可",
                           form_fields=[{"name": "area", "label": "经营面积",
                                         "type": "number", "required": True}])
    number = decrypt_field(world.applicant.id_number_enc)
    refused = client_for(world.user("a", Role.WINDOW_CLERK)).post(
        _url(version), _form(version, number=number, key="w-1", field_area="八十"))
    assert refused.status_code == 400
    case = Case.objects.get()
    assert (case.status, case.applicant_id, case.channel) == (
        Case.Status.DRAFT, world.applicant.pk, "window")
    citizen = client_for(world.citizen)
    page = citizen.get(f"/my/cases/{case.pk}/")
    assert page.status_code == 200
    assert 'data-testid="edit-draft"' not in page.content.decode()
    assert citizen.get(f"/services/items/{version.item.impl_code}/apply/?draft={case.pk}"
                       ).status_code == 404


def test_the_workbench_links_the_window_for_whoever_the_window_pages_admit(world, client_for):
    """The link follows the permission the window's pages ask: a clerk through
    a scope grant (serving at another agency's window) sees it, a reviewer
    does not, and each is let in or turned away by the page alike."""
    reviewer = world.user("b", Role.REVIEWER)
    granted = world.user("a", Role.REVIEWER)
    directory_services.scope_grant_create(actor=world.admin, user=granted,
                                          role=Role.WINDOW_CLERK, agency=world.agency_b,
                                          reason="综合窗口代收乙局事项")
    for user, shown in ((reviewer, False), (granted, True)):
        client = client_for(user)
        home = client.get("/workbench/").content.decode()
        assert ('data-testid="window-apply-link"' in home) is shown
        assert (client.get("/workbench/apply/").status_code == 200) is shown


def _refused_at_the_window(world, client, *, seq):
    """A filing refused for a missing 申请书, with an answer and the other scan
    given: the draft it leaves, and the item."""
    version = publish_item(world, name="带表单的窗口事项", online_depth=1, materials=[
        {"name": "申请书", "forms": ["original"]}, {"name": "营业执照", "forms": ["copy"]},
    ], form_fields=[{"name": "area", "label": "经营面积", "type": "number",
                     "required": True}])
    number = valid_id_number(seq=seq)
    refused = client.post(_url(version), _form(version, number=number, name="王五",
                                                files={"申请书": None}, field_area="80",
                                                key="w-left"))
    assert refused.status_code == 400
    draft = Case.objects.get()
    assert (draft.status, draft.channel) == (Case.Status.DRAFT, "window")
    return version, number, draft


def test_a_refused_filing_is_listed_and_continued_another_day(world, client_for):
    """The applicant goes to fetch the missing document: the clerk finds the
    filing under 未提交的代办申请, continues it (the applicant looked up again
    by the document in hand), attaches the missing scan only, and the draft
    is submitted: one case, the answer and the first scan kept."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    client = client_for(clerk)
    version, number, draft = _refused_at_the_window(world, client, seq=31)

    listing = client.get("/workbench/apply/").content.decode()
    assert 'href="/workbench/window-drafts/"' in listing and "未提交的代办申请 1 件" in listing
    drafts = client.get("/workbench/window-drafts/").content.decode()
    continue_url = f"{_url(version)}?draft={draft.pk}"
    assert f'href="{continue_url}"' in drafts and "王五" in drafts

    opened = client.get(continue_url).content.decode()
    assert 'data-testid="continuing-draft"' in opened and "王五" in opened
    # The number is not shown again: the clerk checks the document in hand.
    assert re.search(r'id="kind-person"\s+checked', opened) and number not in opened
    found = client.post(continue_url, {"action": "find", "kind": "person", "number": number})
    page = found.content.decode()
    assert found.status_code == 200 and 'data-testid="applicant-found"' in page
    assert 'name="key" value="w-left"' in page
    assert 'value="80"' in _field(page, "f-area")
    assert 'data-testid="material-kept-' in page and "已保存" in page

    done = client.post(continue_url, {"key": "w-left", "kind": "person", "number": number,
                                      "field_area": "80",
                                      **material_uploads(version, {"营业执照": None})})
    assert done.status_code == 302, done.content.decode()[:2000]
    case = Case.objects.get()
    assert (case.pk, case.status, case.data) == (draft.pk, Case.Status.SUBMITTED, {"area": 80})
    assert set(MaterialFile.objects.filter(case=case).values_list("material__name", flat=True)
               ) == {"申请书", "营业执照"}
    assert "没有未提交的代办申请" in client.get("/workbench/window-drafts/").content.decode()
    assert "未提交的代办申请" not in client.get("/workbench/apply/").content.decode()


def test_a_window_draft_is_continued_after_a_new_version_is_published(world, client_for):
    """The applicant comes back with the missing document after the agency
    published v2.  继续办理 still opens the draft, on v2's form: its key, its
    answer and its scan (as v2's material of the same name); the missing scan
    attached, the draft moves onto v2 and is submitted, nothing given lost."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    client = client_for(clerk)
    version, number, draft = _refused_at_the_window(world, client, seq=33)
    v2 = publish_again(world, version, name="带表单的窗口事项", online_depth=1,
                       materials=[{"name": "申请书", "forms": ["original"]},
                                  {"name": "营业执照", "forms": ["copy"]}],
                       form_fields=version.form_fields)
    continue_url = f"{_url(version)}?draft={draft.pk}"

    found = client.post(continue_url, {"action": "find", "kind": "person", "number": number})

    page = found.content.decode()
    assert found.status_code == 200 and 'name="key" value="w-left"' in page
    assert f'name="version" value="{v2.pk}"' in page
    assert 'value="80"' in _field(page, "f-area")
    kept = v2.materials.get(name="营业执照")
    assert f'data-testid="material-kept-{kept.order}"' in page
    done = client.post(continue_url, {"key": "w-left", "kind": "person", "number": number,
                                      "version": str(v2.pk), "field_area": "80",
                                      **material_uploads(v2, {"营业执照": None})})
    assert done.status_code == 302, done.content.decode()[:2000]
    case = Case.objects.get()
    assert (case.pk, case.status, case.item_version_id) == (
        draft.pk, Case.Status.SUBMITTED, v2.pk)
    assert set(MaterialFile.objects.filter(case=case).values_list("material_id", flat=True)
               ) == set(v2.materials.values_list("pk", flat=True))


def test_a_window_draft_is_given_up_by_its_clerk_alone(world, client_for):
    """放弃 withdraws the draft, recorded with its reason; a colleague at the
    same window neither lists, continues nor gives up another clerk's draft."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    client = client_for(clerk)
    version, _number, draft = _refused_at_the_window(world, client, seq=32)
    other = client_for(colleague(world, "a", Role.WINDOW_CLERK, "window2"))
    assert "没有未提交的代办申请" in other.get("/workbench/window-drafts/").content.decode()
    assert other.get(f"{_url(version)}?draft={draft.pk}").status_code == 404
    with nothing_written():
        assert other.post("/workbench/window-drafts/", {"action": "discard",
                                                        "case": draft.pk}).status_code == 404
    given_up = client.post("/workbench/window-drafts/", {"action": "discard", "case": draft.pk})
    assert given_up.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.outcome_reason) == (Case.Status.WITHDRAWN,
                                                    "窗口代办申请未提交，已放弃")
    assert event_types(draft) == [EventType.WITHDRAWN]
    assert "没有未提交的代办申请" in client.get("/workbench/window-drafts/").content.decode()
    # Given up, it is continued no more.
    assert client.get(f"{_url(version)}?draft={draft.pk}").status_code == 404


def test_a_clerk_moved_to_another_agency_s_window_is_not_listed_a_s_drafts(world, client_for):
    """A's clerk leaves a window draft at A and is moved to B's window (调岗):
    the draft is neither listed, counted on the items list nor given up
    there, as it is not continued (404): the applicant's name and item are
    not the clerk's to see at B's window (``permissions.counter_agencies``)."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    client = client_for(clerk)
    version, _number, draft = _refused_at_the_window(world, client, seq=41)
    directory_services.staff_post(actor=world.admin, user=clerk,
                                  post=world.posts["b"][Role.WINDOW_CLERK])
    directory_services.staff_unpost(actor=world.admin, user=clerk,
                                    post=world.posts["a"][Role.WINDOW_CLERK])

    assert client.get(f"{_url(version)}?draft={draft.pk}").status_code == 404
    drafts = client.get("/workbench/window-drafts/").content.decode()
    assert "没有未提交的代办申请" in drafts and "王五" not in drafts
    assert "未提交的代办申请" not in client.get("/workbench/apply/").content.decode()
    with nothing_written():
        assert client.post("/workbench/window-drafts/", {"action": "discard",
                                                         "case": draft.pk}).status_code == 404
    assert reload(draft).status == Case.Status.DRAFT


def test_a_continued_draft_is_not_filed_for_another_person_s_document(world, client_for):
    """继续办理 looks the applicant up again by the document in hand: another
    person's document (someone else at the counter, the wrong row of the
    list) is refused at the number field, the draft's key, answers and scans
    not shown; submitted anyway, nothing is filed and nobody registered, so
    that 王五's answers and scans never become another's application."""
    client = client_for(world.user("a", Role.WINDOW_CLERK))
    version, number, draft = _refused_at_the_window(world, client, seq=42)
    registered = valid_id_number(seq=43)
    directory_services.applicant_register(
        actor=world.user("a", Role.WINDOW_CLERK), kind=Applicant.Kind.PERSON, name="李四",
        id_number=registered, phone="13900004343")
    continue_url = f"{_url(version)}?draft={draft.pk}"

    with _no_case_written():
        found = client.post(continue_url, {"action": "find", "kind": "person",
                                           "number": registered})
        page = found.content.decode()
        assert found.status_code == 400
        assert _marked(page, "number") == (
            "该证件号码不是此草稿的申请人（王五）的，请核对申请人出示的证件。")
        assert 'name="key"' not in page and 'data-testid="material-kept-' not in page
        assert 'data-testid="applicant-found"' not in page
        for other, name in ((registered, "李四"), (valid_id_number(seq=44), "赵六")):
            done = client.post(continue_url, {"key": "w-left", "kind": "person",
                                              "number": other, "name": name,
                                              "field_area": "80",
                                              **material_uploads(version, {"营业执照": None})})
            assert done.status_code == 400
            assert "此草稿的申请人（王五）" in _marked(done.content.decode(), "number")
    draft.refresh_from_db()
    assert (draft.status, draft.applicant.name) == (Case.Status.DRAFT, "王五")
    # 王五's own document still continues it.
    again = client.post(continue_url, {"action": "find", "kind": "person", "number": number})
    assert again.status_code == 200 and 'name="key" value="w-left"' in again.content.decode()


def test_a_window_draft_is_not_switched_to_another_applicant_in_the_service(world):
    """The service refuses (409 ``cases.idempotency_key_reused``) a window
    draft's key sent again for another applicant, whatever the page (the API
    goes through it), and writes nothing; an account's own draft still
    switches between the applicant records it acts for (the apply page's
    choice)."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    version = publish_item(world, name="窗口代办许可", online_depth=2)
    wang, li = (directory_services.applicant_register(
        actor=clerk, kind=Applicant.Kind.PERSON, name=name,
        id_number=valid_id_number(seq=seq), phone=f"139000045{seq}")
        for name, seq in (("王五", 45), ("李四", 46)))
    draft = services.case_create(actor=clerk, item_version=version, applicant=wang,
                                 idempotency_key="counter-1", unfinished=True)
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.case_create(actor=clerk, item_version=version, applicant=li,
                             idempotency_key="counter-1", unfinished=True)
    assert refused.value.code == CasesErrorCode.KEY_REUSED
    assert "case_id" not in refused.value.fields
    draft.refresh_from_db()
    assert draft.applicant_id == wang.pk

    online = publish_item(world, name="网上许可")
    company = directory_services.applicant_register(
        actor=world.citizen, kind=Applicant.Kind.LEGAL, name="张记餐饮有限公司",
        credit_code=valid_credit_code(778), legal_rep_name="张三", for_self=True)
    own = services.case_create(actor=world.citizen, item_version=online,
                               applicant=world.applicant, idempotency_key="mine-1",
                               unfinished=True)
    switched = services.case_create(actor=world.citizen, item_version=online,
                                    applicant=company, idempotency_key="mine-1",
                                    unfinished=True)
    assert (switched.pk, switched.applicant_id, switched.channel) == (own.pk, company.pk,
                                                                      "online")
