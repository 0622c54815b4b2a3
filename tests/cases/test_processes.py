"""Review and decision through the standard processes: promised, parallel, immediate, upper."""

import pytest

from tests.bpmn.documents import document, flow, user_task
from tests.cases.helpers import (
    accepted,
    accepted_parallel,
    add_agency,
    audit_actions,
    colleague,
    complete,
    event_types,
    nothing_written,
    open_task,
    publish_item,
    reachable,
    reload,
    submitted,
    token_actor,
)
from yizhan.bpmn.errors import ProcessRuntimeError
from yizhan.cases import selectors, services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, Certificate, EventType, Task
from yizhan.core.errors import Conflict, InvalidInput
from yizhan.directory.roles import Role

E = EventType


def _titles(tasks):
    return sorted((t.title, t.agency.name) for t in tasks)


def test_promised_end_to_end(world, promised, django_capture_on_commit_callbacks):
    """承诺件: accept, review, decide, deliver; the certificate is issued; the case closes."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review", opinion="材料齐全")
    decide = open_task(case)
    assert (decide.name, decide.role) == ("decide", Role.AGENCY_HEAD)
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    case = reload(case)
    assert case.status == Case.Status.APPROVED
    assert case.decided_at is not None
    assert Certificate.objects.filter(case=case).exists()
    deliver = open_task(case)
    assert (deliver.name, deliver.role) == ("deliver_approval", Role.WINDOW_CLERK)
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert case.status == Case.Status.CLOSED
    assert case.outcome == Case.Outcome.APPROVED
    assert case.closed_at is not None and case.next_check_at is None
    # 告知 (cases.notified) after each step the applicant is told of.
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.NOTIFIED, E.REVIEWED, E.APPROVED,
                                 E.NOTIFIED, E.CERTIFICATE_ISSUED, E.DELIVERED, E.CLOSED,
                                 E.NOTIFIED]
    assert case.events.get(type=E.REVIEWED).data["opinion"] == "材料齐全"
    assert case.events.get(type=E.CLOSED).data == {"outcome": "approved"}
    assert audit_actions(case).count(CasesAction.TASK_COMPLETED) == 4
    assert audit_actions(case).count(CasesAction.CERTIFICATE_ISSUED) == 1
    assert not Task.objects.filter(case=case, status__in=["open", "claimed"]).exists()
    assert list(Task.objects.filter(case=case).values_list("name", flat=True)) == [
        "accept", "review", "decide", "deliver_approval"]


def test_a_step_that_tells_the_applicant_reads_them_with_its_lock(
        world, promised, django_capture_on_commit_callbacks):
    """Acceptance, decision and delivery tell the applicant: the applicant and
    the submitter come with the case's lock, not with queries of their own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case, _code = submitted(world, promised)
    steps = [(world.user("a", Role.WINDOW_CLERK), "accept"),
             (world.user("a", Role.REVIEWER), "review"),
             (world.user("a", Role.AGENCY_HEAD), "decide"),
             (world.user("a", Role.WINDOW_CLERK), "deliver")]
    for actor, name in steps:
        task = open_task(case, name)
        with django_capture_on_commit_callbacks(execute=True), \
                CaptureQueriesContext(connection) as captured:
            services.task_complete(actor=actor, task=task, decision="approve")
        own = [q["sql"] for q in captured
               if q["sql"].startswith(('SELECT "directory_applicant"', 'SELECT "accounts_user"'))]
        assert own == [], (name, own)
    assert reload(case).status == Case.Status.CLOSED


def test_a_lost_certificate_run_is_made_good_at_delivery(
        world, promised, django_capture_on_commit_callbacks):
    """The background issue after the decision never ran: delivery issues the
    certificate, as the deciding head, before the case closes approved."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    head = world.user("a", Role.AGENCY_HEAD)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        complete(head, case, "decide")
    assert callbacks  # the issue, never run
    assert not Certificate.objects.filter(case=case).exists()
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.APPROVED)
    certificate = Certificate.objects.get(case=case)
    assert certificate.agency_id == world.agency_a.pk
    assert event_types(case)[-4:] == [E.CERTIFICATE_ISSUED, E.DELIVERED, E.CLOSED, E.NOTIFIED]
    assert case.events.get(type=E.CERTIFICATE_ISSUED).actor_id == head.pk


def test_promised_refusal_needs_reasons_and_is_delivered(world, promised):
    """不予许可: the decision records its reasons; delivery closes the case refused."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review", decision="reject",
             opinion="经营场所不符合要求")
    with nothing_written(), pytest.raises(InvalidInput):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide", decision="reject")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide", decision="reject",
             opinion="经营场所不符合卫生要求")
    case = reload(case)
    assert case.outcome_reason == "经营场所不符合卫生要求"
    assert open_task(case).name == "deliver_refusal"
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.REFUSED)
    assert case.outcome_reason == "经营场所不符合卫生要求"
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.NOTIFIED, E.REVIEWED, E.REFUSED,
                                 E.NOTIFIED, E.DELIVERED, E.CLOSED, E.NOTIFIED]
    assert not Certificate.objects.filter(case=case).exists()


# --- parallel (并联审批) -----------------------------------------------------------


