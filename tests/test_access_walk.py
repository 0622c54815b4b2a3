"""Every route and page, with every role, against objects of another agency.

A staff member acts only within their own agency (and its units) unless a
grant says otherwise.  This walk takes each API operation and each page of
the platform, points it at agency B's objects, and calls it as a holder of
every role in agency A, as a citizen, and as an API token of agency A: each
call must be refused and must write nothing.  Every route must be listed
here, so a new route fails this test until someone decides which kind it is.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from yizhan.accounts import services as account_services
from yizhan.accounts.models import ApiToken
from yizhan.api import api
from yizhan.audit.models import AuditRecord
from yizhan.catalog import transfer
from yizhan.catalog.models import Item
from yizhan.directory.models import Posting
from yizhan.directory.roles import Role
from yizhan.supervision.models import AgencyScore

REFUSED = {401, 403, 404}

# Routes that are public reference data by law or by design, with the reason.
PUBLIC = {
    ("GET", "/api/v1/directory/divisions"): "administrative divisions are public reference data",
    ("GET", "/api/v1/directory/divisions/{code}"): "administrative divisions are public",
    ("GET", "/api/v1/directory/agencies"): "the organisation of government is disclosed",
    ("GET", "/api/v1/directory/agencies/{agency_id}"): "the organisation of government is public",
    ("GET", "/api/v1/catalog/items"): "the published service catalog is public",
    ("GET", "/api/v1/catalog/items/{impl_code}"): "service guides are public",
    ("GET", "/api/v1/catalog/themes"): "reference data",
    ("GET", "/api/v1/catalog/export"): "the published service catalog is public",
    ("GET", "/api/v1/cases/status"): "needs the case number and its query code",
    ("POST", "/api/v1/cases/status"): "needs the case number and its query code",
    ("GET", "/api/v1/certificates/verify/{token}"): "the QR code's public verification",
    ("POST", "/api/v1/certificates/verify/{token}"):
        "anyone checks the file they hold against the public certificate",
}

# Routes about the caller themselves or not tied to any agency, with the reason.
NOT_AGENCY_SCOPED = {
    ("GET", "/api/v1/accounts/me"): "the caller's own account",
    ("POST", "/api/v1/directory/applicants"): "applicants are persons, not agency data",
    ("GET", "/api/v1/directory/applicants/{applicant_id}"): "masked applicant identity",
    ("POST", "/api/v1/directory/applicants/{applicant_id}/reveal"):
        "identity check at the window; audited with its reason (tests/directory)",
    ("POST", "/api/v1/cases"): "an applicant's own application (tests/cases)",
    ("GET", "/api/v1/cases/mine"): "the caller's own applications",
    ("GET", "/api/v1/tasks/inbox"): "the caller's own inbox, built from their scope",
    ("GET", "/api/v1/supervision/rules"): "the city's supervision rules, not agency data",
    ("PATCH", "/api/v1/supervision/rules/{code}"):
        "city-wide rules; only supervision officers change them (tests/supervision)",
    ("GET", "/api/v1/supervision/scores/scheme"): "the city's scoring scheme, not agency data",
    ("PUT", "/api/v1/supervision/scores/scheme"):
        "city-wide scheme; only supervision officers change it (tests/supervision)",
    ("POST", "/api/v1/supervision/scores/compute"):
        "scores only the caller's own scope, never a named agency (tests/supervision)",
}

# Lists that answer every caller but must never contain agency B's rows.
FILTERED = {
    "/api/v1/audit/records": "agency_id",
    "/api/v1/supervision/alerts": "agency_id",
    "/api/v1/supervision/coverage": "agency_id",
    "/api/v1/supervision/scores": "agency_id",
    "/api/v1/supervision/notices": "agency_id",
}

# Downloads that answer every reader but must never name agency B.
FILTERED_FILES = {
    "/api/v1/supervision/scores/report": "the report of the caller's agencies only",
}


def _download_text(response) -> str:
    """The text of a PDF or Excel download, to look for names in it."""
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    if response["Content-Type"] == "application/pdf":
        return "".join(page.extract_text() for page in PdfReader(
            io.BytesIO(response.content)).pages)
    workbook = load_workbook(io.BytesIO(response.content))
    return repr([list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets])


def _item_of_b(world):
    from tests.factories import item_content
    from yizhan.catalog import services as catalog_services

    return catalog_services.item_create(actor=world.admin, agency=world.agency_b,
                                        data=item_content("乙局事项"))


# What the catalog desk's actions beyond submit/publish/return/draft post.
DESK_FORMS = {"withdraw/": {"kind": "suspended", "reason": "越权"},
              "restore/": {"reason": "越权"},
              "files/attach/": {"kind": "blank_form", "material": "1"},
              "files/detach/": {"kind": "blank_form", "material": "1"},
              "edit/": {"name": "越权", "legal_basis": "越权"}}


def _desk_form(action: str) -> dict:
    """The form a catalog desk action under /workbench/catalog/versions/<id>/ posts."""
    form = {"note": "x", **DESK_FORMS.get(action, {})}
    if action == "files/attach/":
        form["file"] = SimpleUploadedFile("申请书.pdf", b"%PDF-1.4\n%%EOF\n")
    return form


def _cases_of_b(world):
    """Two cases handled by agency B for another citizen: one under review,
    with an extension request waiting for B's head, one closed with its
    certificate."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import PASSWORD, item_content, valid_id_number
    from yizhan.cases import services as case_services
    from yizhan.cases.models import Task
    from yizhan.catalog import services as catalog_services
    from yizhan.core import tasks
    from yizhan.directory.models import Applicant
    from yizhan.directory.services import person_sign_up

    version = catalog_services.item_create(actor=world.admin, agency=world.agency_b,
                                           data=item_content("乙局许可"))
    catalog_services.item_version_submit(actor=world.admin, version=version)
    catalog_services.item_version_publish(actor=world.user("b", Role.SYSADMIN),
                                          version=version)
    version.refresh_from_db()
    other = person_sign_up(username="citizen.b", full_name="李四",
                           id_number=valid_id_number(seq=71), password=PASSWORD)
    applicant = Applicant.objects.get(user=other)
    made = []
    for key in ("open", "closed"):
        case = case_services.case_create(actor=other, item_version=version,
                                         applicant=applicant, idempotency_key=key)
        for material in version.materials.all():
            case_services.material_upload(
                actor=other, case=case, material_id=material.pk,
                upload=SimpleUploadedFile("m.pdf", b"%PDF-1.4\n%%EOF\n"))
        case, _code = case_services.case_submit(actor=other, case=case)
        steps = 1 if key == "open" else 4
        for _ in range(steps):
            task = Task.objects.get(case=case, status=Task.Status.OPEN)
            case_services.task_complete(actor=world.user("b", task.role), task=task,
                                        decision="approve")
        if key == "closed":
            tasks.run_now("cases.issue_certificate", case_id=case.pk)
        else:
            # B's reviewer asks B's head for an extension: a request to decline
            # or withdraw, which nobody of A may touch.
            case_services.case_extension_request(actor=world.user("b", Role.REVIEWER),
                                                 case=case, workdays=5, reason="乙局核查")
        case.refresh_from_db()
        made.append(case)
    return made


