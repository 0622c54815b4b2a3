"""Rules as data: switched off, scoped, changed with a reason, each change a version on record."""

import pytest

from tests.cases.helpers import publish_item
from tests.supervision.helpers import accepted, codes, fee_item, nothing_written
from yizhan.audit.models import AuditRecord
from yizhan.cases import services as case_services
from yizhan.core.errors import InvalidInput, PermissionDenied
from yizhan.directory.roles import Role
from yizhan.supervision import checks, detection, services
from yizhan.supervision.actions import SupervisionAction
from yizhan.supervision.error_codes import SupervisionErrorCode
from yizhan.supervision.models import Alert, Rule, RuleRevision, RulesetVersion

REASON = "市监察局〔2026〕12号通知"


def _rule(code) -> Rule:
    return Rule.objects.get(code=code)


def _ruleset() -> int:
    return RulesetVersion.objects.get(pk=1).number


def _overcharge(world, version, key="a"):
    """Charge 500 yuan for the item's one fee (its standard is 80) on a new accepted case."""
    case = accepted(world, version, key=key)
    case_services.case_fee_charge(actor=world.user(key, Role.WINDOW_CLERK), case=case,
                                  fee_id=version.fees.get().pk, amount="500")
    return case


def test_the_seeded_rules_first_versions_give_a_chinese_reason(db):
    reasons = set(RuleRevision.objects.filter(version=1).values_list("reason", flat=True))
    assert reasons == {"按全国通行做法设置的默认规则"}


def test_a_disabled_rule_raises_nothing_until_enabled_again(world, officer):
    """SF-02 switched off: an overcharge raises nothing; switched on again, the next one does."""
    version = fee_item(world)
    services.rule_update(actor=officer, rule=_rule("SF-02"), changes={"enabled": False},
                         reason=REASON)
    _overcharge(world, version)
    assert codes() == []
    services.rule_update(actor=officer, rule=_rule("SF-02"), changes={"enabled": True},
                         reason=REASON)
    case = _overcharge(world, version)
    assert codes(case) == ["SF-02"]
    assert Alert.objects.get().rule_version == 3


def test_a_rule_scoped_to_agency_b_does_not_fire_for_as_cases(world, officer):
    """SF-02 scoped to B: A's overcharge raises nothing, B's raises SF-02 on B."""
    services.rule_update(actor=officer, rule=_rule("SF-02"),
                         changes={"agencies": [world.agency_b.pk]}, reason=REASON)
    _overcharge(world, fee_item(world))
    assert codes() == []
    b_case = _overcharge(world, fee_item(world, agency=world.agency_b), key="b")
    alert = Alert.objects.get()
    assert (alert.rule.code, alert.case_id, alert.agency) == ("SF-02", b_case.pk,
                                                              world.agency_b)


def test_a_rule_scoped_to_an_item_fires_for_that_item_only(world, officer):
    """WB-01 scoped to one item: a window submission of another item raises nothing."""
    from tests.supervision.test_on_event import _window_case

    watched = publish_item(world, name="重点事项")
    other = publish_item(world, name="其他事项")
    services.rule_update(actor=officer, rule=_rule("WB-01"),
                         changes={"items": [watched.item_id]}, reason=REASON)
    _window_case(world, other)
    assert codes() == []
    case = _window_case(world, watched)
    assert codes(case) == ["WB-01"]


@pytest.mark.parametrize(("code", "changes"), [
    ("SX-01", {"params": {"colour": "red"}}),               # a parameter the check lacks
    ("SX-01", {"params": {"share": 1.5}}),                  # a share above 1
    ("SX-01", {"params": {"share": 0}}),                    # below the least share
    ("SX-01", {"params": {"share": "0.5"}}),                # text for a number
    ("SX-01", {"params": {"days_before": 1.5}}),            # a fraction of a day
    ("SX-01", {"params": {"share": float("nan")}}),
    ("SX-06", {"params": {"workdays": float("inf")}}),      # int(inf) was a 500
    ("SX-06", {"params": {"workdays": float("nan")}}),
    ("SX-01", {"agencies": [10**30]}),                      # beyond any column
    ("CX-01", {"params": {"require_review": "yes"}}),       # text for yes/no
    ("CX-04", {"params": {"lawful_reasons": ["holiday"]}}),  # a reason the law lacks
    ("CX-03", {"params": ["max_notices", 2]}),              # not a mapping
    ("SX-01", {"level": "purple"}),
    ("SX-01", {"enabled": "no"}),
    ("SX-01", {"name": " "}),
    ("SX-01", {"check_code": "fee_above_standard"}),        # not editable
    ("SX-01", {"agencies": [987654]}),                      # no such agency
    ("SX-01", {"agencies": [True]}),                        # not an id
    ("SX-01", {"items": "all"}),
])
def test_a_bad_change_is_refused_and_writes_nothing(world, officer, promised, code, changes):
    """Refused with supervision.bad_rule: no version, no revision, no audit, no re-planning."""
    accepted(world, promised)
    before = _rule(code)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.rule_update(actor=officer, rule=before, changes=changes, reason=REASON)
    assert exc.value.code == SupervisionErrorCode.BAD_RULE
    after = _rule(code)
    assert (after.version, after.params, after.level) == (
        before.version, before.params, before.level)
    assert RuleRevision.objects.filter(rule=after).count() == before.version
    in_force = {r.code: r for r in detection.active_rules()}
    assert in_force[code].params == checks.clean_params(before.check_code, before.params)


