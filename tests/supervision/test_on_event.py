"""On-event rules: procedure, fees and online handling, checked as each event is appended.

The rules look at events, whichever channel appended them, so besides the
engine's services the tests append events directly through
``yizhan.cases.events.append``, as an import or another system would.
"""

import pytest
from django.db import transaction
from django.utils import translation

from tests.cases.helpers import complete, open_task, publish_item, reload, submitted, upload
from tests.supervision.helpers import accepted, codes, fee_item
from yizhan.cases import events, services
from yizhan.cases.clock import SUSPEND_REASONS
from yizhan.cases.models import CaseEvent, EventType
from yizhan.directory.roles import Role
from yizhan.supervision import detection
from yizhan.supervision.models import Alert, Level

E = EventType


def _clerk(world, key="a"):
    return world.user(key, Role.WINDOW_CLERK)


def _last_event(case, type):
    return CaseEvent.objects.filter(case_id=case.pk, type=type).latest("id")


# --- fees ---------------------------------------------------------------------------


def test_a_fee_above_the_standard_raises_one_red_sf02(world):
    """收费 above the item's standard: a red SF-02 on A, the clerk responsible; the event cited."""
    version = fee_item(world, amount="80")
    case = accepted(world, version)
    clerk = _clerk(world)
    services.case_fee_charge(actor=clerk, case=case, fee_id=version.fees.get().pk,
                             amount="100", note="误收")
    event = _last_event(case, E.FEE_CHARGED)
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level, alert.status) == ("SF-02", Level.RED, "open")
    assert (alert.case_id, alert.task_id, alert.agency) == (case.pk, None, world.agency_a)
    assert (alert.responsible, alert.post) == (clerk, world.posts["a"][Role.WINDOW_CLERK])
    assert alert.evidence == {"events": [event.pk]}
    assert alert.key == f"SF-02:e{event.pk}"
    assert (alert.raised_at, alert.rule_version) == (event.at, 1)
    assert "100" in alert.message and "80" in alert.message


def test_a_fee_within_the_standard_raises_nothing(world):
    """A fee at its standard, and a waived one, are lawful."""
    version = fee_item(world, amount="80")
    case = accepted(world, version)
    for amount in ("80", "0"):
        services.case_fee_charge(actor=_clerk(world), case=case,
                                 fee_id=version.fees.get().pk, amount=amount)
    assert codes() == []


def test_a_fee_without_basis_from_any_channel_raises_sf01(world, promised):
    """A 收费 event without a basis, appended by any channel, raises a red SF-01."""
    case = accepted(world, promised)
    event = events.append(case=case, type=E.FEE_CHARGED, actor=_clerk(world),
                          data={"fee": "工本费", "amount": "20", "basis": ""})
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level, alert.agency) == ("SF-01", Level.RED, world.agency_a)
    assert alert.evidence == {"events": [event.pk]}
    assert alert.responsible == _clerk(world)


def test_nothing_charged_needs_no_basis(world, promised):
    """A waived fee (amount 0, marked or not) from any channel is not a charge without basis."""
    case = accepted(world, promised)
    for data in ({"amount": "0.00", "basis": ""}, {"amount": 0}, {"amount": "0", "waived": True}):
        events.append(case=case, type=E.FEE_CHARGED, actor=_clerk(world),
                      data={"fee": "工本费", **data})
    assert codes() == []


def test_a_fee_marked_waived_but_charged_without_basis_raises_sf01(world, promised):
    """An event from another channel that says ``waived`` yet records 20 yuan
    taken without a basis is a charge without basis (第五十八条): the amount
    decides, as for SF-02; the mark only where no amount is recorded."""
    case = accepted(world, promised)
    events.append(case=case, type=E.FEE_CHARGED, actor=_clerk(world),
                  data={"fee": "工本费", "basis": "", "waived": True})
    assert codes() == []
    event = events.append(case=case, type=E.FEE_CHARGED, actor=_clerk(world),
                          data={"fee": "工本费", "amount": "20", "basis": "", "waived": True})
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.evidence) == ("SF-01", {"events": [event.pk]})


def test_a_fee_above_the_standard_from_another_channel_raises_sf02(world, promised):
    """The amount is compared with the standard: an event without the engine's mark still counts."""
    case = accepted(world, promised)
    events.append(case=case, type=E.FEE_CHARGED, actor=_clerk(world),
                  data={"fee": "登记费", "basis": "发改价格规〔2016〕2559号",
                        "standard_amount": "80.00", "amount": "120.00"})
    events.append(case=case, type=E.FEE_CHARGED, actor=_clerk(world),
                  data={"fee": "登记费", "basis": "发改价格规〔2016〕2559号",
                        "standard_amount": "80.00", "amount": "80"})
    assert codes() == ["SF-02"]


# --- procedure ------------------------------------------------------------------------