def _walk_in_correction_of_b(world):
    """A case B's window filed for an applicant without an account, then told to
    correct: its printable notice and the window's correction form are B's."""
    from tests.cases.helpers import open_task, publish_item, submitted
    from tests.factories import valid_id_number
    from yizhan.cases import services as case_services
    from yizhan.directory import services as directory_services

    clerk_b = world.user("b", Role.WINDOW_CLERK)
    walk_in = directory_services.applicant_register(
        actor=clerk_b, kind="person", name="赵六", id_number=valid_id_number(seq=72),
        phone="13700007272")
    version = publish_item(world, agency=world.agency_b, name="乙局窗口事项")
    case, _code = submitted(world, version, actor=clerk_b, applicant=walk_in)
    case_services.case_request_correction(actor=clerk_b, task=open_task(case), items=[
        {"material_id": version.materials.first().pk, "problem": "缺少签名"}],
        note="乙局补充说明")
    case.refresh_from_db()
    return case


def _alert_of_b(world):
    """An alert on agency B: a sweep a year ahead finds B's open case overdue."""
    import datetime

    from django.utils import timezone

    from yizhan.supervision.detection import sweep
    from yizhan.supervision.models import Alert

    sweep(now=timezone.now() + datetime.timedelta(days=400))
    return Alert.objects.filter(agency=world.agency_b).first()


def _scores_of_b(world):
    """B's stored scores: the city's office computes a period holding B's alerts.

    Returns the period's key.
    """
    import datetime

    from django.utils import timezone

    from tests.supervision.helpers import city_officer
    from yizhan.supervision.scoring import Period
    from yizhan.supervision.scoring_services import scores_compute

    today = timezone.localdate()
    period = Period.of(today, today + datetime.timedelta(days=401))
    run = scores_compute(actor=city_officer(world), period=period)
    assert run.agency_scores.filter(agency=world.agency_b).exists()
    return period.key


