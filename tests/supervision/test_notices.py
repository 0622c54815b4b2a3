"""Supervision notices (监察督办): a case of its own on the case engine.

The office issues a correction notice or a supervision recommendation from
alerts on one agency; the agency's head replies within the limit; the office
accepts the reply (the notice is closed) or returns it (the head replies
again).  The alerts become "noticed" and point to the notice.
"""

import datetime as dt
import html
import re
from types import SimpleNamespace
from unittest.mock import patch

import pytest
from django.core import mail
from django.utils import timezone, translation

from tests.api import api_error
from tests.cases.helpers import complete, event_types, open_task, publish_item, reload, submitted
from tests.supervision.helpers import district_officer
from tests.writes import watching
from yizhan.audit.models import AuditRecord
from yizhan.cases import clock, events
from yizhan.cases import services as case_services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, CaseEvent, Certificate, EventType, Task
from yizhan.catalog import selectors as catalog_selectors
from yizhan.catalog.models import Item, ItemVersion
from yizhan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yizhan.directory import pages
from yizhan.directory.roles import Role
from yizhan.supervision import selectors, services
from yizhan.supervision.actions import SupervisionAction
from yizhan.supervision.detection import superseded_keys, sweep
from yizhan.supervision.error_codes import SupervisionErrorCode
from yizhan.supervision.models import Alert, Rule
from yizhan.workdays import services as workdays_services
from yizhan.workdays.selectors import calendar_current

# What issuing, replying or checking could touch.
nothing_written = watching(Case, Task, CaseEvent, Alert, AuditRecord, Item, ItemVersion)

CALENDAR_NOTICE = "国办发明电〔测试〕1号"
CONTENT = {"type": "correction", "title": "关于甲局办件未经受理即作出决定的纠错通知",
           "facts": "办件未受理即批准。", "requirements": "立即核查并补正受理程序，书面报告。"}


def _red(world, promised, *, agency="a") -> Alert:
    """A red CX-01 on agency A (or B): a decision appended on a case never accepted."""
    case, _code = submitted(world, promised)
    events.append(case=case, type=EventType.APPROVED, actor=world.user(agency, Role.AGENCY_HEAD),
                  agency_id=getattr(world, f"agency_{agency}").pk)
    return Alert.objects.filter(case=case).get()


@pytest.fixture
def alert(world, promised):
    return _red(world, promised)


def _issue(officer, *alerts, **content):
    return services.notice_issue(actor=officer, alert_ids=[a.pk for a in alerts],
                                 content={**CONTENT, **content})


def test_a_notice_is_a_case_of_its_own_with_the_agency_heads_reply_open(
        world, officer, alert, django_capture_on_commit_callbacks):
    """In progress at once, numbered by the office, the reply on A's head, limit from the notice."""
    head = world.user("a", Role.AGENCY_HEAD)
    head.email = "head@a.example.cn"
    head.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        notice = _issue(officer, alert)
    assert (notice.kind, notice.status, notice.agency) == ("notice", "in_progress", world.agency_a)
    assert notice.accepted_at == notice.submitted_at
    assert notice.statutory_due is None and notice.promised_due is None
    office = officer.postings.get().post.agency
    assert notice.number[10:16] == f"{office.pk:06d}"
    assert notice.data["reply_workdays"] == 5 and notice.data["alerts"] == [alert.pk]
    assert notice.applicant.credit_code == world.agency_a.credit_code
    reply = open_task(notice)
    assert (reply.name, reply.role, reply.agency) == ("reply", Role.AGENCY_HEAD, world.agency_a)
    local = timezone.localtime(notice.accepted_at).date()
    assert timezone.localtime(reply.due_at).date() == calendar_current().add_workdays(
        local, 5).date
    assert event_types(notice) == [EventType.NOTICE_ISSUED]
    alert.refresh_from_db()
    assert (alert.status, alert.notice_id) == ("noticed", notice.pk)
    assert AuditRecord.objects.filter(action=SupervisionAction.NOTICE_ISSUED,
                                      object_id=str(notice.pk)).count() == 1
    # The agency's head is told.
    assert [m.subject for m in mail.outbox if m.to == [head.email]] == ["监察督办"]