def test_a_decision_on_a_case_never_accepted_raises_cx01(world, promised):
    """批准 appended on a case that was never accepted (nor reviewed): a red CX-01."""
    case, _code = submitted(world, promised)
    head = world.user("a", Role.AGENCY_HEAD)
    event = events.append(case=case, type=E.APPROVED, actor=head, data={"decision": "approve"})
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level) == ("CX-01", Level.RED)
    assert (alert.responsible, alert.post) == (head, world.posts["a"][Role.AGENCY_HEAD])
    assert alert.evidence == {"events": [event.pk]}
    assert "受理" in alert.message and "审核" in alert.message


def test_a_decision_after_acceptance_but_without_review_raises_cx01(world, promised):
    """A 承诺件 decided straight after acceptance skipped its review point."""
    case = accepted(world, promised)
    events.append(case=case, type=E.REFUSED, actor=world.user("a", Role.AGENCY_HEAD),
                  data={"opinion": "不符合条件"})
    alert = Alert.objects.get()
    assert alert.rule.code == "CX-01"
    assert "审核" in alert.message and "受理" not in alert.message


def test_a_lawful_case_from_application_to_delivery_raises_nothing(
        world, django_capture_on_commit_callbacks):
    """Accept, a fee at its standard, a lawful pause, review, decide, deliver: no alert."""
    version = fee_item(world, amount="80")
    case = accepted(world, version)
    services.case_fee_charge(actor=_clerk(world), case=case, fee_id=version.fees.get().pk,
                             amount="80")
    reviewer = world.user("a", Role.REVIEWER)
    services.case_suspend(actor=reviewer, case=case, reason="inspection", note="现场勘验")
    services.case_resume(actor=reviewer, case=case)
    complete(reviewer, case, "review")
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    complete(_clerk(world), case, "deliver")
    assert reload(case).status == "closed"
    assert codes() == []


def test_an_immediate_case_decided_at_the_window_raises_nothing(
        world, django_capture_on_commit_callbacks):
    """即办件 needs no review point: accepted and decided in one step is lawful."""
    version = publish_item(world, name="即办事项", case_type="immediate",
                           process_template="immediate", statutory_limit=1, promised_limit=0)
    case, _code = submitted(world, version)
    with django_capture_on_commit_callbacks(execute=True):
        complete(_clerk(world), case, decision="approve")
    assert codes() == []


@pytest.mark.parametrize("type", [E.NOT_ACCEPTED, E.REFUSED])
def test_a_refusal_without_reasons_raises_cx02(world, promised, type):
    """不予受理 or 不予许可 with an empty opinion: a red CX-02."""
    case, _code = submitted(world, promised)
    if type == E.REFUSED:
        complete(_clerk(world), case, "accept")
        complete(world.user("a", Role.REVIEWER), case, "review")
    events.append(case=case, type=type, actor=world.user("a", Role.AGENCY_HEAD),
                  data={"decision": "reject", "opinion": "  "})
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level) == ("CX-02", Level.RED)


def test_an_alert_on_a_joint_agencys_step_names_that_agency(world):
    """A joint review's refusal without reasons is B's: B's agency, post and task."""
    version = publish_item(world, name="并联许可", process_template="parallel",
                           joint_agencies=[world.agency_b.name])
    case = accepted(world, version)
    task = open_task(case, "joint_review", agency=world.agency_b)
    reviewer_b = world.user("b", Role.REVIEWER)
    events.append(case=case, type=E.REFUSED, actor=reviewer_b, task=task,
                  data={"decision": "reject", "opinion": ""})
    found = {a.rule.code: a for a in Alert.objects.all()}
    # No review is in yet either: the refusal also skipped the review point.
    assert sorted(found) == ["CX-01", "CX-02"]
    for alert in found.values():
        assert (alert.agency, alert.post) == (world.agency_b, world.posts["b"][Role.REVIEWER])
        assert (alert.task, alert.responsible) == (task, reviewer_b)


def test_a_second_correction_notice_raises_cx03(world, promised):
    """一次性告知: the first notice is lawful, a second 补正告知 event is a yellow CX-03."""
    case, _code = submitted(world, promised)
    clerk = _clerk(world)
    material = promised.materials.get(name="营业执照")
    services.case_request_correction(actor=clerk, task=open_task(case, "accept"),
                                     items=[{"material_id": material.pk, "problem": "不清晰"}])
    assert codes() == []
    event = events.append(case=case, type=E.CORRECTION_REQUESTED, actor=clerk,
                          data={"items": [{"name": "申请书", "problem": "缺签名"}]})
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level, alert.responsible) == ("CX-03", Level.YELLOW, clerk)
    assert alert.evidence == {"events": [event.pk], "notices": 2}


@pytest.mark.parametrize("reason", ["holiday", ""])
def test_a_pause_without_a_lawful_reason_raises_cx04(world, promised, reason):
    """挂起 for a reason the law does not list: a red CX-04."""
    case = accepted(world, promised)
    events.append(case=case, type=E.SUSPENDED, actor=world.user("a", Role.REVIEWER),
                  data={"reason": reason, "note": "负责人出差"})
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level) == ("CX-04", Level.RED)