def _notice_to_b(world):
    """A supervision notice the city's office issued to B (after ``_scores_of_b``).

    Returns the notice and an alert of B still open.
    """
    from yizhan.directory.models import Posting
    from yizhan.supervision.models import Alert
    from yizhan.supervision.services import notice_issue

    officer = Posting.objects.get(post__role=Role.SUPERVISION_OFFICER,
                                  post__agency__name="示范市监察局").user
    first, second = Alert.objects.filter(agency=world.agency_b, status="open")[:2]
    notice = notice_issue(actor=officer, alert_ids=[first.pk], content={
        "type": "correction", "title": "乙局纠错通知", "requirements": "整改"})
    return notice, second


def _foreign(world):
    """(method, path) -> (concrete path, JSON body) aimed at agency B."""
    from tests.factories import item_content
    from yizhan.cases.models import Task

    b = world.agency_b
    version_b = _item_of_b(world)
    open_case, closed_case = _cases_of_b(world)
    review = Task.objects.get(case=open_case, status=Task.Status.OPEN)
    c, t = open_case.pk, review.pk
    post_b = world.posts["b"][Role.REVIEWER]
    token_b, _secret = account_services.token_issue(actor=world.admin, agency=b, name="乙系统",
                                                    role=Role.REVIEWER)
    alert_b = _alert_of_b(world)
    period = _scores_of_b(world)
    notice_b, alert_b = _notice_to_b(world)
    return {
        ("GET", "/api/v1/supervision/notices"):
            (f"/api/v1/supervision/notices?agency_id={b.pk}", None),
        ("GET", "/api/v1/supervision/notices/{case_id}"):
            (f"/api/v1/supervision/notices/{notice_b.pk}", None),
        ("POST", "/api/v1/supervision/notices"):
            ("/api/v1/supervision/notices", {"alerts": [alert_b.pk], "type": "correction",
                                             "title": "越权督办", "requirements": "整改"}),
        ("GET", "/api/v1/supervision/scores"):
            (f"/api/v1/supervision/scores?period={period}", None),
        ("GET", "/api/v1/supervision/scores/agencies/{agency_id}"):
            (f"/api/v1/supervision/scores/agencies/{b.pk}?period={period}", None),
        ("GET", "/api/v1/supervision/scores/report"):
            (f"/api/v1/supervision/scores/report?period={period}&format=xlsx", None),
        ("GET", "/api/v1/supervision/alerts"):
            (f"/api/v1/supervision/alerts?agency_id={b.pk}&status=", None),
        ("GET", "/api/v1/supervision/coverage"): ("/api/v1/supervision/coverage", None),
        ("POST", "/api/v1/supervision/alerts/{alert_id}/clear"):
            (f"/api/v1/supervision/alerts/{alert_b.pk}/clear", {"reason": "越权核销"}),
        ("GET", "/api/v1/supervision/cases/{case_id}/monitoring"):
            (f"/api/v1/supervision/cases/{c}/monitoring", None),
        ("POST", "/api/v1/directory/divisions"):
            ("/api/v1/directory/divisions", {"code": "449902", "name": "新区",
                                             "parent_code": "449900"}),
        ("POST", "/api/v1/directory/agencies"):
            ("/api/v1/directory/agencies", {"name": "乙局内设科", "kind": "unit",
                                            "division_code": "449900", "parent_id": b.pk}),
        ("GET", "/api/v1/directory/agencies/{agency_id}/posts"):
            (f"/api/v1/directory/agencies/{b.pk}/posts", None),
        ("POST", "/api/v1/directory/agencies/{agency_id}/posts"):
            (f"/api/v1/directory/agencies/{b.pk}/posts", {"name": "新岗", "role": "reviewer"}),
        ("GET", "/api/v1/directory/agencies/{agency_id}/staff"):
            (f"/api/v1/directory/agencies/{b.pk}/staff", None),
        ("POST", "/api/v1/directory/posts/{post_id}/staff"):
            (f"/api/v1/directory/posts/{post_b.pk}/staff",
             {"username": "intruder", "full_name": "冒名者", "password": "Long-enough-pw-1"}),
        ("POST", "/api/v1/directory/staff/{user_id}/deactivate"):
            (f"/api/v1/directory/staff/{world.user('b', Role.REVIEWER).pk}/deactivate",
             {"reason": "越权停用"}),
        ("POST", "/api/v1/directory/posts/{post_id}/staff/{user_id}"):
            (f"/api/v1/directory/posts/{post_b.pk}/staff/"
             f"{world.user('b', Role.WINDOW_CLERK).pk}", None),
        ("DELETE", "/api/v1/directory/posts/{post_id}/staff/{user_id}"):
            (f"/api/v1/directory/posts/{post_b.pk}/staff/{world.user('b', Role.REVIEWER).pk}",
             None),
        ("POST", "/api/v1/directory/staff/{user_id}/totp/disable"):
            (f"/api/v1/directory/staff/{world.user('b', Role.REVIEWER).pk}/totp/disable",
             {"reason": "越权重置"}),
        ("POST", "/api/v1/accounts/tokens"):
            ("/api/v1/accounts/tokens", {"agency_id": b.pk, "name": "越权令牌",
                                         "role": "reviewer"}),
        ("GET", "/api/v1/accounts/agencies/{agency_id}/tokens"):
            (f"/api/v1/accounts/agencies/{b.pk}/tokens", None),
        ("POST", "/api/v1/accounts/tokens/{token_id}/revoke"):
            (f"/api/v1/accounts/tokens/{token_b.pk}/revoke", {"reason": "越权吊销"}),
        ("GET", "/api/v1/audit/records"):
            (f"/api/v1/audit/records?object={b.name}", None),
        ("POST", "/api/v1/catalog/items"):
            ("/api/v1/catalog/items", {"agency_id": b.pk, "content": item_content("越权事项")}),
        ("GET", "/api/v1/catalog/versions/{version_id}"):
            (f"/api/v1/catalog/versions/{version_b.pk}", None),
        ("PUT", "/api/v1/catalog/versions/{version_id}"):
            (f"/api/v1/catalog/versions/{version_b.pk}", item_content("篡改")),
        ("POST", "/api/v1/catalog/items/{impl_code}/versions"):
            (f"/api/v1/catalog/items/{version_b.item.impl_code}/versions", {}),
        ("POST", "/api/v1/catalog/versions/{version_id}/submit"):
            (f"/api/v1/catalog/versions/{version_b.pk}/submit", {}),
        ("POST", "/api/v1/catalog/versions/{version_id}/publish"):
            (f"/api/v1/catalog/versions/{version_b.pk}/publish", {"note": ""}),
        ("POST", "/api/v1/catalog/versions/{version_id}/return"):
            (f"/api/v1/catalog/versions/{version_b.pk}/return", {"note": "x"}),
        ("GET", "/api/v1/cases/{case_id}"): (f"/api/v1/cases/{c}", None),
        ("POST", "/api/v1/cases/{case_id}/materials"):
            (f"/api/v1/cases/{c}/materials", {"__file__": ("m.pdf", b"%PDF-1.4\n%%EOF\n"),
                                               "material_id": "1"}),
        ("POST", "/api/v1/cases/{case_id}/submit"): (f"/api/v1/cases/{c}/submit", {}),
        ("POST", "/api/v1/cases/{case_id}/correct"): (f"/api/v1/cases/{c}/correct", {}),
        ("POST", "/api/v1/cases/{case_id}/query-code"): (f"/api/v1/cases/{c}/query-code", {}),
        ("POST", "/api/v1/cases/{case_id}/withdraw"):
            (f"/api/v1/cases/{c}/withdraw", {"reason": "越权撤回"}),
        ("POST", "/api/v1/cases/{case_id}/suspend"):
            (f"/api/v1/cases/{c}/suspend", {"reason": "hearing", "note": "越权"}),
        ("POST", "/api/v1/cases/{case_id}/resume"): (f"/api/v1/cases/{c}/resume", {}),
        ("POST", "/api/v1/cases/{case_id}/extend"):
            (f"/api/v1/cases/{c}/extend", {"workdays": 5, "reason": "越权延期"}),
        ("POST", "/api/v1/cases/{case_id}/extension-request"):
            (f"/api/v1/cases/{c}/extension-request", {"workdays": 5, "reason": "越权申请"}),
        ("POST", "/api/v1/cases/{case_id}/extension-request/decline"):
            (f"/api/v1/cases/{c}/extension-request/decline", {"note": "越权"}),
        ("POST", "/api/v1/cases/{case_id}/extension-request/withdraw"):
            (f"/api/v1/cases/{c}/extension-request/withdraw", {}),
        ("POST", "/api/v1/cases/{case_id}/fees"):
            (f"/api/v1/cases/{c}/fees", {"fee_id": 1, "amount": "10"}),
        ("GET", "/api/v1/cases/{case_id}/certificate"):
            (f"/api/v1/cases/{closed_case.pk}/certificate", None),
        ("POST", "/api/v1/tasks/{task_id}/claim"): (f"/api/v1/tasks/{t}/claim", {}),
        ("POST", "/api/v1/tasks/{task_id}/complete"):
            (f"/api/v1/tasks/{t}/complete", {"decision": "approve"}),
        ("POST", "/api/v1/tasks/{task_id}/correction"):
            (f"/api/v1/tasks/{t}/correction", {"items": [], "note": ""}),
        ("POST", "/api/v1/tasks/{task_id}/return"):
            (f"/api/v1/tasks/{t}/return", {"opinion": "越权退回"}),
        ("POST", "/api/v1/certificates/{number}/revoke"):
            (f"/api/v1/certificates/{closed_case.certificate.number}/revoke",
             {"reason": "越权注销"}),
        ("POST", "/api/v1/catalog/import"):
            ("/api/v1/catalog/import", {"__file__": ("items.json", json.dumps(
                {"items": [dict(item_content("越权导入"), agency=b.name)]}).encode())}),
    }