def test_reply_return_reply_accept_closes_the_notice(world, officer, alert):
    """The whole round: the return reopens the reply; accepting closes the case, no certificate."""
    notice = _issue(officer, alert, type="recommendation", reply_workdays="10")
    head = world.user("a", Role.AGENCY_HEAD)
    case_services.task_complete(actor=head, task=open_task(notice, "reply"), decision="approve",
                                opinion="已补正受理程序，相关人员已批评教育。")
    verify = open_task(notice, "verify")
    assert (verify.role, verify.agency) == (Role.SUPERVISION_OFFICER,
                                            officer.postings.get().post.agency)
    case_services.task_return(actor=officer, task=verify, opinion="请附整改前后的受理记录。")
    again = open_task(notice, "reply")
    assert again.agency == world.agency_a
    case_services.task_complete(actor=head, task=again, decision="approve",
                                opinion="已附受理记录。")
    case_services.task_complete(actor=officer, task=open_task(notice, "verify"),
                                decision="approve", opinion="认可。")
    notice = reload(notice)
    assert (notice.status, notice.outcome) == ("closed", "approved")
    assert not Certificate.objects.filter(case=notice).exists()
    assert event_types(notice) == [
        EventType.NOTICE_ISSUED, EventType.REPLIED, EventType.RETURNED, EventType.REPLIED,
        EventType.REVIEWED, EventType.CLOSED]
    assert notice.data["reply_workdays"] == 10
    assert not Task.objects.filter(case=notice, status__in=["open", "claimed"]).exists()


def test_a_reply_needs_its_text_and_a_notice_takes_no_rejection(world, officer, alert):
    notice = _issue(officer, alert)
    head = world.user("a", Role.AGENCY_HEAD)
    with nothing_written(), pytest.raises(InvalidInput) as empty:
        case_services.task_complete(actor=head, task=open_task(notice), decision="approve",
                                    opinion="  ")
    assert empty.value.code == CasesErrorCode.NO_REASON
    with nothing_written(), pytest.raises(InvalidInput) as reject:
        case_services.task_complete(actor=head, task=open_task(notice), decision="reject",
                                    opinion="不同意")
    assert reject.value.code == CasesErrorCode.BAD_DECISION
    case_services.task_complete(actor=head, task=open_task(notice), decision="approve",
                                opinion="已整改")
    with nothing_written(), pytest.raises(InvalidInput):
        case_services.task_complete(actor=officer, task=open_task(notice, "verify"),
                                    decision="reject", opinion="不认可")
    with nothing_written(), pytest.raises(InvalidInput):
        case_services.task_return(actor=officer, task=open_task(notice, "verify"), opinion="")


def test_only_the_head_of_the_addressed_agency_replies(world, officer, alert):
    notice = _issue(officer, alert)
    for actor in (world.user("b", Role.AGENCY_HEAD), world.user("a", Role.REVIEWER), officer):
        with nothing_written(), pytest.raises(PermissionDenied):
            case_services.task_complete(actor=actor, task=open_task(notice), decision="approve",
                                        opinion="已整改")


def test_issuing_the_same_alerts_again_returns_the_same_notice(world, officer, alert):
    first = _issue(officer, alert)
    with nothing_written():
        again = _issue(officer, alert)
    assert again.pk == first.pk
    assert Case.objects.filter(kind="notice").count() == 1


@pytest.mark.parametrize(("content", "field"), [
    ({"type": "warning"}, "type"),
    ({"title": " "}, "title"),
    ({"title": "题" * 101}, "title"),
    ({"requirements": ""}, "requirements"),
    ({"reply_workdays": 0}, "reply_workdays"),
    ({"reply_workdays": 61}, "reply_workdays"),
    ({"reply_workdays": "五"}, "reply_workdays"),
])
def test_a_bad_notice_is_refused_naming_the_field(world, officer, alert, content, field):
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        _issue(officer, alert, **content)
    assert refused.value.code == SupervisionErrorCode.BAD_NOTICE
    assert refused.value.fields.get("field") == field
    alert.refresh_from_db()
    assert alert.status == "open"


def test_facts_over_the_limit_are_refused_not_cut(world, officer, alert):
    """发现的问题 past its limit is refused, as 整改要求 is: cut, the end of what the
    officer wrote (the last alerts' facts) would never reach the agency."""
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        _issue(officer, alert, facts="甲" * services.NOTICE_TEXT_LIMIT + "最后一件办件的问题")
    assert refused.value.code == SupervisionErrorCode.BAD_NOTICE
    assert refused.value.fields.get("field") == "facts"
    assert refused.value.render("zh-hans") == "发现的问题不超过 4000 字。"
    # At the limit as the form counts it: a browser sends each line break as CR LF.
    facts = "\n".join(["问" * 1000] * 3 + ["问" * 997])
    assert len(facts) == services.NOTICE_TEXT_LIMIT
    notice = _issue(officer, alert, facts=facts.replace("\n", "\r\n"))
    assert notice.data["facts"] == facts