@pytest.fixture
def joint(world):
    """Agencies C and D with staff; a parallel item of A with B, C and D as joint agencies."""
    c, c_staff = add_agency(world, "丙局", credit_seed=303)
    d, d_staff = add_agency(world, "丁局", credit_seed=404)
    version = publish_item(world, name="并联许可", process_template="parallel",
                           joint_agencies=[world.agency_b.name, "丙局", "丁局"])
    reviewers = {"b": world.user("b", Role.REVIEWER), "c": c_staff[Role.REVIEWER],
                 "d": d_staff[Role.REVIEWER]}
    agencies = {"b": world.agency_b, "c": c, "d": d}
    return version, agencies, reviewers


def _accepted(world, version):
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    return case


def test_parallel_reviews_open_at_once_in_four_inboxes(world, joint):
    """After acceptance the lead review and three joint reviews wait in four inboxes."""
    version, agencies, reviewers = joint
    case = _accepted(world, version)
    open_tasks = Task.objects.filter(case=case, status=Task.Status.OPEN)
    assert _titles(open_tasks) == [("主办机关审查", "甲局"), ("会同审查", "丁局"),
                                   ("会同审查", "丙局"), ("会同审查", "乙局")]
    lead = list(selectors.inbox(actor=world.user("a", Role.REVIEWER)))
    assert [(t.title, t.agency) for t in lead] == [("主办机关审查", world.agency_a)]
    for key, reviewer in reviewers.items():
        inbox = list(selectors.inbox(actor=reviewer))
        assert [(t.title, t.agency) for t in inbox] == [("会同审查", agencies[key])]


def test_parallel_decision_waits_for_every_review(world, joint,
                                                  django_capture_on_commit_callbacks):
    """联合决定 appears only when the lead and all three joint reviews are in."""
    version, agencies, reviewers = joint
    case = _accepted(world, version)
    complete(world.user("a", Role.REVIEWER), case, "lead_review")
    complete(reviewers["b"], case, "joint_review", agency=agencies["b"])
    complete(reviewers["c"], case, "joint_review", agency=agencies["c"])
    assert not Task.objects.filter(case=case, name__startswith="decide").exists()
    assert list(selectors.inbox(actor=world.user("a", Role.AGENCY_HEAD))) == []
    complete(reviewers["d"], case, "joint_review", agency=agencies["d"])
    decide = open_task(case)
    assert (decide.title, decide.role, decide.agency) == ("联合决定", Role.AGENCY_HEAD,
                                                          world.agency_a)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_complete(actor=world.user("a", Role.AGENCY_HEAD), task=decide,
                               decision="approve")
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.APPROVED)
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.NOTIFIED] + [E.REVIEWED] * 4 + [
        E.APPROVED, E.NOTIFIED, E.CERTIFICATE_ISSUED, E.DELIVERED, E.CLOSED, E.NOTIFIED]
    joint_events = case.events.filter(type=E.REVIEWED, task__name="joint_review")
    assert sorted(e.agency.name for e in joint_events) == ["丁局", "丙局", "乙局"]


def test_a_joint_reviewer_reads_the_case_page_in_as_many_queries_at_every_step(world, joint):
    """The tasks, which also decide that a joint agency may see the case, are read once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    version, agencies, reviewers = joint

    def queries(case) -> int:
        with CaptureQueriesContext(connection) as captured:
            page = selectors.case_detail(actor=reviewers["c"], case_id=case.pk)
            [(t.agency.name, t.claimed_by) for t in page.task_list]
        task_reads = [q for q in captured if 'FROM "cases_task"' in q["sql"]]
        assert len(task_reads) == 1, task_reads
        return len(captured)

    case = _accepted(world, version)  # acceptance and four reviews
    queries(case)  # the reviewer's scope, read once per request
    before = queries(case)
    complete(world.user("a", Role.REVIEWER), case, "lead_review")
    complete(reviewers["b"], case, "joint_review", agency=agencies["b"])
    complete(reviewers["c"], case, "joint_review", agency=agencies["c"])
    complete(reviewers["d"], case, "joint_review", agency=agencies["d"])
    assert Task.objects.filter(case=case).count() == 6  # and the decision
    assert queries(case) == before


def test_one_joint_rejection_cancels_the_others_and_refuses(world, joint):
    """The first joint rejection withdraws the other joint reviews; the case ends refused."""
    version, agencies, reviewers = joint
    case = _accepted(world, version)
    complete(reviewers["c"], case, "joint_review", agency=agencies["c"], decision="reject",
             opinion="消防条件不符合")
    by_agency = {t.agency.name: t.status for t in Task.objects.filter(case=case,
                                                                      name="joint_review")}
    assert by_agency == {"乙局": "cancelled", "丙局": "done", "丁局": "cancelled"}
    assert list(selectors.inbox(actor=reviewers["b"])) == []
    assert list(selectors.inbox(actor=reviewers["d"])) == []
    cancelled = Task.objects.get(case=case, name="joint_review", agency=agencies["b"])
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.task_complete(actor=reviewers["b"], task=cancelled, decision="approve")
    assert exc.value.code == CasesErrorCode.TASK_CLOSED
    # The lead review is still to be done; no decision step follows.
    complete(world.user("a", Role.REVIEWER), case, "lead_review")
    deliver = open_task(case)
    assert (deliver.name, deliver.agency) == ("deliver_refusal", world.agency_a)
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver", opinion="已当面送达")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.REFUSED)
    # The refusal states the joint agency's reasons, not the delivery note.
    assert case.outcome_reason == "消防条件不符合"
    assert not Certificate.objects.filter(case=case).exists()
    assert not Task.objects.filter(case=case, name__startswith="decide").exists()
    # The veto is recorded as the refusal decision, for supervision.
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.NOTIFIED, E.REVIEWED, E.REVIEWED,
                                 E.REFUSED, E.NOTIFIED, E.DELIVERED, E.CLOSED, E.NOTIFIED]
    assert case.decided_at is not None


@pytest.mark.parametrize("lead_first", [True, False])
def test_the_lead_agency_s_rejection_refuses_in_either_order(world, lead_first):
    """The lead review rejects, the joint ones approve: 有不同意见 → refusal,
    whichever review comes in last, recorded as the lead reviewer's refusal in
    the lead agency, with the lead's reason."""
    case, third, staff = accepted_parallel(world)
    lead_reviewer = world.user("a", Role.REVIEWER)

    def lead():
        complete(lead_reviewer, case, "lead_review", decision="reject", opinion="选址不符合规划")

    joints = [lambda: complete(world.user("b", Role.REVIEWER), case, "joint_review",
                               agency=world.agency_b),
              lambda: complete(staff[Role.REVIEWER], case, "joint_review", agency=third)]
    for step in ([lead, *joints] if lead_first else [*joints, lead]):
        step()
    assert open_task(case).name == "deliver_refusal"
    case = reload(case)
    assert case.outcome_reason == "选址不符合规划"
    refused = case.events.get(type=E.REFUSED)
    assert (refused.task.name, refused.task.decision) == ("lead_review", "reject")
    assert (refused.agency, refused.actor_id) == (world.agency_a, lead_reviewer.pk)
    assert refused.data["opinion"] == "选址不符合规划"