def _api_operations():
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    for path, methods in schema["paths"].items():
        for method in methods:
            yield method.upper(), path


def _actors_of_agency_a(world):
    """Everyone who must not reach B: each role of A, a citizen, A's token."""
    actors = [(f"a.{role}", world.user("a", role)) for role in Role.values]
    actors.append(("citizen", world.citizen))
    _token, secret = account_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                  name="甲系统", role=Role.AGENCY_HEAD)
    actors.append(("token-a", secret))
    return actors


def _client(actor):
    if isinstance(actor, str):
        return Client(HTTP_AUTHORIZATION=f"Bearer {actor}")
    client = Client()
    client.force_login(actor)
    return client


def _snapshot():
    return (AuditRecord.objects.count(), Posting.objects.count(), ApiToken.objects.filter(
        revoked_at__isnull=False).count())


def test_every_api_route_is_classified(world):
    """A new API route must be declared public, not agency-scoped, or walked."""
    walked = set(_foreign(world))
    unclassified = [op for op in _api_operations()
                    if op not in PUBLIC and op not in NOT_AGENCY_SCOPED and op not in walked]
    assert unclassified == [], f"classify these routes in {__name__}: {unclassified}"


@pytest.mark.django_db
def test_no_role_of_agency_a_reaches_agency_b_through_the_api(world):
    """Every scoped API route refuses every role of A, a citizen and A's token, writing nothing."""
    foreign = _foreign(world)
    actors = _actors_of_agency_a(world)
    # Grants that would legitimately widen a scope are not part of this world.
    before = _snapshot()
    failures = []
    for (method, _template), (path, body) in foreign.items():
        for label, actor in actors:
            client = _client(actor)
            if method == "GET":
                response = client.get(path)
            elif body and "__file__" in body:
                name, raw = body["__file__"]
                upload = SimpleUploadedFile(name, raw, content_type="application/json")
                fields = {k: v for k, v in body.items() if k != "__file__"}
                response = client.post(path, {"file": upload, **fields})
            else:
                response = client.generic(method, path, json.dumps(body or {}),
                                          content_type="application/json")
            ok = response.status_code in REFUSED
            filtered = FILTERED.get(path.split("?")[0])
            if method == "GET" and filtered and response.status_code == 200:
                # Readers of a list may search it, but never see B's rows.
                ok = all(row[filtered] != world.agency_b.pk for row in response.json())
            if (method == "GET" and path.split("?")[0] in FILTERED_FILES
                    and response.status_code == 200):
                ok = world.agency_b.name not in _download_text(response)
            if not ok:
                failures.append((label, method, path, response.status_code))
            elif response.status_code in REFUSED:
                assert "code" in response.json(), (label, path)
    assert failures == [], failures
    assert _snapshot() == before