def test_the_form_proposes_facts_within_the_limit(world, officer, alert, client_for):
    """A hundred alerts' lines would exceed the limit: the form shortens the messages (the
    notice lists its alerts in full), so the text it proposes, sent as it is, is never
    refused."""
    Alert.objects.bulk_create([
        Alert(key=f"long-{n}", rule=alert.rule, rule_version=alert.rule_version,
              level=alert.level, case=alert.case, agency=alert.agency, message="超" * 300,
              raised_at=timezone.now()) for n in range(services.MAX_NOTICE_ALERTS - 1)])
    ids = list(Alert.objects.filter(status="open").values_list("pk", flat=True))
    office = client_for(officer)
    page = office.get("/supervision/notices/new/", {"alert": ids}).content.decode()
    facts = html.unescape(re.search(r'<textarea id="facts"[^>]*>(.*?)</textarea>', page,
                                    re.S).group(1))
    assert len(facts) <= services.NOTICE_TEXT_LIMIT
    assert f'maxlength="{services.NOTICE_TEXT_LIMIT}"' in page
    lines = facts.split("\n")
    assert len(lines) == services.MAX_NOTICE_ALERTS
    assert all(line.startswith(f"{alert.case.number}：{alert.rule.code} ") for line in lines)
    assert all(line.endswith("…") for line in lines if "超" in line)
    issued = office.post("/supervision/notices/new/", {
        "alert": ids, "type": "correction", "title": "纠错通知", "requirements": "补正",
        "facts": facts.replace("\n", "\r\n")})
    assert issued.status_code == 302
    assert Case.objects.get(kind="notice").data["facts"] == facts


def _alerts(messages, *, code="CX-01"):
    return [SimpleNamespace(case=SimpleNamespace(number=f"4499002025{n:012d}"), case_id=n,
                            rule=SimpleNamespace(code=code), message=message)
            for n, message in enumerate(messages)]


def test_the_proposed_facts_shorten_only_the_long_messages():
    """The room left by the short messages is shared equally by the long ones."""
    alerts = _alerts(["短说明"] * 10 + ["长" * 300] * 10)
    facts = selectors.notice_facts_draft(alerts, limit=1000)
    lines = facts.split("\n")
    assert lines[:10] == [f"{a.case.number}：CX-01 短说明" for a in alerts[:10]]
    share = (1000 - 20 * 30 + 1 - 10 * 3) // 10
    assert lines[10:] == [f"{a.case.number}：CX-01 {'长' * (share - 1)}…" for a in alerts[10:]]
    assert len(facts) <= 1000
    assert selectors.notice_facts_draft(alerts[:3], limit=1000).split("\n") == [
        f"{a.case.number}：CX-01 短说明" for a in alerts[:3]]


def test_the_proposed_facts_keep_whole_lines_when_even_the_cases_do_not_fit():
    """Rule codes of twenty characters leave no room for any message: the lines that fit,
    each whole."""
    alerts = _alerts(["说明"] * services.MAX_NOTICE_ALERTS, code="R" * 20)
    facts = selectors.notice_facts_draft(alerts, limit=services.NOTICE_TEXT_LIMIT)
    lines = facts.split("\n")
    assert len(facts) <= services.NOTICE_TEXT_LIMIT < len(facts) + 44
    assert lines == [f"{a.case.number}：{'R' * 20}" for a in alerts[:len(lines)]]


def test_the_notices_list_pages_through_every_notice(world, officer, promised, client_for,
                                                     monkeypatch):
    """No notice is out of reach: the list has pages, which keep its filter."""
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    first = _issue(officer, _red(world, promised))
    second = _issue(officer, _red(world, promised))
    office = client_for(officer)
    one = office.get("/supervision/notices/?status=all").content.decode()
    two = office.get("/supervision/notices/?status=all&page=2").content.decode()
    assert second.number in one and first.number not in one
    assert first.number in two
    assert 'href="?status=all&amp;page=2"' in one