def test_a_joint_veto_is_recorded_as_the_rejecting_agency_s_refusal(world, joint):
    """丙局 rejects, the lead approves last: the refusal is 丙局's review, by its
    reviewer in its name (an alert on it names 丙局's post), not the lead's approval."""
    version, agencies, reviewers = joint
    case = _accepted(world, version)
    complete(reviewers["c"], case, "joint_review", agency=agencies["c"], decision="reject",
             opinion="消防条件不符合")
    complete(world.user("a", Role.REVIEWER), case, "lead_review")
    refused = reload(case).events.get(type=E.REFUSED)
    assert (refused.task.agency, refused.task.decision) == (agencies["c"], "reject")
    assert (refused.agency, refused.actor_id) == (agencies["c"], reviewers["c"].pk)
    assert refused.data["reasons"] == ["消防条件不符合"]


def test_a_joint_veto_by_a_token_is_recorded_as_the_token_s_refusal(world, joint):
    """乙局's system (a reviewer's token) rejects its joint review, the lead approves
    last: the refusal is the token's, named as its review is, not the system's (a
    token leaves no ``claimed_by`` on the task it handles)."""
    version, agencies, _reviewers = joint
    case = _accepted(world, version)
    token, label = token_actor(world, Role.REVIEWER, agency=agencies["b"])
    complete(token, case, "joint_review", agency=agencies["b"], decision="reject",
             opinion="消防条件不符合")
    complete(world.user("a", Role.REVIEWER), case, "lead_review")
    refused = reload(case).events.get(type=E.REFUSED)
    assert (refused.task.agency, refused.task.decision) == (agencies["b"], "reject")
    assert (refused.agency, refused.actor_id, refused.actor_label) == (
        agencies["b"], None, label)


def test_one_person_reviewing_for_two_joint_agencies_does_both_separately(world):
    """A reviewer posted in 乙局 and 丙局 sees both reviews and completes each in its
    agency's name; 丙局's rejection withdraws 乙局's even in the same hands."""
    from yizhan.directory import services as directory_services

    case, third, _staff = accepted_parallel(world)
    both = world.user("b", Role.REVIEWER)
    directory_services.staff_post(actor=world.admin, user=both,
                                  post=third.posts.get(role=Role.REVIEWER))
    assert sorted(t.agency.name for t in selectors.inbox(actor=both)) == ["丙局", "乙局"]
    complete(both, case, "joint_review", agency=third, decision="reject", opinion="不符合")
    assert list(selectors.inbox(actor=both)) == []
    assert case.events.get(type=E.REVIEWED).agency == third