def _page_names():
    names = set()

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace
                if ns in ("api", "admin"):
                    continue
                walk(entry.url_patterns, f"{ns}:" if ns else prefix)
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(prefix + entry.name)

    walk(get_resolver().url_patterns)
    return names


PAGES_PUBLIC = {"portal:home", "portal:disclosure", "catalog:index", "catalog:search",
                "catalog:guide", "portal:participation", "cases:status", "cases:verify",
                "portal:display", "portal:login", "portal:logout", "portal:register",
                "portal:password_reset", "portal:password_reset_confirm", "set_language",
                "javascript-catalog",
                # A file of a published item; a draft's only to its editors
                # (catalog.selectors.catalog_file_for, tests/catalog/test_files.py).
                "catalog:file"}
PAGES_OWN_ACCOUNT = {"portal:account", "portal:password_change", "portal:totp",
                     "cases:apply", "cases:mine"}
# Pages of one case: walked below against agency B's cases.
PAGES_CASE = {"cases:mine_detail", "cases:mine_correct", "cases:mine_submit",
              "cases:mine_withdraw", "cases:certificate", "cases:file",
              # The printable 补正材料通知书: the applicant's, and the accepting agency's.
              "cases:correction_notice"}
# Staff pages whose content is limited to the viewer's agencies: checked below.
PAGES_STAFF = {"portal:workbench", "portal:workbench_extensions", "portal:my_agency",
               "portal:my_agency_post_staff", "portal:my_agency_unpost_staff",
               "portal:my_agency_totp_reset",
               "portal:audit_search", "catalog:desk",
               "catalog:desk_import", "catalog:desk_export", "catalog:desk_version",
               "catalog:desk_action", "catalog:desk_file_attach", "catalog:desk_file_detach",
               "catalog:desk_new", "catalog:desk_edit",
               "cases:agency_cases", "cases:staff_case", "cases:staff_correct", "cases:task",
               "cases:task_action", "cases:case_action", "supervision:dashboard",
               "supervision:alerts",
               "supervision:alert_clear", "supervision:case", "supervision:rules",
               "supervision:rule", "supervision:scores", "supervision:scores_compute",
               "supervision:scores_report", "supervision:scoring_scheme",
               "supervision:score_agency", "supervision:notices", "supervision:notice_new",
               "supervision:notice", "cases:window_items", "cases:window_apply",
               "cases:window_filed", "cases:window_drafts"}