@pytest.mark.parametrize("reason", sorted(SUSPEND_REASONS))
def test_a_lawful_pause_raises_nothing(world, promised, reason):
    """挂起 for any reason of 第四十五条, through the service, is lawful."""
    case = accepted(world, promised)
    services.case_suspend(actor=world.user("a", Role.REVIEWER), case=case, reason=reason,
                          note="依法需要的程序")
    assert codes() == []


def _article_45_migration():
    import importlib

    return importlib.import_module(
        "yizhan.supervision.migrations.0009_pause_reasons_of_article_45")


def test_the_seeded_rule_gains_the_reasons_of_article_45(db):
    """A CX-04 still at the old default list gets 招标, 拍卖, 鉴定 as a new version."""
    from django.apps import apps

    from yizhan.supervision.models import Rule, RulesetVersion

    migration = _article_45_migration()
    rule = Rule.objects.get(code="CX-04")
    Rule.objects.filter(pk=rule.pk).update(params={"lawful_reasons": migration.OLD})
    ruleset = RulesetVersion.objects.get(pk=1).number
    migration.seed(apps, None)
    rule.refresh_from_db()
    assert rule.params["lawful_reasons"] == sorted([*SUSPEND_REASONS, "correction"])
    latest = rule.revisions.get(version=rule.version)
    assert latest.reason == migration.REASON and latest.snapshot["params"] == rule.params
    assert RulesetVersion.objects.get(pk=1).number == ruleset + 1


def test_an_office_s_own_list_of_reasons_stands(db):
    from django.apps import apps

    from yizhan.supervision.models import Rule

    migration = _article_45_migration()
    rule = Rule.objects.get(code="CX-04")
    Rule.objects.filter(pk=rule.pk).update(params={"lawful_reasons": ["correction", "hearing"]})
    version = Rule.objects.get(pk=rule.pk).version
    migration.seed(apps, None)
    rule.refresh_from_db()
    assert (rule.params["lawful_reasons"], rule.version) == (["correction", "hearing"], version)


def test_accepting_with_materials_missing_raises_cx06(world, promised):
    """受理 that names missing required materials: a yellow CX-06 listing them."""
    case, _code = submitted(world, promised)
    task = open_task(case, "accept")
    events.append(case=case, type=E.ACCEPTED, actor=_clerk(world), task=task,
                  data={"decision": "approve", "missing_materials": ["营业执照"]})
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level, alert.task) == ("CX-06", Level.YELLOW, task)
    assert alert.evidence["missing_materials"] == ["营业执照"]
    assert "营业执照" in alert.message


def _window_case(world, version):
    """A case the window clerk files at the counter for the citizen, and submits."""
    clerk = _clerk(world)
    case = services.case_create(actor=clerk, item_version=version, applicant=world.applicant)
    for material in version.materials.all():
        services.material_upload(actor=clerk, case=case, material_id=material.pk,
                                 upload=upload())
    services.case_submit(actor=clerk, case=case)
    return case


def test_a_window_submission_of_a_fully_online_item_raises_wb01(world, promised):
    """全程网办 item submitted at the window: a WB-01 notice on the clerk."""
    case = _window_case(world, promised)
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.level) == ("WB-01", Level.NOTICE)
    assert (alert.case_id, alert.agency, alert.responsible) == (case.pk, world.agency_a,
                                                                _clerk(world))
    assert alert.evidence == {"events": [_last_event(case, E.SUBMITTED).pk]}


def test_the_wb01_alert_names_the_channel_by_its_label(world, promised):
    """The alert says 窗口, not the stored code “window”: in the alert's language
    (Chinese), whatever language the clerk's request was in."""
    with translation.override("en"):
        _window_case(world, promised)
    alert = Alert.objects.get()
    assert alert.message == "全程网办事项经“窗口”渠道线下办理。"


def test_a_window_submission_of_an_item_not_fully_online_raises_nothing(world):
    """An item handled online only in part may be submitted at the window."""
    version = publish_item(world, name="部分网办事项", online_depth=3)
    _window_case(world, version)
    submitted(world, version)
    assert codes() == []


# --- the step's transaction -------------------------------------------------------------


def test_an_alert_rolls_back_with_its_step(world, django_capture_on_commit_callbacks):
    """A step that fails after its event leaves neither the event nor the alert nor a notice."""
    version = fee_item(world, amount="80")
    case = accepted(world, version)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            pytest.raises(RuntimeError), transaction.atomic():
        services.case_fee_charge(actor=_clerk(world), case=case,
                                 fee_id=version.fees.get().pk, amount="500")
        assert codes() == ["SF-02"]   # written inside the step's transaction
        raise RuntimeError("the step fails after the event")
    assert codes() == []
    assert not CaseEvent.objects.filter(case_id=case.pk, type=E.FEE_CHARGED).exists()
    assert callbacks == []


def test_an_event_checked_twice_raises_its_alert_once(world, promised):
    """The alert's key names the rule and the event: checking again adds nothing."""
    case, _code = submitted(world, promised)
    event = events.append(case=case, type=E.APPROVED, actor=world.user("a", Role.AGENCY_HEAD))
    detection.on_event(event)
    assert codes() == ["CX-01"]