def _two_named_branches(world) -> str:
    """受理 → 甲局审查 ‖ 乙局审查 → join → ``opinion == "reject"`` → 送达不予许可,
    otherwise 决定: "a branch per named agency", as docs/processes.md offers it."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + '<bpmn:parallelGateway id="split"/>'
            + user_task("review_a", "甲局审查") + user_task("review_b", "乙局审查")
            + '<bpmn:parallelGateway id="join"/>'
            + '<bpmn:exclusiveGateway id="gw" default="f_ok"/>'
            + user_task("decide", "决定") + user_task("deliver_refusal", "送达不予许可决定")
            + '<bpmn:endEvent id="approved"/><bpmn:endEvent id="refused"/>'
            + flow("start", "accept") + flow("accept", "split")
            + flow("split", "review_a") + flow("split", "review_b")
            + flow("review_a", "join") + flow("review_b", "join") + flow("join", "gw")
            + flow("gw", "deliver_refusal", 'opinion == "reject"')
            + flow("gw", "decide", flow_id="f_ok")
            + flow("decide", "approved") + flow("deliver_refusal", "refused"))
    return document(body, lanes=[
        ("$accepting/window_clerk", ["accept", "deliver_refusal"]),
        (f"{world.agency_a.name}/reviewer", ["review_a"]),
        (f"{world.agency_b.name}/reviewer", ["review_b"]),
        ("$accepting/agency_head", ["decide"])]).decode()


@pytest.mark.parametrize("rejecting_first", [True, False])
def test_a_rejection_in_one_of_two_parallel_branches_is_not_lost(world, rejecting_first):
    """Each reviewer's decision is the process's ``opinion``: 甲局 rejects, 乙局
    approves, in either order, and the case goes to 送达不予许可, not on to a
    decision as if nobody had objected (no licence over a bureau's objection)."""
    version = publish_item(world, name="两机关并联", process_template="custom",
                           process_xml=_two_named_branches(world))
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")

    def reject():
        complete(world.user("a", Role.REVIEWER), case, "review_a", decision="reject",
                 opinion="不符合规划条件")

    def approve():
        complete(world.user("b", Role.REVIEWER), case, "review_b", decision="approve")

    for step in ((reject, approve) if rejecting_first else (approve, reject)):
        step()
    assert open_task(case).name == "deliver_refusal"


# --- what a parallel case tells, and whom ------------------------------------------


def test_one_message_per_step_the_applicant_cares_about_not_one_per_agency(
        world, django_capture_on_commit_callbacks):
    """Submitted, accepted, approved, delivered: four e-mails and four SMS to the
    applicant's phone, in Chinese with the case number, none for the four reviews;
    no SMS carries the query code or the ID number."""
    from django.core import mail
    from django.utils import translation

    from tests.factories import valid_id_number
    from yizhan.core.notify import MemorySmsBackend

    reachable(world.citizen, phone="13900001111")
    mail.outbox.clear()
    translation.activate("en")
    with django_capture_on_commit_callbacks(execute=True):
        case, third, staff = accepted_parallel(world)
    for actor, name, agency in [(world.user("a", Role.REVIEWER), "lead_review", None),
                                (world.user("b", Role.REVIEWER), "joint_review",
                                 world.agency_b),
                                (staff[Role.REVIEWER], "joint_review", third),
                                (world.user("a", Role.AGENCY_HEAD), "decide", None),
                                (world.user("a", Role.WINDOW_CLERK), "deliver", None)]:
        with django_capture_on_commit_callbacks(execute=True):
            complete(actor, case, name, agency=agency)
    emails = [m.body for m in mail.outbox if m.to == ["citizen@example.com"]]
    sms = MemorySmsBackend.outbox
    assert len(emails) == 4 and len(sms) == 4, (emails, sms)
    assert all(case.number in text for text in emails)
    assert {m.phone for m in sms} == {"13900001111"}
    assert all(m.text.startswith("【") and "办件" in m.text for m in sms)
    assert not any(valid_id_number(seq=7) in m.text for m in sms)


def test_what_the_applicant_is_told_is_recorded_as_the_notified_point(world):
    """告知, a monitoring point of electronic supervision: each message the law
    has the agency send (受理, the decision, delivery; 第三十二条、第三十八条) is a
    ``cases.notified`` event of the step, saying what was told and by which
    channels, by the platform (no person).  The receipt of a submission is
    not 告知; a step rolled back records none."""
    from django.db import transaction

    reachable(world.citizen, phone="13900001111")
    version = publish_item(world, name="告知许可", materials=[])
    case, _code = submitted(world, version)
    assert not case.events.filter(type=E.NOTIFIED).exists()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
        raise Boom
    assert not case.events.filter(type=E.NOTIFIED).exists()
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept", decision="reject",
             opinion="不属于本机关职权范围")
    told = case.events.get(type=E.NOTIFIED)
    assert (told.actor_id, told.actor_label, told.agency_id) == (
        None, "system", world.agency_a.pk)
    assert told.data == {"subject": "办件进度",
                         "text": f"办件 {case.number} 不予受理，理由见平台。",
                         "email": True, "sms": True}


def test_nothing_is_sent_for_a_step_that_rolls_back(world, django_capture_on_commit_callbacks):
    """Notifications wait for the commit: an acceptance rolled back sends nothing,
    neither to the applicant nor to the reviewing posts."""
    from django.core import mail
    from django.db import transaction

    from yizhan.core.notify import MemorySmsBackend

    reachable(world.user("a", Role.REVIEWER), world.user("b", Role.REVIEWER))
    add_agency(world, "丙局", credit_seed=303)
    version = publish_item(world, name="并联许可", process_template="parallel",
                           joint_agencies=[world.agency_b.name, "丙局"])
    case, _code = submitted(world, version)
    mail.outbox.clear()
    MemorySmsBackend.outbox.clear()

    class Boom(Exception):
        pass

    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(Boom),
          transaction.atomic()):
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
        raise Boom
    assert mail.outbox == [] and MemorySmsBackend.outbox == []
    assert open_task(case).name == "accept"


def test_a_joint_rejection_tells_the_agencies_whose_review_it_withdrew(
        world, joint, django_capture_on_commit_callbacks):
    """丙局 rejects: 乙局's and 丁局's reviews leave their inboxes, and their
    reviewers are told why (not 丙局's, whose review is done)."""
    from django.core import mail

    version, agencies, reviewers = joint
    reachable(*reviewers.values())
    case = _accepted(world, version)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        complete(reviewers["c"], case, "joint_review", agency=agencies["c"],
                 decision="reject", opinion="消防条件不符合")
    told = {m.to[0]: m for m in mail.outbox if m.subject == f"待办已取消：{case.number}"}
    assert set(told) == {reviewers["b"].email, reviewers["d"].email}
    assert "另一机关不同意，本环节已取消" in told[reviewers["b"].email].body
    assert "“会同审查”环节" in told[reviewers["b"].email].body