def test_a_change_needs_a_reason(world, officer):
    """Without a reason the change is refused with supervision.no_reason."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.rule_update(actor=officer, rule=_rule("SX-01"), changes={"level": "red"},
                             reason="  ")
    assert exc.value.code == SupervisionErrorCode.NO_REASON


def test_a_valid_change_is_a_new_version_with_its_revision_and_audit_record(world, officer):
    """Version 2, a revision saying what the rule now says, an audit record of what changed."""
    number = _ruleset()
    rule = services.rule_update(actor=officer, rule=_rule("SX-01"),
                                changes={"params": {"share": 0.5}, "level": "red"},
                                reason=REASON)
    rule = _rule("SX-01")
    assert (rule.version, rule.level, rule.params) == (2, "red",
                                                       {"share": 0.5, "days_before": 1})
    assert _ruleset() == number + 1
    revisions = list(RuleRevision.objects.filter(rule=rule).order_by("version"))
    assert [r.version for r in revisions] == [1, 2]
    assert revisions[0].snapshot["params"] == {"share": 0.8, "days_before": 1}
    latest = revisions[1]
    assert (latest.changed_by, latest.reason) == (officer, REASON)
    assert latest.snapshot == {"code": "SX-01", "name": rule.name, "check": "case_warning",
                               "level": "red", "params": {"share": 0.5, "days_before": 1},
                               "enabled": True, "items": [], "agencies": []}
    record = AuditRecord.objects.get(action=SupervisionAction.RULE_UPDATED)
    assert (record.actor, record.object_id, record.reason) == (officer, str(rule.pk), REASON)
    assert record.changes == {
        "level": ["yellow", "red"],
        "params": [{"share": 0.8, "days_before": 1}, {"share": 0.5, "days_before": 1}]}
    in_force = {r.code: r for r in detection.active_rules()}
    assert (in_force["SX-01"].level, in_force["SX-01"].version) == ("red", 2)


def test_changing_one_parameter_keeps_the_others(world, officer):
    """A change naming one parameter leaves the rule's other parameters as they were."""
    rule = _rule("SX-01")
    services.rule_update(actor=officer, rule=rule, changes={"params": {"days_before": 3}},
                         reason=REASON)
    services.rule_update(actor=officer, rule=rule, changes={"params": {"share": 0.6}},
                         reason=REASON)
    assert _rule("SX-01").params == {"share": 0.6, "days_before": 3}


def test_saving_a_rule_unchanged_writes_no_version(world, officer, promised):
    """A change that changes nothing (a form saved as it was, a retried call) is no new version."""
    accepted(world, promised)
    rule = _rule("SX-01")
    with nothing_written():
        again = services.rule_update(actor=officer, rule=rule,
                                     changes={"name": rule.name, "level": rule.level,
                                              "enabled": True, "params": dict(rule.params)},
                                     reason=REASON)
    assert again.version == 1


@pytest.mark.parametrize("who", ["head_a", "clerk_a", "sysadmin_a", "superuser", "citizen"])
def test_only_a_supervision_officer_changes_rules(world, who):
    """An agency head, a clerk, an administrator or a citizen gets PermissionDenied."""
    actor = {"head_a": world.user("a", Role.AGENCY_HEAD),
             "clerk_a": world.user("a", Role.WINDOW_CLERK),
             "sysadmin_a": world.user("a", Role.SYSADMIN),
             "superuser": world.admin, "citizen": world.citizen}[who]
    with nothing_written(), pytest.raises(PermissionDenied):
        services.rule_update(actor=actor, rule=_rule("SF-02"), changes={"enabled": False},
                             reason=REASON)
    assert _rule("SF-02").enabled is True


def test_the_default_rules_are_valid_for_their_checks(db):
    """Every seeded rule names a known check of its kind, with parameters the check accepts."""
    rules = list(Rule.objects.all())
    assert sorted(r.code for r in rules) == sorted(code for code, _c, _l in checks.DEFAULT_RULES)
    defaults = {code: (check, level) for code, check, level in checks.DEFAULT_RULES}
    for rule in rules:
        check = checks.CHECKS[rule.check_code]
        assert (rule.check_code, rule.level) == defaults[rule.code]
        assert rule.kind == check.kind
        assert checks.clean_params(rule.check_code, rule.params) == rule.params, rule.code