def test_alerts_must_be_open_visible_and_on_one_agency(world, officer, promised, alert):
    other = _red(world, promised, agency="b")
    with nothing_written(), pytest.raises(InvalidInput) as two:
        _issue(officer, alert, other)
    assert two.value.fields.get("n") == 2
    with nothing_written(), pytest.raises(InvalidInput):
        services.notice_issue(actor=officer, alert_ids=[], content=CONTENT)
    with nothing_written(), pytest.raises(NotFound):
        services.notice_issue(actor=officer, alert_ids=[999999], content=CONTENT)
    services.alert_clear(actor=officer, alert=other, reason="系补录")
    with nothing_written(), pytest.raises(Conflict):
        _issue(officer, other)


def test_only_the_supervision_office_issues(world, alert):
    for actor in (world.user("a", Role.AGENCY_HEAD), world.user("a", Role.REVIEWER)):
        with nothing_written(), pytest.raises(PermissionDenied):
            _issue(actor, alert)


def test_a_supervision_officer_token_cannot_issue(world, officer, alert):
    """A notice names the person who issued it (Case.submitted_by): a token, which has
    nobody behind it, was let through by the scope check and failed assigning itself
    there (a 500).  It is refused as case_create refuses a token, and writes nothing."""
    from django.test import Client

    from yizhan.accounts import services as accounts_services

    _token, secret = accounts_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                   name="监察系统",
                                                   role=Role.SUPERVISION_OFFICER)
    with nothing_written():
        response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").post(
            "/api/v1/supervision/notices", {"alerts": [alert.pk], **CONTENT},
            content_type="application/json")
    body = api_error(response, 403, "core.permission_denied")
    assert body["fields"] == {"action": "notice_issue"}
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.OPEN


def test_the_internal_item_stays_out_of_the_catalog(world, officer, alert, promised,
                                                    client_for):
    """The notice's item is never published, listed to editors, or found on the portal."""
    _issue(officer, alert)
    item = Item.objects.get(internal=True)
    assert item.published_id is None
    assert not catalog_selectors.published_versions().filter(item=item).exists()
    assert item not in catalog_selectors.items_for_editor(actor=world.admin)
    with pytest.raises(NotFound):
        catalog_selectors.version_get_for_editor(actor=world.admin,
                                                 version_id=item.versions.get().pk)
    # Nobody drafts a version of it, through the API or the service.
    response = client_for(world.admin).post(
        f"/api/v1/catalog/items/{item.impl_code}/versions", {}, content_type="application/json")
    assert response.status_code == 404
    from yizhan.catalog import services as catalog_services

    with pytest.raises(NotFound):
        catalog_services.item_version_draft(actor=world.admin, item=item)
    # A second notice from the same office uses the same item.
    _issue(officer, _red(world, promised))
    assert Item.objects.filter(internal=True).count() == 1


def test_reading_notices(world, officer, alert, promised):
    notice = _issue(officer, alert)
    assert list(selectors.notices_for(actor=officer)) == [notice]
    assert list(selectors.notices_for(actor=world.user("a", Role.AGENCY_HEAD))) == [notice]
    assert list(selectors.notices_for(actor=world.user("b", Role.AGENCY_HEAD))) == []
    found = selectors.notice_detail(actor=officer, case_id=notice.pk)
    assert found.alerts == [alert] and found.open_task.name == "reply"
    assert found.remaining == clock.remaining(calendar=calendar_current(), now=timezone.now(),
                                              due=found.open_task.due_at)
    assert 4 <= found.remaining <= 5
    with pytest.raises(NotFound):
        selectors.notice_detail(actor=world.user("b", Role.AGENCY_HEAD), case_id=notice.pk)
    with pytest.raises(NotFound):
        selectors.notice_detail(actor=officer, case_id=alert.case_id)


def test_a_late_reply_is_a_card_on_the_agency_and_no_procedure_rule_fires(
        world, officer, alert):
    """The sweep watches the reply's limit like any step; on-event rules skip notices."""
    notice = _issue(officer, alert)
    reply = open_task(notice)
    sweep(now=reply.due_at + dt.timedelta(seconds=1))
    late = Alert.objects.filter(case=notice)
    assert {(a.rule.code, a.level, a.agency_id) for a in late} == {
        ("SX-04", "notice", world.agency_a.pk), ("SX-05", "yellow", world.agency_a.pk)}
    assert all(a.task_id == reply.pk for a in late)