def test_a_refusal_by_a_joint_agency_s_veto_is_told_to_the_applicant(
        world, django_capture_on_commit_callbacks):
    """A refusal decided by a joint agency's rejection is as much 不予许可 as the
    head's: the applicant is told when it is decided, in the same words."""
    from django.core import mail

    from yizhan.core.notify import MemorySmsBackend

    reachable(world.citizen, phone="13900001111")
    case, third, staff = accepted_parallel(world)
    mail.outbox.clear()
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        complete(staff[Role.REVIEWER], case, "joint_review", agency=third,
                 decision="reject", opinion="消防条件不符合")
    assert [m for m in mail.outbox if m.to == ["citizen@example.com"]] == []
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.REVIEWER), case, "lead_review")
    told = [m.body for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert len(told) == 1 and (f"办件 {case.number} 不予许可，理由见平台。"
                                  "如不服，可依法申请行政复议或者提起行政诉讼。") in told[0]
    assert [m.phone for m in MemorySmsBackend.outbox] == ["13900001111"]


# --- immediate (即办件) and upper review --------------------------------------------


def test_immediate_is_accepted_and_decided_in_one_step(world,
                                                       django_capture_on_commit_callbacks):
    """即办件: the window clerk accepts and decides at once; the case closes approved."""
    version = publish_item(world, name="即办事项", case_type="immediate",
                           process_template="immediate", statutory_limit=1, promised_limit=0)
    case, _code = submitted(world, version)
    task = open_task(case)
    assert (task.name, task.title, task.role) == ("decide", "受理并当场办结",
                                                  Role.WINDOW_CLERK)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_complete(actor=world.user("a", Role.WINDOW_CLERK), task=task,
                               decision="approve")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.APPROVED)
    assert case.accepted_at is not None
    assert case.accepted_at == case.decided_at == case.closed_at
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.APPROVED, E.CLOSED, E.NOTIFIED,
                                 E.CERTIFICATE_ISSUED]
    assert Certificate.objects.filter(case=case).exists()


def test_immediate_refusal_closes_refused_with_its_reason(world):
    """即办件 refused at the window: reasons recorded, no certificate."""
    version = publish_item(world, name="即办事项", case_type="immediate",
                           process_template="immediate", statutory_limit=1, promised_limit=0)
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, decision="reject", opinion="不符合条件")
    case = reload(case)
    assert (case.status, case.outcome, case.outcome_reason) == (
        Case.Status.CLOSED, Case.Outcome.REFUSED, "不符合条件")
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.REFUSED, E.CLOSED, E.NOTIFIED]


def test_upper_review_goes_to_the_upper_agency_and_back(world,
                                                        django_capture_on_commit_callbacks):
    """上级初审: A's first review, the upper agency's review and decision, A's delivery."""
    upper, upper_staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    first = open_task(case)
    assert (first.title, first.role, first.agency) == ("初审并转报上级", Role.REVIEWER,
                                                       world.agency_a)
    services.task_complete(actor=world.user("a", Role.REVIEWER), task=first, decision="approve",
                           opinion="同意上报")
    upper_review = open_task(case)
    assert (upper_review.role, upper_review.agency) == (Role.REVIEWER, upper)
    assert list(selectors.inbox(actor=upper_staff[Role.REVIEWER])) == [upper_review]
    # The upper agency sees the case because it holds a task of it.
    assert selectors.case_get_for_actor(actor=upper_staff[Role.REVIEWER],
                                        case_id=case.pk) == case
    services.task_complete(actor=upper_staff[Role.REVIEWER], task=upper_review,
                           decision="approve")
    decide = open_task(case)
    assert (decide.title, decide.role, decide.agency) == ("上级决定", Role.AGENCY_HEAD, upper)
    with django_capture_on_commit_callbacks(execute=True):
        services.task_complete(actor=upper_staff[Role.AGENCY_HEAD], task=decide,
                               decision="approve")
    deliver = open_task(case)
    assert (deliver.role, deliver.agency) == (Role.WINDOW_CLERK, world.agency_a)
    services.task_complete(actor=world.user("a", Role.WINDOW_CLERK), task=deliver,
                           decision="approve")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.APPROVED)
    assert event_types(case) == [E.SUBMITTED, E.ACCEPTED, E.NOTIFIED, E.REVIEWED, E.REVIEWED,
                                 E.APPROVED, E.NOTIFIED, E.CERTIFICATE_ISSUED, E.DELIVERED,
                                 E.CLOSED, E.NOTIFIED]
    approved = case.events.get(type=E.APPROVED)
    assert (approved.agency, approved.actor) == (upper, upper_staff[Role.AGENCY_HEAD])
    # The deciding (upper) agency issues and signs the certificate.
    assert Certificate.objects.get(case=case).agency == upper


def test_delivery_cannot_be_rejected(world, promised):
    """A delivery step only confirms delivery; rejecting it is refused and changes nothing."""
    case, _code = submitted(world, promised)
    for prefix in ("accept", "review", "decide"):
        complete(world.user("a", {"accept": Role.WINDOW_CLERK, "review": Role.REVIEWER,
                                  "decide": Role.AGENCY_HEAD}[prefix]), case, prefix)
    deliver = open_task(case, "deliver")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.task_complete(actor=world.user("a", Role.WINDOW_CLERK), task=deliver,
                               decision="reject", opinion="不送了")
    assert exc.value.code == CasesErrorCode.BAD_DECISION


