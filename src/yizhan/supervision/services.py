"""State changes of supervision: editing rules, clearing alerts."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.models import person_of
from yizhan.audit.services import audit_append
from yizhan.core.errors import Conflict, InvalidInput
from yizhan.core.permissions import require
from yizhan.supervision import checks, permissions
from yizhan.supervision.actions import SupervisionAction
from yizhan.supervision.detection import rules_cache_clear
from yizhan.supervision.error_codes import SupervisionErrorCode
from yizhan.supervision.models import Alert, Level, Rule, RuleRevision, RulesetVersion

EDITABLE = ("name", "level", "params", "enabled", "items", "agencies")


def rule_snapshot(rule: Rule) -> dict:
    return {
        "code": rule.code, "name": rule.name, "check": rule.check_code, "level": rule.level,
        "params": rule.params, "enabled": rule.enabled,
        "items": sorted(rule.items.values_list("pk", flat=True)),
        "agencies": sorted(rule.agencies.values_list("pk", flat=True)),
    }


@transaction.atomic
def rule_update(*, actor, rule: Rule, changes: dict, reason: str = "") -> Rule:
    """Change a rule's name, level, parameters, switch or scope: a new version.

    Parameters are checked against the rule's check (unknown names and bad
    thresholds are refused); those not named keep their values.  The
    previous version stays readable.  A change that changes nothing writes
    nothing and returns the rule as it is.
    """
    from yizhan.catalog.models import Item
    from yizhan.directory.models import Agency

    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    require(permissions.rule_update(actor, rule=rule), action="rule_update")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(_("不能修改规则的这些内容：%(names)s。"),
                           code=SupervisionErrorCode.BAD_RULE, names="、".join(unknown))
    if not (reason or "").strip():
        raise InvalidInput(_("修改监察规则须说明理由。"), code=SupervisionErrorCode.NO_REASON,
                           field="reason")
    before = rule_snapshot(rule)
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name or len(name) > 100:
            raise InvalidInput(_("规则名称不能为空，且不超过 100 字。"),
                               code=SupervisionErrorCode.BAD_RULE, field="name")
        rule.name = name
    if "level" in changes:
        if changes["level"] not in Level.values:
            raise InvalidInput(_("级别须为提醒、黄牌或红牌。"),
                               code=SupervisionErrorCode.BAD_RULE, field="level")
        rule.level = changes["level"]
    if "params" in changes:
        given = changes["params"]
        if isinstance(given, dict):
            # The parameters named change; the others keep their values (a
            # change of one threshold must not reset the rest to the defaults).
            known = checks.CHECKS[rule.check_code].params \
                if rule.check_code in checks.CHECKS else {}
            given = {**{k: v for k, v in (rule.params or {}).items() if k in known}, **given}
        rule.params = checks.clean_params(rule.check_code, given)
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise InvalidInput(_("启用状态须为是或否。"), code=SupervisionErrorCode.BAD_RULE,
                               field="enabled")
        rule.enabled = changes["enabled"]
    scope = {}
    for field, model in (("items", Item), ("agencies", Agency)):
        if field in changes:
            ids = changes[field] or []
            if not isinstance(ids, list) or not all(
                    isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise InvalidInput(_("适用范围须为编号列表。"), code=SupervisionErrorCode.BAD_RULE,
                                   field=field)
            found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
            if found != set(ids):
                raise InvalidInput(_("适用范围中有不存在的编号：%(ids)s。"),
                                   code=SupervisionErrorCode.BAD_RULE, field=field,
                                   ids="、".join(map(str, sorted(set(ids) - found))))
            scope[field] = ids
    proposed = {**before, "name": rule.name, "level": rule.level, "params": rule.params,
                "enabled": rule.enabled, **{f: sorted(set(ids)) for f, ids in scope.items()}}
    if proposed == before:
        # Nothing changes (a form saved as it was, a retried call): no new
        # version, no audit record, and no open case re-planned for nothing.
        return rule
    now = timezone.now()
    rule.version += 1
    rule.updated_at = now
    rule.save()
    for field, ids in scope.items():
        getattr(rule, field).set(ids)
    after = rule_snapshot(rule)
    RuleRevision.objects.create(rule=rule, version=rule.version, snapshot=after,
                                changed_by=person_of(actor), changed_at=now, reason=reason)
    _bump_ruleset(timeliness=rule.kind == "timeliness" or rule.check_code == "pause_too_long")
    audit_append(actor=actor, action=SupervisionAction.RULE_UPDATED, obj=rule, reason=reason,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return rule


def _bump_ruleset(*, timeliness: bool) -> None:
    """Tell every worker to reload the rules; re-plan open cases if lines moved.

    A timeliness rule's thresholds decide when each case is next looked at,
    so every open case is due for a look again: the sweep re-plans them in
    batches.
    """
    from yizhan.cases.models import Case

    updated = RulesetVersion.objects.filter(pk=1).update(number=F("number") + 1)
    if not updated:
        RulesetVersion.objects.create(pk=1, number=1)
    if timeliness:
        Case.objects.filter(status__in=Case.OPEN_STATUSES).exclude(
            status=Case.Status.CORRECTION).update(next_check_at=timezone.now())
    transaction.on_commit(rules_cache_clear)
    rules_cache_clear()


@transaction.atomic
def alert_clear(*, actor, alert: Alert, reason: str) -> Alert:
    """核销: an alert that should not stand (e.g. a lawful extension recorded late).

    Never deleted: cleared with the reason, by whom and when, on the record.
    """
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    require(permissions.alert_clear(actor, alert=alert), action="alert_clear")
    if alert.status == Alert.Status.CLEARED:
        raise Conflict(_("该预警已核销。"), code=SupervisionErrorCode.ALERT_CLOSED)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("核销预警须说明理由。"), code=SupervisionErrorCode.NO_REASON,
                           field="reason")
    alert.status = Alert.Status.CLEARED
    alert.cleared_at = timezone.now()
    alert.cleared_by = person_of(actor)
    alert.cleared_reason = reason
    alert.save(update_fields=["status", "cleared_at", "cleared_by", "cleared_reason"])
    audit_append(actor=actor, action=SupervisionAction.ALERT_CLEARED, obj=alert,
                 agency_id=alert.agency_id, reason=reason,
                 changes={"rule": alert.rule.code, "level": alert.level})
    return alert