def test_a_late_reply_s_deduction_leads_to_its_card(world, officer, alert, client_for):
    """A card on a notice is shown on the notice's supervision case page, not on the
    notice's own page (which lists the alerts it was issued for): its deduction links
    there, and the case column still leads to the notice."""
    from yizhan.supervision.models import ScoreDeduction

    notice = _issue(officer, alert)
    sweep(now=open_task(notice).due_at + dt.timedelta(seconds=1))
    late = Alert.objects.get(case=notice, rule__code="SX-05")
    deduction = ScoreDeduction(case=notice, alert=late, points=1)
    assert deduction.link == f"/supervision/cases/{notice.pk}/#alert-{late.pk}"
    assert deduction.case_link == f"/supervision/notices/{notice.pk}/"
    assert ScoreDeduction(case=notice, points=5).link == f"/supervision/notices/{notice.pk}/"
    page = client_for(officer).get(f"/supervision/cases/{notice.pk}/").content.decode()
    assert f'id="alert-{late.pk}"' in page


def test_the_addressed_agency_cannot_stop_or_extend_a_notice(world, officer, alert,
                                                              client_for):
    """A notice is not on the statutory clock: its reply's limit cannot be paused or extended."""
    notice = _issue(officer, alert)
    head = world.user("a", Role.AGENCY_HEAD)
    with nothing_written(), pytest.raises(PermissionDenied):
        case_services.case_suspend(actor=head, case=notice, reason="hearing", note="听证")
    with nothing_written(), pytest.raises(PermissionDenied):
        case_services.case_extend(actor=head, case=notice, workdays=5, reason="延期")
    page = client_for(head).get(f"/workbench/tasks/{open_task(notice).pk}/").content.decode()
    assert 'data-testid="suspend"' not in page and 'data-testid="extend"' not in page


def test_publishing_a_year_leaves_an_open_notice_s_reply_limit_as_it_was(
        world, officer, alert, promised, monkeypatch, django_capture_on_commit_callbacks):
    """A notice has no deadlines of its own (its item's limits are 0), only its
    reply step's.  The recount after a calendar change counts an application's
    deadlines again, not a notice's: the notice keeps none, its reply keeps
    the head's five working days, and the recount (supervision's rules in
    place) goes through for the ordinary case beside it."""
    notice = _issue(officer, alert)
    due = open_task(notice).due_at
    assert (notice.statutory_due, notice.promised_due) == (None, None)
    # An ordinary case accepted in late December of the last year with data:
    # its deadlines run into the next, provisional.
    last = max(calendar_current().known_years)
    case, _code = submitted(world, promised)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: dt.datetime(last, 12, 24, 10, 0,
                                                           tzinfo=timezone.get_default_timezone()))
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    assert reload(case).due_provisional is True
    new_year = dt.date(last + 1, 1, 1)
    while new_year.weekday() >= 5:
        new_year += dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        workdays_services.calendar_day_set(actor=world.admin, date=new_year,
                                           is_workday=False, name="元旦", reason=CALENDAR_NOTICE)
        workdays_services.calendar_year_publish(actor=world.admin, year=last + 1,
                                                reason=CALENDAR_NOTICE)
    assert calendar_current().is_known(last + 1)
    notice = reload(notice)
    assert notice.kind == Case.Kind.NOTICE
    assert (notice.statutory_due, notice.promised_due) == (None, None)
    assert open_task(notice).due_at == due
    assert not AuditRecord.objects.filter(action=CasesAction.DEADLINES_RECOMPUTED,
                                          object_id=str(notice.pk)).exists()
    assert reload(case).due_provisional is False