# --- withdrawal ---------------------------------------------------------------------


def test_the_applicant_withdraws_before_the_decision(world, promised):
    """撤回: open tasks are cancelled and the case closes withdrawn."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    services.case_withdraw(actor=world.citizen, case=case, reason="不再需要")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.WITHDRAWN, Case.Outcome.WITHDRAWN)
    assert Task.objects.get(case=case, name="review").status == Task.Status.CANCELLED
    assert event_types(case)[-1] == E.WITHDRAWN
    assert audit_actions(case)[-1] == CasesAction.CASE_WITHDRAWN
    assert list(selectors.inbox(actor=world.user("a", Role.REVIEWER))) == []


def test_a_withdrawal_tells_whoever_held_each_cancelled_task(
        world, django_capture_on_commit_callbacks):
    """The applicant withdraws while the lead and two joint agencies review: each
    review is cancelled and its holders are told, a claimed one only to the
    reviewer who claimed it, an open one to every holder of its post."""
    from django.core import mail

    case, _third, staff = accepted_parallel(world)
    lead, joint_b, joint_c = reachable(world.user("a", Role.REVIEWER),
                                       world.user("b", Role.REVIEWER), staff[Role.REVIEWER])
    colleague(world, "a", Role.REVIEWER, "reviewer2", email="reviewer2@example.org")
    colleague(world, "b", Role.REVIEWER, "reviewer3", email="reviewer3@example.org")
    services.task_claim(actor=lead, task=open_task(case, "lead_review"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_withdraw(actor=world.citizen, case=reload(case), reason="不办了")
    assert not Task.objects.filter(case=case, status__in=["open", "claimed"]).exists()
    told = {m.to[0]: m for m in mail.outbox if m.subject == f"待办已取消：{case.number}"}
    # Not reviewer2: the lead review was the claimer's alone.
    assert set(told) == {lead.email, joint_b.email, "reviewer3@example.org", joint_c.email}
    assert "申请人已撤回申请，本环节已取消" in told[lead.email].body
    assert told[lead.email].body.endswith(
        f"/workbench/tasks/{Task.objects.get(case=case, name='lead_review').pk}/")


def test_no_withdrawal_after_the_decision(world, promised):
    """A decided case cannot be withdrawn."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case)
    complete(world.user("a", Role.AGENCY_HEAD), case)
    with nothing_written(), pytest.raises(Conflict):
        services.case_withdraw(actor=world.citizen, case=case)