def test_every_page_is_classified():
    """A new page must be declared public, own-account, or a checked staff page."""
    unclassified = (_page_names() - PAGES_PUBLIC - PAGES_OWN_ACCOUNT - PAGES_STAFF
                    - PAGES_CASE)
    assert unclassified == set(), unclassified


@pytest.mark.django_db
def test_staff_pages_show_nothing_of_agency_b(world):
    """Workbench pages list A's posts and people, never B's."""
    b_names = {u.full_name for u in world.staff["b"].values()} | {"乙局事项", "乙局许可"}
    version_b = _item_of_b(world)
    open_case, closed_case = _cases_of_b(world)
    from yizhan.cases.models import MaterialFile, Task

    task_b = Task.objects.get(case=open_case, status=Task.Status.OPEN)
    file_b = MaterialFile.objects.filter(case=open_case).first()
    case_pages = [f"/my/cases/{open_case.pk}/", f"/my/cases/{closed_case.pk}/certificate/",
                  f"/files/{file_b.pk}/", f"/workbench/cases/{open_case.pk}/",
                  f"/workbench/tasks/{task_b.pk}/",
                  # B's item at A's window, and the filed page of B's case.
                  f"/workbench/apply/{version_b.item.impl_code}/",
                  f"/workbench/filed/{open_case.pk}/"]
    correcting_b = _walk_in_correction_of_b(world)
    b_names |= {correcting_b.number, "乙局补充说明", "乙局窗口事项"}
    case_pages.append(f"/cases/{correcting_b.pk}/correction-notice/")
    alert_b = _alert_of_b(world)
    b_names.add(open_case.number)
    case_pages.append(f"/supervision/cases/{open_case.pk}/")
    period = _scores_of_b(world)
    b_score = AgencyScore.objects.get(agency=world.agency_b, current=True)
    case_pages.append(f"/supervision/scores/agencies/{world.agency_b.pk}/?period={period}")
    notice_b, open_alert_b = _notice_to_b(world)
    b_names.add(notice_b.number)
    case_pages += [f"/supervision/notices/{notice_b.pk}/",
                   f"/workbench/tasks/{notice_b.tasks.get().pk}/"]
    score_pages = (f"/supervision/scores/?period={period}", "/supervision/scores/scheme/",
                   f"/supervision/scores/report/?period={period}&format=pdf",
                   f"/supervision/scores/report/?period={period}&format=xlsx")
    for role in Role.values:
        client = _client(world.user("a", role))
        for url in ("/workbench/", "/workbench/extensions/", "/workbench/agency/",
                    "/workbench/audit/", "/workbench/catalog/", "/workbench/catalog/export/",
                    "/workbench/cases/",
                    "/workbench/apply/", "/workbench/window-drafts/",
                    "/supervision/", "/supervision/alerts/?status=all", "/supervision/rules/",
                    "/supervision/rules/SX-01/", "/supervision/notices/?status=all",
                    f"/supervision/notices/new/?alert={open_alert_b.pk}", *score_pages):
            response = client.get(url)
            assert response.status_code in {200, 403}, (role, url, response.status_code)
            if url.endswith("/export/") and response.status_code == 200:
                text = repr([r.data for r in transfer.read_upload("x.xlsx", response.content)])
            elif "format=" in url and response.status_code == 200:
                text = _download_text(response)
            else:
                text = response.content.decode()
            leaked = [name for name in b_names if name in text]
            if url in score_pages:
                # Scores name agencies themselves: B's name must not appear either.
                leaked += [world.agency_b.name] if world.agency_b.name in text else []
            assert leaked == [], (role, url, leaked)
        for url in case_pages:
            response = client.get(url)
            assert response.status_code in REFUSED, (role, url, response.status_code)
        response = client.post(f"/supervision/alerts/{alert_b.pk}/clear/", {"reason": "越权"})
        assert response.status_code in REFUSED, (role, "alert_clear", response.status_code)
        # 本机关's forms on B's posts and people: 任命岗位, 免去岗位, 重置动态口令.
        post_b, reviewer_b = world.posts["b"][Role.REVIEWER], world.user("b", Role.REVIEWER)
        for url, data in (
            (f"/workbench/agency/posts/{post_b.pk}/staff/",
             {f"post-{post_b.pk}-username": world.user("b", Role.WINDOW_CLERK).username}),
            (f"/workbench/agency/posts/{post_b.pk}/staff/{reviewer_b.pk}/unpost/", {}),
            (f"/workbench/agency/staff/{reviewer_b.pk}/totp/",
             {f"totp-{reviewer_b.pk}-reason": "越权"}),
        ):
            response = client.post(url, data)
            assert response.status_code in REFUSED, (role, url, response.status_code)
        response = client.post("/supervision/notices/new/", {
            "alert": open_alert_b.pk, "type": "correction", "title": "越权督办",
            "requirements": "整改"})
        assert response.status_code in REFUSED, (role, "notice_new", response.status_code)
        response = client.post("/supervision/scores/compute/", {"period": period,
                                                                 "reason": "越权"})
        # A's office may compute, but only its own scope: B's scores stay as they were.
        assert AgencyScore.objects.get(agency=world.agency_b, current=True).pk == b_score.pk
        for action in ("claim", "approve", "reject", "correction", "fee", "return"):
            url = f"/workbench/tasks/{task_b.pk}/{action}/"
            response = client.post(url, {"opinion": "x"})
            assert response.status_code in REFUSED, (role, url, response.status_code)
        for action in ("suspend", "resume", "extend", "revoke", "extension_request",
                       "extension_decline", "extension_withdraw"):
            url = f"/workbench/cases/{open_case.pk}/{action}/"
            response = client.post(url, {"reason": "hearing", "note": "越权", "workdays": "5"})
            assert response.status_code in REFUSED, (role, url, response.status_code)
        for action in ("correct", "submit", "withdraw"):
            response = client.post(f"/my/cases/{open_case.pk}/{action}/")
            assert response.status_code in REFUSED, (role, action, response.status_code)
        # A's window does not take in the corrections of B's walk-in applicant.
        for url in (f"/workbench/cases/{correcting_b.pk}/correct/",
                    f"/my/cases/{correcting_b.pk}/correct/"):
            response = client.post(url)
            assert response.status_code in REFUSED, (role, url, response.status_code)
        response = client.post(f"/my/cases/{open_case.pk}/", {"action": "reissue_query_code"})
        assert response.status_code in REFUSED, (role, "reissue", response.status_code)
        for action in ("", "submit/", "publish/", "return/", "draft/", *DESK_FORMS):
            url = f"/workbench/catalog/versions/{version_b.pk}/{action}"
            response = client.post(url, _desk_form(action)) if action else client.get(url)
            assert response.status_code in REFUSED, (role, url, response.status_code)
        # A new item of agency B, entered on the desk's form.
        response = client.post("/workbench/catalog/new/", {**DESK_FORMS["edit/"],
                                                           "agency": world.agency_b.pk})
        assert response.status_code in REFUSED, (role, "desk_new", response.status_code)
    # Nothing reached B's item: still in service, its draft without a file.
    assert Item.objects.get(pk=version_b.item_id).withdrawn_kind == ""
    assert not version_b.materials.exclude(blank_form_file="").exists()
    # Control: the routes are real, B's own staff are answered (done, 302, or
    # the form shown again with what is wrong in it), not refused access.
    for role, action in ((Role.AGENCY_HEAD, "files/attach/"), (Role.AGENCY_HEAD, "files/detach/"),
                         (Role.DATA_OFFICER, "withdraw/"), (Role.DATA_OFFICER, "restore/")):
        response = _client(world.user("b", role)).post(
            f"/workbench/catalog/versions/{version_b.pk}/{action}", _desk_form(action))
        assert response.status_code not in REFUSED, (role, action, response.status_code)
    citizen = _client(world.citizen)
    for url in case_pages:
        assert citizen.get(url).status_code in REFUSED, url
    hash_before = open_case.query_code_hash
    assert citizen.post(f"/my/cases/{open_case.pk}/",
                        {"action": "reissue_query_code"}).status_code in REFUSED
    status = open_case.status
    open_case.refresh_from_db()
    assert (open_case.status, open_case.extension_workdays) == (status, 0)
    assert type(correcting_b).objects.get(pk=correcting_b.pk).status == "correction"
    # Control: B's window prints B's notice.
    assert _client(world.user("b", Role.WINDOW_CLERK)).get(
        f"/cases/{correcting_b.pk}/correction-notice/").status_code == 200
    assert open_case.query_code_hash == hash_before
    for url in ("/workbench/", "/workbench/agency/", "/workbench/audit/"):
        assert citizen.get(url).status_code == 403


