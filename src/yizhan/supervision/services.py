"""State changes of supervision: editing rules, clearing alerts."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from yizhan.accounts.models import person_of
from yizhan.audit.services import audit_append
from yizhan.core.errors import Conflict, InvalidInput, NotFound
from yizhan.core.ids import parse_id
from yizhan.core.permissions import require
from yizhan.supervision import checks, permissions
from yizhan.supervision.actions import SupervisionAction
from yizhan.supervision.detection import rules_cache_clear, superseded_keys
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
            found = set(model.objects.filter(pk__in=[i for i in ids if parse_id(i)])
                        .values_list("pk", flat=True))
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
    check = checks.CHECKS.get(rule.check_code)
    _bump_ruleset(swept=bool(check and check.target))
    audit_append(actor=actor, action=SupervisionAction.RULE_UPDATED, obj=rule, reason=reason,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return rule


def _bump_ruleset(*, swept: bool) -> None:
    """Tell every worker to reload the rules; re-plan open cases if lines moved.

    The thresholds of a rule the sweep applies (a check with a target: the
    timeliness lines and the pause limit) decide when each case is next
    looked at, so every open case is due for a look again: the sweep
    re-plans them in batches.
    """
    from yizhan.cases.models import Case

    updated = RulesetVersion.objects.filter(pk=1).update(number=F("number") + 1)
    if not updated:
        RulesetVersion.objects.create(pk=1, number=1)
    if swept:
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
    return _clear(alert, actor=actor, reason=reason)


def _clear(alert: Alert, *, actor, reason: str) -> Alert:
    """Write the clearing of ``alert`` (locked by the caller) and its audit record."""
    alert.status = Alert.Status.CLEARED
    alert.cleared_at = timezone.now()
    alert.cleared_by = person_of(actor)
    alert.cleared_reason = reason
    alert.save(update_fields=["status", "cleared_at", "cleared_by", "cleared_reason"])
    audit_append(actor=actor, action=SupervisionAction.ALERT_CLEARED, obj=alert,
                 agency_id=alert.agency_id, reason=reason,
                 changes={"rule": alert.rule.code, "level": alert.level})
    return alert


# Why the system clears an alert whose deadline the calendar moved; stored in
# Chinese, as the sweep's messages are.
RECOUNTED = _("期限按公布的节假日重算，原期限的预警不再适用。")
# Why, when a lawful pause was given back (《行政许可法》第四十五条: its time is
# not counted in the limits) and the deadlines moved on by its working days.
PAUSE_GIVEN_BACK = _("暂停计时期间不计入办理期限，期限已顺延，原期限的预警不再适用。")
# By the ``cause`` of ``cases.signals.deadlines_moved``.
SUPERSEDED_BECAUSE = {"calendar": RECOUNTED, "resumed": PAUSE_GIVEN_BACK}


@transaction.atomic
def alerts_clear_superseded(*, case, moved: dict, reason=RECOUNTED) -> list[Alert]:
    """System work: clear the open alerts about deadlines that were counted again.

    When holidays are published (or a day edited) the case engine counts
    a case's deadlines again, and when a pause is given back it moves them
    on by the days the pause took (``cases.signals.deadlines_moved``).  A
    warning or an overdue alert about the old deadline no longer has a
    basis: the sweep raises one for the new deadline when it is due, and
    the old one would leave two open alerts for one limit.  Cleared by the
    system, with ``reason`` (a text to translate: ``SUPERSEDED_BECAUSE``),
    on the record like any clearing; an alert already in a notice (督办) is
    the notice's to settle and stays.
    """
    keys = superseded_keys(case.pk, moved)
    if not keys:
        return []
    alerts = list(Alert.objects.select_for_update(of=("self",)).select_related("rule")
                  .filter(key__in=keys, status=Alert.Status.OPEN).order_by("pk"))
    with translation.override("zh-hans"):
        reason = str(reason)
    return [_clear(alert, actor=None, reason=reason) for alert in alerts]


# --- supervision notices (监察督办) ------------------------------------------------

# 纠错通知: correct a handling error (default limit five working days);
# 监察建议书: a recommendation on a pattern of problems, answered within a
# month (about twenty working days).  The office may set another limit.
NOTICE_TYPES = {
    "correction": (_("纠错通知"), 5),
    "recommendation": (_("监察建议书"), 20),
}
MAX_REPLY_WORKDAYS = 60
MAX_NOTICE_ALERTS = 100
# The most characters of a notice's 发现的问题 and of its 整改要求.  Longer text
# is refused, never cut: what was cut would never reach the agency.
NOTICE_TEXT_LIMIT = 4000
NOTICE_BASIS = ("《中华人民共和国行政许可法》第六十条、第七十一条至第七十七条；"
                "《中华人民共和国监察法》关于监察建议的规定")


def _issuing_office(actor, agency):
    """The supervision office a notice comes from: the officer's own post.

    An officer granted a division without a post of their own issues in the
    name of the supervision agency of the addressee's division.
    """
    from yizhan.directory.models import Agency, Posting
    from yizhan.directory.roles import Role

    posting = (Posting.objects.filter(user_id=getattr(actor, "pk", None),
                                      post__role=Role.SUPERVISION_OFFICER,
                                      post__agency__is_active=True)
               .select_related("post__agency", "post__agency__division").order_by("id").first())
    if posting is not None:
        return posting.post.agency
    office = (Agency.objects.filter(kind=Agency.Kind.SUPERVISION, is_active=True,
                                    division_id=agency.division_id)
              .select_related("division").order_by("id").first())
    if office is None:
        raise InvalidInput(_("找不到下达督办的监察机关：请先为监察员设置所在的监察机关岗位。"),
                           code=SupervisionErrorCode.BAD_NOTICE)
    return office


def _addressee(actor, agency):
    """The agency as the party of its case (the directory records it once)."""
    from yizhan.directory.services import agency_party

    if not agency.credit_code:
        raise InvalidInput(_("机关“%(agency)s”未登记统一社会信用代码，不能作为督办对象；"
                             "请先由系统管理员补录。"),
                           code=SupervisionErrorCode.BAD_NOTICE, agency=agency.name)
    return agency_party(actor=actor, agency=agency)


def _notice_text(value) -> str:
    """A text of the notice, its line breaks as one character each.

    A browser counts a line break as one character against the form's
    ``maxlength`` but sends it as two (CR LF): counted as sent, a text the
    form allowed would be refused.
    """
    return str(value or "").replace("\r\n", "\n").strip()


def _clean_notice(content: dict) -> dict:
    kind = content.get("type")
    if kind not in NOTICE_TYPES:
        raise InvalidInput(_("督办类型须为纠错通知或监察建议书。"),
                           code=SupervisionErrorCode.BAD_NOTICE, field="type")
    title = str(content.get("title") or "").strip()
    if not title or len(title) > 100:
        raise InvalidInput(_("督办标题不能为空，且不超过 100 字。"),
                           code=SupervisionErrorCode.BAD_NOTICE, field="title")
    requirements = _notice_text(content.get("requirements"))
    if not requirements or len(requirements) > NOTICE_TEXT_LIMIT:
        raise InvalidInput(_("请写明整改要求（不超过 4000 字）。"),
                           code=SupervisionErrorCode.BAD_NOTICE, field="requirements")
    facts = _notice_text(content.get("facts"))
    if len(facts) > NOTICE_TEXT_LIMIT:
        raise InvalidInput(_("发现的问题不超过 4000 字。"),
                           code=SupervisionErrorCode.BAD_NOTICE, field="facts")
    days = content.get("reply_workdays")
    if days in (None, ""):
        days = NOTICE_TYPES[kind][1]
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_REPLY_WORKDAYS:
        raise InvalidInput(_("回复期限须为 1 至 %(max)s 个工作日。"),
                           code=SupervisionErrorCode.BAD_NOTICE, field="reply_workdays",
                           max=MAX_REPLY_WORKDAYS)
    return {"type": kind, "title": title, "facts": facts, "requirements": requirements,
            "reply_workdays": days}


@transaction.atomic
def notice_issue(*, actor, alert_ids: list[int], content: dict):
    """Issue a correction notice or supervision recommendation from alerts.

    The notice is a case of its own on the case engine (``Case.Kind.NOTICE``):
    the addressed agency's head replies within the limit, the office accepts
    or returns the reply.  Every alert must be open and on the same agency;
    they become "noticed" and point to the notice.  Issuing the same alerts
    again (a retried click) returns the notice they already led to.
    """
    from yizhan.bpmn.templates import NOTICE, template_xml
    from yizhan.cases import services as cases
    from yizhan.cases.models import Case
    from yizhan.catalog.models import ItemType
    from yizhan.catalog.services import internal_item_version

    if not isinstance(alert_ids, list) or not alert_ids or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in alert_ids):
        raise InvalidInput(_("请选择督办所依据的预警。"), code=SupervisionErrorCode.BAD_NOTICE,
                           field="alerts")
    if len(set(alert_ids)) > MAX_NOTICE_ALERTS:
        raise InvalidInput(_("一次督办最多依据 %(n)s 条预警。"),
                           code=SupervisionErrorCode.BAD_NOTICE, field="alerts",
                           n=MAX_NOTICE_ALERTS)
    alerts = list(Alert.objects.select_for_update(of=("self",))
                  .filter(pk__in=set(alert_ids)).select_related("agency", "agency__division")
                  .order_by("pk"))
    visible = [a for a in alerts if permissions.alert_view(actor, alert=a)]
    if len(visible) != len(set(alert_ids)):
        # As for any object out of one's scope: not found, not "forbidden".
        raise NotFound()
    agencies = {a.agency_id for a in alerts}
    if len(agencies) != 1:
        raise InvalidInput(_("一份督办只能发给一个机关：所选预警涉及 %(n)s 个机关。"),
                           code=SupervisionErrorCode.BAD_NOTICE, field="alerts", n=len(agencies))
    agency = alerts[0].agency
    require(permissions.notice_issue(actor, agency_id=agency.pk), action="notice_issue")
    clean = _clean_notice(content)
    notices = {a.notice_id for a in alerts}
    if len(notices) == 1 and None not in notices:
        return Case.objects.get(pk=notices.pop())
    closed = [a for a in alerts if a.status != Alert.Status.OPEN]
    if closed:
        raise Conflict(_("所选预警中有已督办或已核销的：%(ids)s。"),
                       code=SupervisionErrorCode.ALERT_CLOSED,
                       ids="、".join(str(a.pk) for a in closed))
    office = _issuing_office(actor, agency)
    version = internal_item_version(
        actor=actor, impl_code=f"internal-notice-{office.pk}", agency=office,
        upper_agency=office, process_xml=template_xml(NOTICE),
        content={"name": "监察督办（纠错通知、监察建议书）", "basic_code": "internal-notice",
                 "item_type": ItemType.OTHER_POWER, "legal_basis": NOTICE_BASIS,
                 "exercise_level": "3", "acceptance_conditions": "电子监察发现的问题",
                 "statutory_limit": 0, "promised_limit": 0, "case_type": "promised"})
    data = {**clean, "alerts": [a.pk for a in alerts], "issuer": office.pk,
            "issuer_name": office.name}
    notice = cases.case_issue(actor=actor, kind=Case.Kind.NOTICE, item_version=version,
                              applicant=_addressee(actor, agency), agency=agency, issuer=office,
                              data=data)
    Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(
        status=Alert.Status.NOTICED, notice=notice)
    audit_append(actor=actor, action=SupervisionAction.NOTICE_ISSUED, obj=notice,
                 agency_id=agency.pk,
                 changes={"number": notice.number, "type": clean["type"],
                          "alerts": data["alerts"], "reply_workdays": clean["reply_workdays"]})
    return notice