def test_a_refusal_awaiting_delivery_cannot_be_withdrawn_paused_or_extended(world, promised):
    """Refused and not yet delivered, the case is still in progress: the applicant
    cannot withdraw it to erase the refusal, nor staff stop or lengthen its clock."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case)
    complete(world.user("a", Role.AGENCY_HEAD), case, decision="reject", opinion="场所不符合")
    case = reload(case)
    assert case.status == Case.Status.IN_PROGRESS and case.decided_at is not None
    head = world.user("a", Role.AGENCY_HEAD)
    with nothing_written():
        for attempt in (
                lambda: services.case_withdraw(actor=world.citizen, case=case),
                lambda: services.case_suspend(actor=head, case=case, reason="hearing",
                                              note="申请听证"),
                lambda: services.case_extend(actor=head, case=case, workdays=5,
                                             reason="情况复杂")):
            with pytest.raises(Conflict) as exc:
                attempt()
            assert exc.value.code == CasesErrorCode.BAD_STATE
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.REFUSED)


def test_fees_are_recorded_as_charged(world):
    """A charge is a 收费 event; one above the standard is recorded and marked."""
    from decimal import Decimal

    version = publish_item(world, name="收费事项", fees=[
        {"name": "登记费", "standard": "每件80元", "amount": "80",
         "basis": "发改价格规〔2016〕2559号"}])
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    fee = version.fees.get()
    clerk = world.user("a", Role.WINDOW_CLERK)
    services.case_fee_charge(actor=clerk, case=case, fee_id=fee.pk, amount="80")
    services.case_fee_charge(actor=clerk, case=case, fee_id=fee.pk, amount="100", note="误收")
    charges = [e.data for e in case.events.filter(type=E.FEE_CHARGED).order_by("id")]
    assert [(Decimal(c["amount"]), c["above_standard"]) for c in charges] == [
        (Decimal("80.00"), False), (Decimal("100.00"), True)]
    with nothing_written(), pytest.raises(InvalidInput):
        services.case_fee_charge(actor=clerk, case=case, fee_id=fee.pk, amount="-1")
    from yizhan.core.errors import PermissionDenied

    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_fee_charge(actor=world.user("b", Role.WINDOW_CLERK), case=case,
                                 fee_id=fee.pk, amount="80")


def test_an_amount_below_a_fen_is_refused_not_recorded_as_waived(world):
    """0.004 typed for a fee is a typo, not 减免: rounded to 0.00 it would be
    recorded as ``waived`` (and 80.005 as 80.00), the record no longer saying
    what was typed.  An amount with a fraction of a fen is refused at its
    field; 80.000 (the same amount written otherwise) is taken."""
    from decimal import Decimal

    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case = accepted(world, version)
    clerk = world.user("a", Role.WINDOW_CLERK)
    fee = version.fees.get()
    for typed in ("0.004", "80.005"):
        with nothing_written(), pytest.raises(InvalidInput) as exc:
            services.case_fee_charge(actor=clerk, case=reload(case), fee_id=fee.pk,
                                     amount=typed)
        assert exc.value.fields == {"field": "amount"}
        assert exc.value.render() == "金额应为不小于 0 的数字，最多两位小数。"
    services.case_fee_charge(actor=clerk, case=reload(case), fee_id=fee.pk, amount="80.000")
    [charged] = case.events.filter(type=E.FEE_CHARGED)
    assert (Decimal(charged.data["amount"]), charged.data["waived"]) == (Decimal("80"), False)


def test_a_fee_is_taken_only_where_the_fee_form_is_offered(world):
    """One rule (selectors.fee_refusal) answers the service and the task page:
    a case paused, when nothing is handled, takes no fee."""
    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case = accepted(world, version)
    assert selectors.fee_refusal(case) is None
    services.case_suspend(actor=world.user("a", Role.AGENCY_HEAD), case=reload(case),
                          reason="expert_review", note="专家评审")
    case = reload(case)
    refusal = selectors.fee_refusal(case)
    assert refusal is not None and refusal.code == CasesErrorCode.BAD_STATE
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_fee_charge(actor=world.user("a", Role.WINDOW_CLERK), case=case,
                                 fee_id=version.fees.get().pk, amount="80")
    assert exc.value.code == CasesErrorCode.BAD_STATE


def test_the_staff_of_a_post_hear_of_each_step_that_reaches_it(
        world, joint, django_capture_on_commit_callbacks):
    """A new task, or one returned: the post's active holders are e-mailed, in
    every agency a parallel stage reaches."""
    from django.core import mail

    version, agencies, reviewers = joint
    clerk, reviewer = world.user("a", Role.WINDOW_CLERK), world.user("a", Role.REVIEWER)
    for user in (clerk, reviewer, *reviewers.values()):
        type(user).objects.filter(pk=user.pk).update(email=f"{user.username}@example.org")

    def told(run) -> set[str]:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            run()
        return {m.to[0] for m in mail.outbox if m.subject.startswith("新待办")}

    case = None

    def submit():
        nonlocal case
        case, _code = submitted(world, version)

    assert told(submit) == {f"{clerk.username}@example.org"}
    message = next(m for m in mail.outbox if m.subject.startswith("新待办"))
    assert case.number in message.body and "“受理”环节" in message.body
    # A holder switched off hears nothing.
    type(reviewers["b"]).objects.filter(pk=reviewers["b"].pk).update(is_active=False)
    assert told(lambda: complete(clerk, case, "accept")) == {
        f"{u.username}@example.org" for u in (reviewer, reviewers["c"], reviewers["d"])}
    back = open_task(case, "joint_review", agency=agencies["c"])
    assert told(lambda: services.task_return(actor=reviewers["c"], task=back,
                                             opinion="请补充说明")) == {
        f"{clerk.username}@example.org"}


def test_acceptance_back_after_a_correction_is_told_to_whoever_claimed_it(
        world, promised, django_capture_on_commit_callbacks):
    """The applicant's corrected files bring acceptance back to the clerk who
    claimed it, not to every holder of the window's post."""
    from django.core import mail

    from tests.cases.helpers import PDF, colleague, upload

    clerk = world.user("a", Role.WINDOW_CLERK)
    type(clerk).objects.filter(pk=clerk.pk).update(email="clerk@example.org")
    colleague(world, "a", Role.WINDOW_CLERK, "clerk2", email="other@example.org")
    case, _code = submitted(world, promised)
    task = services.task_claim(actor=clerk, task=open_task(case, "accept"))
    material = promised.materials.get(order=1)
    services.case_request_correction(actor=clerk, task=task, items=[
        {"material_id": material.pk, "problem": "复印件不清晰"}])
    services.material_upload(actor=world.citizen, case=reload(case), material_id=material.pk,
                             upload=upload(PDF + b"%"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_correct(actor=world.citizen, case=reload(case))
    assert [m.to for m in mail.outbox if m.subject.startswith("新待办")] == [
        ["clerk@example.org"]]


# --- uploaded processes branching on the application ---------------------------

AREA_FIELD = {"name": "area", "label": "经营面积", "type": "number"}   # optional


def _area_process(condition: str) -> str:
    """受理 → gateway (``condition`` → 重大项目审查, default → 一般审查) → 决定 → approved."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + '<bpmn:exclusiveGateway id="gw_area" default="f_small"/>'
            + user_task("review_big", "重大项目审查") + user_task("review", "一般审查")
            + user_task("decide", "决定") + '<bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "gw_area")
            + flow("gw_area", "review_big", condition, flow_id="f_big")
            + flow("gw_area", "review", flow_id="f_small")
            + flow("review_big", "decide") + flow("review", "decide")
            + flow("decide", "approved"))
    return document(body, lanes=[("$accepting/window_clerk", ["accept"]),
                                 ("$accepting/reviewer", ["review_big", "review"]),
                                 ("$accepting/agency_head", ["decide"])]).decode()


def test_a_gateway_on_an_optional_field_left_blank_takes_the_default_exit(world):
    """An optional 经营面积 routes large shops to a heavier review.  Left blank (not
    sent, or sent empty) it is None, which the documented condition tests first;
    a blank once stayed "" or missing, and every try to accept the case was a 422."""
    version = publish_item(world, name="面积分流许可", process_template="custom",
                           process_xml=_area_process("area is not None and area > 500"),
                           form_fields=[AREA_FIELD])
    for data, review in (({}, "review"), ({"area": ""}, "review"),
                         ({"area": "800"}, "review_big"), ({"area": "80"}, "review")):
        case, _code = submitted(world, version, data=data)
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
        assert open_task(reload(case)).name == review, data


def test_a_failing_condition_leaves_the_task_open_and_the_case_unchanged(world):
    """A condition that cannot be evaluated (a division by zero; ``None > 500``
    on a blank optional field is refused when the item is saved) refuses the
    step (a 422 naming the gateway) and changes nothing: the step can be tried
    again."""
    version = publish_item(world, name="面积分流许可", process_template="custom",
                           process_xml=_area_process("area / (area - area) > 500"),
                           form_fields=[{**AREA_FIELD, "required": True}])
    case, _code = submitted(world, version, data={"area": "80"})
    before = reload(case).process_state
    task = open_task(case, "accept")
    with nothing_written(), pytest.raises(ProcessRuntimeError) as exc:
        services.task_complete(actor=world.user("a", Role.WINDOW_CLERK), task=task,
                               decision="approve")
    assert exc.value.http_status == 422
    assert exc.value.render("zh-hans") == (
        "流程运行出错：gw_area：除数为零。")
    assert reload(case).process_state == before
    assert open_task(case, "accept").pk == task.pk


# --- uploaded processes that refuse at a review ----------------------------------


def _review_refuses_at_once() -> str:
    """受理 → 审查; the reviewer's 不同意 ends the case at ``refused`` (as bpmn.io users
    draw it: a refusal needs no head), otherwise 决定 → 送达 → ``approved``."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + user_task("review", "审查") + user_task("decide", "决定")
            + user_task("deliver", "送达")
            + '<bpmn:exclusiveGateway id="gw_accept" default="f_acc"/>'
            + '<bpmn:exclusiveGateway id="gw_review" default="f_rev"/>'
            + '<bpmn:exclusiveGateway id="gw_decide" default="f_dec"/>'
            + '<bpmn:endEvent id="not_accepted"/><bpmn:endEvent id="refused"/>'
            + '<bpmn:endEvent id="refused_head"/><bpmn:endEvent id="approved"/>'
            + flow("start", "accept") + flow("accept", "gw_accept")
            + flow("gw_accept", "not_accepted", 'opinion == "reject"')
            + flow("gw_accept", "review", flow_id="f_acc")
            + flow("review", "gw_review") + flow("gw_review", "refused", 'opinion == "reject"')
            + flow("gw_review", "decide", flow_id="f_rev")
            + flow("decide", "gw_decide")
            + flow("gw_decide", "refused_head", 'opinion == "reject"')
            + flow("gw_decide", "deliver", flow_id="f_dec") + flow("deliver", "approved"))
    return document(body, lanes=[("$accepting/window_clerk", ["accept", "deliver"]),
                                 ("$accepting/reviewer", ["review"]),
                                 ("$accepting/agency_head", ["decide"])]).decode()


