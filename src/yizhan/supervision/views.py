"""Supervision pages: the dashboard, alerts, a case's monitoring points, rules."""

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yizhan.cases import permissions as case_permissions
from yizhan.core.errors import ApplicationError, InvalidInput, NotFound
from yizhan.core.ids import parse_id
from yizhan.directory.pages import paged, refusal_shown, staff_page
from yizhan.supervision import charts, checks, permissions, selectors, services
from yizhan.supervision.models import Alert, Level


@staff_page(permissions.monitor)
def dashboard(request):
    board = selectors.dashboard(actor=request.user)
    red = [(r.name, r.alerts.get(Level.RED, 0)) for r in board.rows if r.alerts.get(Level.RED)]
    red_bars, red_height = charts.horizontal(red[:10])
    columns = charts.stacked_columns(board.by_day)
    return render(request, "supervision/dashboard.html", {
        "board": board, "red_bars": red_bars, "red_height": red_height,
        "columns": columns, "columns_width": len(columns) * 22 + 8,
    })


@staff_page()
def alerts(request):
    level = request.GET.get("level", "")
    status = request.GET.get("status", "open")
    agency_id = parse_id(request.GET.get("agency", ""))
    rule = request.GET.get("rule", "")[:20]
    found = selectors.alerts_for(actor=request.user, level=level if level in Level.values else "",
                                 status=status if status in Alert.Status.values else "",
                                 agency_id=agency_id, rule_code=rule)
    return render(request, "supervision/alerts.html", {
        "alerts": paged(request, found), "level": level, "status": status,
        "agency_id": agency_id, "rule": rule,
        "agencies": selectors.alert_agencies_for(actor=request.user),
        "rules": selectors.alert_rules(),
        "levels": Level.choices, "statuses": Alert.Status.choices,
        "may_monitor": permissions.monitor(request.user),
        "may_issue": permissions.notice_issuer(request.user),
    })


@require_POST
@staff_page()
def alert_clear(request, alert_id: int):
    alert = selectors.alert_get_for_actor(actor=request.user, alert_id=alert_id)
    with refusal_shown(request):
        services.alert_clear(actor=request.user, alert=alert, reason=request.POST.get("reason", ""))
        messages.success(request, _("预警已核销。"))
    return redirect("supervision:case", case_id=alert.case_id)


@staff_page()
def case(request, case_id: int):
    found = selectors.case_monitoring(actor=request.user, case_id=case_id)
    return render(request, "supervision/case.html", {
        "m": found, "case": found.case, "may_issue": permissions.notice_issuer(request.user),
        "may_monitor": permissions.monitor(request.user),
        "open_alerts": [a.pk for a in found.alerts if a.status == Alert.Status.OPEN],
        "may_clear": {a.pk for a in found.alerts if permissions.alert_clear(request.user, alert=a)
                      and a.status != Alert.Status.CLEARED},
    })


@staff_page(permissions.rule_view)
def rules(request):
    return render(request, "supervision/rules.html", {
        "rules": list(selectors.rules_for(actor=request.user)),
    })


@staff_page(permissions.rule_view)
def rule(request, code: str):
    found = selectors.rule_get(actor=request.user, code=code)
    check = checks.CHECKS.get(found.check_code)
    may_edit = permissions.rule_update(request.user, rule=found)
    refused = None
    if request.method == "POST":
        try:
            changes = {"name": request.POST.get("name", ""),
                       "level": request.POST.get("level", ""),
                       "enabled": request.POST.get("enabled") == "on",
                       "params": _params_from(request.POST, check)}
            saved = services.rule_update(actor=request.user, rule=found, changes=changes,
                                         reason=request.POST.get("reason", ""))
        except NotFound:
            raise
        except ApplicationError as exc:
            messages.error(request, exc.render())
            refused = exc
        else:
            if saved.version != found.version:
                messages.success(request, _("规则已修改，新版本即时生效。"))
            else:
                messages.info(request, _("规则没有变化。"))
            return redirect("supervision:rule", code=code)
    # A change refused comes back as typed: the officer corrects the one
    # value and sends it again, without writing the reason a second time.
    posted = request.POST if refused is not None and may_edit else None
    return render(request, "supervision/rule.html", {
        "rule": found, "check": check, "levels": Level.choices,
        **_rule_form(found, check, posted=posted, refused=refused),
        "revisions": list(found.revisions.select_related("changed_by")[:20]),
        "may_edit": may_edit,
    }, status=200 if refused is None else refused.http_status)


# The rule form's inputs other than the parameters (``param_<name>``), by the
# field a refusal names: the element that shows it.
RULE_FORM_FIELDS = ("name", "level", "enabled", "reason")