def test_a_deadline_counted_for_the_first_time_supersedes_no_alert(world, promised):
    """A deadline that had no value before the recount had no alert about it:
    no key is made for it (there is no moment to name)."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    case = reload(case)
    moved = {"statutory_due": [None, case.statutory_due],
             "promised_due": [None, case.promised_due],
             "tasks": {open_task(case).pk: [None, case.promised_due]}}
    assert superseded_keys(case.pk, moved) == []
    moved["promised_due"][0] = case.promised_due - dt.timedelta(days=1)
    assert len(superseded_keys(case.pk, moved)) == len(
        Rule.objects.filter(check_code__in=("case_warning", "case_promised_overdue")))


# --- pages and API -------------------------------------------------------------------

def test_the_issuing_officer_is_not_the_notices_applicant(world, officer, alert, client_for):
    """The officer recorded as submitter gets no applicant's rights over a notice."""
    notice = _issue(officer, alert)
    client = client_for(officer)
    assert notice.pk not in [c["id"] for c in client.get("/api/v1/cases/mine").json()]
    assert notice.number not in client.get("/my/cases/").content.decode()
    response = client.post(f"/api/v1/cases/{notice.pk}/withdraw", {"reason": "撤回"},
                           content_type="application/json")
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        case_services.case_withdraw(actor=officer, case=notice, reason="撤回")
    assert reload(notice).status == Case.Status.IN_PROGRESS
    alert.refresh_from_db()
    assert alert.status == Alert.Status.NOTICED
    # The office still reads its notice.
    assert client.get(f"/supervision/notices/{notice.pk}/").status_code == 200


def test_a_renamed_agency_is_the_same_party(world, officer, promised):
    """The addressee is the legal person of the agency's credit code, whatever its name."""
    from yizhan.directory import services as directory_services

    first = _issue(officer, _red(world, promised))
    directory_services.agency_update(actor=world.admin, agency=world.agency_a, name="甲局（更名）")
    second = _issue(officer, _red(world, promised))
    assert second.pk != first.pk and second.applicant_id == first.applicant_id
    # Recorded once, through the directory, with its audit record.
    [record] = AuditRecord.objects.filter(action="directory.applicant_registered",
                                          object_id=str(first.applicant_id))
    assert (record.actor_id, record.changes["credit_code"]) == (
        officer.pk, world.agency_a.credit_code)


def test_an_agency_without_a_credit_code_cannot_be_noticed(world, officer, alert):
    from yizhan.directory.models import Agency

    Agency.objects.filter(pk=world.agency_a.pk).update(credit_code="")
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        _issue(officer, alert)
    assert refused.value.code == SupervisionErrorCode.BAD_NOTICE
    assert "统一社会信用代码" in str(refused.value)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN


def test_the_whole_round_through_the_pages(world, officer, alert, client_for):
    """Alert list → form → notice page → head's task page → officer's task page → closed."""
    office = client_for(officer)
    page = office.get("/supervision/alerts/").content.decode()
    assert f'data-testid="pick-alert-{alert.pk}"' in page
    form = office.get(f"/supervision/notices/new/?alert={alert.pk}")
    assert form.status_code == 200
    assert alert.case.number in form.content.decode()
    # A refusal keeps the form and says why; nothing is issued.
    refused = office.post("/supervision/notices/new/", {"alert": alert.pk, "type": "correction",
                                                        "title": "纠错", "requirements": ""})
    assert refused.status_code == 200 and "请写明整改要求" in refused.content.decode()
    assert not Case.objects.filter(kind="notice").exists()
    issued = office.post("/supervision/notices/new/", {
        "alert": alert.pk, "type": "correction", "title": "纠错通知",
        "requirements": "补正受理程序", "reply_workdays": ""})
    notice = Case.objects.get(kind="notice")
    assert issued.status_code == 302 and issued["Location"] == f"/supervision/notices/{notice.pk}/"
    assert "补正受理程序" in office.get(issued["Location"]).content.decode()

    head = client_for(world.user("a", Role.AGENCY_HEAD))
    reply = open_task(notice, "reply")
    assert reply.title in head.get("/workbench/").content.decode()
    task_page = head.get(f"/workbench/tasks/{reply.pk}/").content.decode()
    assert "提交回复" in task_page and "补正受理程序" in task_page
    head.post(f"/workbench/tasks/{reply.pk}/approve/", {"opinion": "已补正。"})
    verify = open_task(notice, "verify")
    assert "认可回复" in office.get(f"/workbench/tasks/{verify.pk}/").content.decode()
    office.post(f"/workbench/tasks/{verify.pk}/approve/", {"opinion": "认可"})
    assert reload(notice).status == "closed"
    listing = office.get("/supervision/notices/?status=all").content.decode()
    assert notice.number in listing and "回复已认可" in listing
    # B's head sees neither the notice nor its page.
    other = client_for(world.user("b", Role.AGENCY_HEAD))
    assert notice.number not in other.get("/supervision/notices/?status=all").content.decode()
    assert other.get(f"/supervision/notices/{notice.pk}/").status_code == 404
    assert client_for(world.user("a", Role.AGENCY_HEAD)).get(
        "/supervision/notices/new/").status_code == 403