def test_a_refusal_at_a_review_of_an_uploaded_process_is_decided_and_told(
        world, django_capture_on_commit_callbacks):
    """A reviewer's 不同意 that ends the case at ``refused`` is a refusal all the
    same: decided then, recorded as the review's ``cases.refused`` for
    supervision, and told to the applicant once, with the remedies
    (《行政许可法》第三十八条)."""
    from django.core import mail

    from yizhan.core.notify import MemorySmsBackend

    version = publish_item(world, name="自定义流程事项", process_template="custom",
                           process_xml=_review_refuses_at_once())
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    mail.outbox.clear()
    MemorySmsBackend.outbox.clear()
    reviewer = world.user("a", Role.REVIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        complete(reviewer, case, "review", decision="reject", opinion="经营场所不符合卫生要求")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.REFUSED)
    assert case.decided_at is not None and case.decided_at <= case.closed_at
    assert case.outcome_reason == "经营场所不符合卫生要求"
    assert event_types(case)[-4:] == [E.REVIEWED, E.REFUSED, E.CLOSED, E.NOTIFIED]
    refused = case.events.get(type=E.REFUSED)
    assert (refused.task.name, refused.actor, refused.agency_id) == (
        "review", reviewer, world.agency_a.pk)
    assert refused.data["reasons"] == ["经营场所不符合卫生要求"]
    told = [m.body for m in mail.outbox] + [str(s) for s in MemorySmsBackend.outbox]
    assert len(mail.outbox) == 1
    assert any(f"办件 {case.number} 不予许可" in text and "行政复议" in text for text in told), told


def test_a_process_that_ends_refused_after_approvals_tells_no_reasonless_refusal(world):
    """Drawn so that the review's approval leads to ``refused`` (a slip of the
    modeller): nobody refused, so nothing is decided as a refusal with no
    reason (第三十八条 has a refusal give its reasons); the case ends as the
    process says, for supervision to see, with no ``cases.refused`` event."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + user_task("review", "审查") + '<bpmn:endEvent id="refused"/>'
            + flow("start", "accept") + flow("accept", "review") + flow("review", "refused"))
    xml = document(body, lanes=[("$accepting/window_clerk", ["accept"]),
                                ("$accepting/reviewer", ["review"])]).decode()
    version = publish_item(world, name="画错的流程事项", process_template="custom",
                           process_xml=xml)
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    case = reload(case)
    assert case.outcome_reason == ""
    assert E.REFUSED not in event_types(case)