def _rule_form(rule, check, *, posted=None, refused=None) -> dict:
    """The rule form's values, and the refusal at its input, by element id.

    The rule's stored values; after a refused change (``posted``), what the
    form sent, as typed (a threshold of 300, a list as written), with the
    refusal at the input it names (``field``: ``name``, ``reason``, or
    ``params.<name>`` for a parameter).
    """
    if posted is None:
        values = {"name": rule.name, "level": rule.level, "enabled": rule.enabled, "reason": ""}
    else:
        values = {"name": posted.get("name", ""), "level": posted.get("level", ""),
                  "enabled": posted.get("enabled") == "on", "reason": posted.get("reason", "")}
    invalid = {}
    field = str(refused.fields.get("field") or "") if refused is not None else ""
    if posted is not None and field:
        element = (f"param_{field.removeprefix('params.')}" if field.startswith("params.")
                   else field if field in RULE_FORM_FIELDS else "")
        if element:
            invalid[element] = refused.render()
    params = []
    for name, param in (check.params.items() if check else ()):
        if posted is None:
            value = (rule.params or {}).get(name, param.default)
            value = ", ".join(value) if isinstance(value, list) else value
        elif param.type is bool:
            value = posted.get(f"param_{name}") == "on"
        else:
            value = posted.get(f"param_{name}", "")
        params.append({"name": name, "label": param.label, "type": param.type.__name__,
                       "value": value, "choices": param.choices,
                       "error": invalid.get(f"param_{name}", "")})
    return {"values": values, "invalid": invalid, "params": params}


def _params_from(post, check) -> dict:
    """Form fields to parameter values; checks.clean_params says what is wrong."""
    values = {}
    for name, param in (check.params.items() if check else ()):
        raw = post.get(f"param_{name}", "").strip()
        if param.type is bool:
            values[name] = post.get(f"param_{name}") == "on"
        elif param.type is list:
            values[name] = [v.strip() for v in raw.replace("，", ",").split(",") if v.strip()]
        elif param.type is str:
            values[name] = raw
        else:
            try:
                values[name] = json.loads(raw)
            except ValueError:
                raise InvalidInput(_("参数“%(param)s”应为数字。"), field=f"params.{name}",
                                   param=str(param.label)) from None
    return values


# --- supervision notices (监察督办) ------------------------------------------------

@staff_page()
def notices(request):
    open_only = request.GET.get("status", "open") == "open"
    return render(request, "supervision/notices.html", {
        "notices": paged(request, selectors.notices_for(actor=request.user,
                                                        open_only=open_only)),
        "open_only": open_only, "may_monitor": permissions.monitor(request.user),
    })


@staff_page(permissions.notice_issuer)
def notice_new(request):
    source = request.POST if request.method == "POST" else request.GET
    ids = [i for i in map(parse_id, source.getlist("alert")) if i is not None]
    chosen = list(selectors.alerts_for(actor=request.user).filter(pk__in=ids))
    if request.method == "POST":
        with refusal_shown(request):
            notice = services.notice_issue(actor=request.user, alert_ids=ids, content={
                "type": request.POST.get("type", ""),
                "title": request.POST.get("title", ""),
                "facts": request.POST.get("facts", ""),
                "requirements": request.POST.get("requirements", ""),
                "reply_workdays": request.POST.get("reply_workdays", "").strip(),
            })
            messages.success(request, _("督办已下达，等待被督办机关回复。"))
            return redirect("supervision:notice", case_id=notice.pk)
    agencies = sorted({a.agency.name for a in chosen})
    return render(request, "supervision/notice_new.html", {
        "alerts": chosen, "text_limit": services.NOTICE_TEXT_LIMIT,
        "types": [(code, label, days) for code, (label, days) in services.NOTICE_TYPES.items()],
        "form": {
            "type": source.get("type", "correction"),
            "title": source.get("title") or (
                _("关于%(agency)s办件超期等问题的纠错通知") % {"agency": agencies[0]}
                if len(agencies) == 1 else ""),
            "facts": source.get("facts") or selectors.notice_facts_draft(
                chosen, limit=services.NOTICE_TEXT_LIMIT),
            "requirements": source.get("requirements", ""),
            "reply_workdays": source.get("reply_workdays", ""),
        },
    })


@staff_page()
def notice(request, case_id: int):
    found = selectors.notice_detail(actor=request.user, case_id=case_id)
    task = found.open_task
    return render(request, "supervision/notice.html", {
        "n": found, "case": found.case,
        "may_act": task is not None and case_permissions.task_complete(request.user, task=task),
        "may_monitor": permissions.monitor(request.user),
    })
