"""Supervision API: rules, alerts, notices (监察督办), a case's monitoring points, coverage."""

import datetime
from typing import Any

from ninja import Field, Query, Router, Schema, Status

from yizhan.cases.api import EventOut, RemainingOut, TaskOut
from yizhan.core.api import AUTH, ListPage, actor_of
from yizhan.supervision import selectors, services

router = Router(tags=["supervision"])


class RuleOut(Schema):
    code: str
    name: str
    check: str = Field(..., alias="check_code")
    kind: str
    level: str
    params: dict[str, Any]
    enabled: bool
    version: int
    items: list[int]
    agencies: list[int]
    updated_at: datetime.datetime

    @staticmethod
    def resolve_items(obj):
        return sorted(i.pk for i in obj.items.all())

    @staticmethod
    def resolve_agencies(obj):
        return sorted(a.pk for a in obj.agencies.all())


class RuleChangeIn(Schema):
    changes: dict[str, Any] = Field(..., description="any of name, level, params, enabled, "
                                                     "items, agencies")
    reason: str = Field(..., description="why the rule changes (kept with the version)")


class AlertOut(Schema):
    id: int
    rule: str = Field(..., alias="rule.code")
    rule_name: str = Field(..., alias="rule.name")
    level: str
    status: str
    case_id: int
    case_number: str | None = Field(None, alias="case.number")
    task_id: int | None
    agency_id: int
    agency: str = Field(..., alias="agency.name")
    post_id: int | None
    responsible_id: int | None
    message: str
    evidence: dict[str, Any]
    raised_at: datetime.datetime
    cleared_at: datetime.datetime | None
    cleared_reason: str


class ClearIn(Schema):
    reason: str


class MonitoringOut(Schema):
    case_id: int
    number: str | None
    status: str
    points: list[EventOut]
    alerts: list[AlertOut]
    remaining: RemainingOut


class CoverageOut(Schema):
    agency_id: int
    name: str
    items: int
    items_supervised: int
    items_online: int
    cases: int
    cases_supervised: int
    cases_fully_online: int
    open_cases: int
    alerts: dict[str, int]


@router.get("/rules", response=list[RuleOut], auth=AUTH)
def list_rules(request):
    return list(selectors.rules_for(actor=actor_of(request)))


@router.patch("/rules/{code}", response=RuleOut, auth=AUTH)
def change_rule(request, code: str, payload: RuleChangeIn):
    """Change a rule: a new version, its revision and an audit record."""
    actor = actor_of(request)
    rule = selectors.rule_get(actor=actor, code=code)
    services.rule_update(actor=actor, rule=rule, changes=payload.changes, reason=payload.reason)
    return selectors.rule_get(actor=actor, code=code)


@router.get("/alerts", response=list[AlertOut], auth=AUTH)
def list_alerts(request, page: Query[ListPage], level: str = "", status: str = "",
                agency_id: int | None = None, case_id: int | None = None, rule: str = ""):
    """Alerts of the agencies the caller may watch, newest first, a page at a time."""
    return page.of(selectors.alerts_for(actor=actor_of(request), level=level, status=status,
                                        agency_id=agency_id, case_id=case_id, rule_code=rule))


@router.post("/alerts/{alert_id}/clear", response=AlertOut, auth=AUTH)
def clear_alert(request, alert_id: int, payload: ClearIn):
    """核销 an alert with a reason (it stays on the record)."""
    actor = actor_of(request)
    alert = selectors.alert_get_for_actor(actor=actor, alert_id=alert_id)
    services.alert_clear(actor=actor, alert=alert, reason=payload.reason)
    return selectors.alert_get_for_actor(actor=actor, alert_id=alert_id)


@router.get("/cases/{case_id}/monitoring", response=MonitoringOut, auth=AUTH)
def case_monitoring(request, case_id: int):
    """A case's monitoring points (受理, 承办, 审核 ...) with times, actors and alerts."""
    found = selectors.case_monitoring(actor=actor_of(request), case_id=case_id)
    return {"case_id": found.case.pk, "number": found.case.number, "status": found.case.status,
            "points": found.points, "alerts": found.alerts, "remaining": found.remaining}


@router.get("/coverage", response=list[CoverageOut], auth=AUTH)
def coverage(request):
    """Per agency: items and cases, and how many are under supervision and online."""
    return selectors.coverage(actor=actor_of(request))


class NoticeIn(Schema):
    alerts: list[int] = Field(..., description="ids of open alerts, all on one agency")
    type: str = Field(..., description="correction (纠错通知) or recommendation (监察建议书)")
    title: str
    facts: str = ""
    requirements: str
    reply_workdays: int | None = Field(None, description="the agency's limit; by default 5 "
                                                         "(correction) or 20 (recommendation)")


class NoticeOut(Schema):
    id: int
    number: str | None
    type: str = Field(..., alias="data.type")
    title: str = Field(..., alias="data.title")
    facts: str = Field("", alias="data.facts")
    requirements: str = Field(..., alias="data.requirements")
    reply_workdays: int = Field(..., alias="data.reply_workdays")
    alerts: list[int] = Field(..., alias="data.alerts")
    agency_id: int
    agency: str = Field(..., alias="agency.name")
    status: str
    outcome: str
    issued_at: datetime.datetime | None = Field(None, alias="submitted_at")
    closed_at: datetime.datetime | None


class NoticeDetailOut(NoticeOut):
    tasks: list[TaskOut] = Field(..., alias="task_list")
    events: list[EventOut] = Field(..., alias="timeline")
    remaining: int | None = Field(None, alias="open_step_remaining",
                                  description="working days left to the open step")


@router.get("/notices", response=list[NoticeOut], auth=AUTH)
def list_notices(request, page: Query[ListPage], open_only: bool = False,
                 agency_id: int | None = None):
    """Notices to the agencies the caller may watch, or issued through their office,
    a page at a time."""
    return page.of(selectors.notices_for(actor=actor_of(request), open_only=open_only,
                                         agency_id=agency_id))


@router.post("/notices", response={201: NoticeDetailOut}, auth=AUTH)
def issue_notice(request, payload: NoticeIn):
    """Issue a correction notice or recommendation from alerts (a retry returns the same one).

    The agency's head replies and the office accepts or returns the reply
    through the task endpoints (``/api/v1/tasks/{id}/complete``, ``/return``).
    """
    actor = actor_of(request)
    notice = services.notice_issue(actor=actor, alert_ids=payload.alerts,
                                   content=payload.dict(exclude={"alerts"}))
    return Status(201, _detail(actor, notice.pk))


@router.get("/notices/{case_id}", response=NoticeDetailOut, auth=AUTH)
def notice_detail(request, case_id: int):
    """A notice with its replies and checks (tasks), its events and the days left."""
    return _detail(actor_of(request), case_id)


def _detail(actor, case_id: int):
    found = selectors.notice_detail(actor=actor, case_id=case_id)
    found.case.open_step_remaining = found.remaining
    return found.case