@pytest.mark.django_db
def test_admin_refuses_agency_b_objects_to_agency_a(world):
    """The master-data admin shows A's administrators nothing of B."""
    b = world.agency_b
    post_b = world.posts["b"][Role.REVIEWER]
    record_b = AuditRecord.objects.filter(agency_id=b.pk).first()
    applicant_b = _cases_of_b(world)[0].applicant  # applied to B only
    urls = [
        f"/admin/directory/applicant/{applicant_b.pk}/change/",
        f"/admin/directory/agency/{b.pk}/change/",
        f"/admin/directory/post/{post_b.pk}/change/",
        f"/admin/accounts/user/{world.user('b', Role.REVIEWER).pk}/change/",
        f"/admin/audit/auditrecord/{record_b.pk}/change/",
    ]
    for role in Role.values:
        client = _client(world.user("a", role))
        for url in urls:
            response = client.get(url)
            # Refused outright, or sent back to the index/login: never the form.
            assert response.status_code in REFUSED | {302}, (role, url, response.status_code)
            if response.status_code == 302:
                assert not response["Location"].startswith(url), (role, url)
        response = client.post(f"/admin/directory/agency/{b.pk}/change/",
                               {"name": "被篡改", "short_name": "", "is_active": "on"})
        assert response.status_code in REFUSED | {302}
    b.refresh_from_db()
    assert b.name == "乙局"
    # Control: B's administrator sees the applicant who applied to B.
    own = _client(world.user("b", Role.SYSADMIN)).get(urls[0])
    assert own.status_code == 200 and "李四" in own.content.decode()