def test_the_api_issues_lists_and_shows_a_notice(world, officer, alert, client_for):
    client = client_for(officer)
    response = client.post("/api/v1/supervision/notices", {
        "alerts": [alert.pk], "type": "recommendation", "title": "监察建议书",
        "requirements": "建立受理台账"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["reply_workdays"], body["alerts"], body["agency_id"]) == (
        "recommendation", 20, [alert.pk], world.agency_a.pk)
    assert [t["name"] for t in body["tasks"]] == ["reply"]
    assert [e["type"] for e in body["events"]] == [EventType.NOTICE_ISSUED]
    assert body["remaining"] is not None
    again = client.post("/api/v1/supervision/notices", {
        "alerts": [alert.pk], "type": "recommendation", "title": "监察建议书",
        "requirements": "建立受理台账"}, content_type="application/json")
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    listed = client.get("/api/v1/supervision/notices?open_only=true").json()
    assert [n["id"] for n in listed] == [body["id"]]
    assert client.get("/api/v1/supervision/notices?offset=1").json() == []
    bad = client.post("/api/v1/supervision/notices", {
        "alerts": [alert.pk], "type": "x", "title": "t", "requirements": "r"},
        content_type="application/json")
    api_error(bad, 400, SupervisionErrorCode.BAD_NOTICE)
    # The head replies through the task endpoint.
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    task_id = body["tasks"][0]["id"]
    done = head.post(f"/api/v1/tasks/{task_id}/complete",
                     {"decision": "approve", "opinion": "已建立台账"},
                     content_type="application/json")
    assert done.status_code == 200, done.content
    detail = client.get(f"/api/v1/supervision/notices/{body['id']}").json()
    assert [t["name"] for t in detail["tasks"]] == ["reply", "verify"]
    assert client_for(world.user("b", Role.AGENCY_HEAD)).get(
        f"/api/v1/supervision/notices/{body['id']}").status_code == 404


# --- scoring ------------------------------------------------------------------------

def test_the_default_scheme_counts_notices_and_their_returns(world, officer, alert, client_for):
    """v2: a correction notice costs 5 in 监察督办 and its returned reply 2 more; posts are
    not scored on it; each deduction links to the notice."""
    from yizhan.supervision.models import ScoreDeduction, ScoringScheme
    from yizhan.supervision.scoring import Period
    from yizhan.supervision.scoring_services import scores_compute

    scheme = ScoringScheme.objects.order_by("-version").first()
    assert scheme.version == 2
    assert [d["source"] for d in scheme.dimensions if d["code"] == "supervision"] == ["notices"]
    notice = _issue(officer, alert)
    head = world.user("a", Role.AGENCY_HEAD)
    case_services.task_complete(actor=head, task=open_task(notice), decision="approve",
                                opinion="已整改")
    case_services.task_return(actor=officer, task=open_task(notice, "verify"), opinion="不全")
    today = timezone.localdate()
    period = Period.of(today, today)
    with translation.override("en"):   # asked for from an English page
        run = scores_compute(actor=officer, period=period)
    score = run.agency_scores.get(agency=world.agency_a)
    dims = {d["code"]: d for d in score.dimensions}
    assert dims["supervision"]["score"] == "93.00"
    assert dims["supervision"]["explain"]["params"]["notices"] == 1
    lines = ScoreDeduction.objects.filter(agency_score=score, dimension="supervision")
    assert sorted(line.points for line in lines) == [2, 5]
    assert {line.case_id for line in lines} == {notice.pk}
    # Stored in the platform's language, whoever asked: readers see it in Chinese.
    notes = sorted(line.note for line in lines)
    assert any("纠错通知" in note for note in notes), notes
    assert any("回复被退回" in note for note in notes), notes
    for post in score.post_scores.all():
        by_code = {d["code"]: d for d in post.dimensions}
        assert by_code["supervision"]["explain"]["key"] == "agency_only"
    page = client_for(officer).get(
        f"/supervision/scores/agencies/{world.agency_a.pk}/?period={period.key}")
    assert f'href="/supervision/notices/{notice.pk}/"' in page.content.decode()


def test_a_notice_deduction_must_name_a_notice_type(world, officer):
    from yizhan.supervision.models import ScoringScheme
    from yizhan.supervision.scoring_services import scoring_scheme_update

    scheme = ScoringScheme.objects.order_by("-version").first()
    dimensions = [dict(d) for d in scheme.dimensions]
    for d in dimensions:
        if d["code"] == "supervision":
            d["deductions"] = {"red": 5}
    with pytest.raises(InvalidInput):
        scoring_scheme_update(actor=officer, dimensions=dimensions, bands=scheme.bands,
                              reason="试改")


# --- scores at the end of each quarter ----------------------------------------------------

def test_the_quarter_just_ended_is_scored_once_by_the_platform(
        world, officer, alert, django_assert_max_num_queries):
    """The periodic task scores last quarter for every agency, once; then leaves it alone."""
    from yizhan.core import tasks
    from yizhan.supervision.models import ScoreRun
    from yizhan.supervision.scoring import Period
    from yizhan.supervision.scoring_services import scores_compute_after_quarter

    assert "supervision.quarterly_scores" in {p.name for p in tasks.periodic()}
    _issue(officer, alert)
    this_quarter = Period.containing(timezone.localdate())
    next_quarter_day = this_quarter.ends_on + dt.timedelta(days=3)
    run = scores_compute_after_quarter(today=next_quarter_day)
    assert (run.starts_on, run.ends_on) == (this_quarter.starts_on, this_quarter.ends_on)
    assert run.computed_by is None and run.reason
    assert run.agency_scores.filter(agency=world.agency_a).exists()
    record = AuditRecord.objects.get(action=SupervisionAction.SCORES_COMPUTED)
    assert record.actor_id is None
    # Every six hours after that, it finds the quarter scored at a glance:
    # the scheme's lock and the platform's run (and the savepoint's two).
    with django_assert_max_num_queries(4):
        assert scores_compute_after_quarter(today=next_quarter_day) is None
    assert ScoreRun.objects.count() == 1
    # Within the quarter, the last one had nothing to score: nothing is stored.
    assert scores_compute_after_quarter(today=timezone.localdate()) is None
    assert ScoreRun.objects.count() == 1
    assert tasks.run_now("supervision.quarterly_scores") == {"run": None}


def test_the_platform_scores_the_agencies_an_office_left_out(world, officer, alert):
    """An office that scored its district after the quarter does not stop the city's
    run, and the board ranks every agency together, whichever run scored it."""
    from yizhan.supervision.models import AgencyScore
    from yizhan.supervision.scoring import Period
    from yizhan.supervision.scoring_services import scores_compute, scores_compute_after_quarter

    publish_item(world, agency=world.agency_b, name="乙局督办测试许可")
    district, agency_c = district_officer(world)
    quarter = Period.containing(timezone.localdate())
    after_end = quarter.bounds()[1] + dt.timedelta(hours=1)
    with patch("django.utils.timezone.now", return_value=after_end):
        own = scores_compute(actor=district, period=quarter)
    assert set(own.agency_scores.values_list("agency", flat=True)) == {agency_c.pk}
    run = scores_compute_after_quarter(today=quarter.ends_on + dt.timedelta(days=3))
    assert run is not None
    assert set(run.agency_scores.values_list("agency", flat=True)) == {
        world.agency_a.pk, world.agency_b.pk}
    current = AgencyScore.objects.filter(starts_on=quarter.starts_on, current=True)
    assert {(s.agency_id, s.run_id) for s in current} == {
        (agency_c.pk, own.pk), (world.agency_a.pk, run.pk), (world.agency_b.pk, run.pk)}
    for score in current:
        assert score.ranked == 3
        assert score.rank == 1 + sum(other.total > score.total for other in current)
    assert scores_compute_after_quarter(today=quarter.ends_on + dt.timedelta(days=3)) is None


def test_a_look_taken_while_the_quarter_ran_is_computed_again_after_it(world, officer, alert):
    """Alerts raised after an office's mid-quarter look count in the quarter's scores."""
    from yizhan.supervision.models import AgencyScore
    from yizhan.supervision.scoring import Period
    from yizhan.supervision.scoring_services import scores_compute, scores_compute_after_quarter

    quarter = Period.containing(timezone.localdate())
    look = scores_compute(actor=officer, period=quarter)  # today, inside the quarter
    run = scores_compute_after_quarter(today=quarter.ends_on + dt.timedelta(days=1))
    assert run is not None and run.reason
    score = AgencyScore.objects.get(agency=world.agency_a, starts_on=quarter.starts_on,
                                    current=True)
    assert score.run_id == run.pk != look.pk