@pytest.mark.django_db
def test_an_admin_that_forgets_its_agency_shows_an_agency_administrator_nothing(world, rf):
    """The mechanism is safe by default: no agency_field and not unscoped lists nothing,
    while a lookup through many rows (a user's postings) lists each object once."""
    from django.contrib.admin import site

    from yizhan.accounts.admin import UserAdmin
    from yizhan.accounts.models import User
    from yizhan.portal.admin_site import ScopedAdmin

    request = rf.get("/admin/")
    request.user = world.user("a", Role.SYSADMIN)
    assert not ScopedAdmin(User, site).get_queryset(request).exists()
    listed = list(UserAdmin(User, site).get_queryset(request).values_list("username", flat=True))
    assert sorted(listed) == sorted({u.username for u in world.staff["a"].values()})
    request.user = world.admin
    assert ScopedAdmin(User, site).get_queryset(request).count() == User.objects.count()


@pytest.mark.django_db
def test_the_same_routes_serve_agency_b_itself(world):
    """Control: B's own head reaches what A was refused, so refusals are about scope."""
    client = _client(world.user("b", Role.AGENCY_HEAD))
    b = world.agency_b.pk
    for path in (f"/api/v1/directory/agencies/{b}/posts", f"/api/v1/directory/agencies/{b}/staff",
                 f"/api/v1/accounts/agencies/{b}/tokens"):
        assert client.get(path).status_code == 200, path
    response = client.post(f"/api/v1/directory/agencies/{b}/posts",
                           {"name": "新岗", "role": "reviewer"}, content_type="application/json")
    assert response.status_code == 201
