"""Background work of supervision: the minute sweep, the alert notices, the quarterly scores."""

from django.utils import translation
from django.utils.translation import gettext as _

from yizhan.core import notify
from yizhan.core.tasks import task


@task("supervision.sweep", every=60)
def run_sweep() -> dict:
    """Every minute (embedded scheduler or Celery beat); safe to run twice at once."""
    from yizhan.supervision.detection import sweep

    result = sweep()
    return {"cases": result.cases, "alerts": result.alerts}


@task("supervision.quarterly_scores", every=6 * 3600)
def quarterly_scores() -> dict:
    """Score the quarter just ended, once (every six hours it looks whether that is due)."""
    from yizhan.supervision.scoring_services import scores_compute_after_quarter

    run = scores_compute_after_quarter()
    return {"run": run.pk if run else None}


@task("supervision.notify_alerts")
def notify_alerts(*, keys: list[str]) -> int:
    """Tell the responsible staff, and the heads of their agencies, about new alerts.

    One message per person per batch, listing the cases, so a sweep that
    raises many alerts does not send each head hundreds of texts.
    """
    from yizhan.directory.selectors import agency_heads
    from yizhan.supervision.models import Alert

    alerts = list(Alert.objects.filter(key__in=keys).select_related("case", "rule", "responsible"))
    if not alerts:
        return 0
    heads = agency_heads(agency_ids={a.agency_id for a in alerts})
    inbox: dict[int, tuple] = {}
    for alert in alerts:
        # A head who is also the responsible person is told once per alert.
        people = {person.pk: person for person in heads.get(alert.agency_id, [])}
        if alert.responsible_id and alert.responsible.is_active:
            people.setdefault(alert.responsible_id, alert.responsible)
        for person in people.values():
            inbox.setdefault(person.pk, (person, []))[1].append(alert)
    with translation.override("zh-hans"):
        for person, items in inbox.values():
            lines = [f"{a.get_level_display()} {a.case.number}：{a.message}" for a in items[:20]]
            if len(items) > 20:
                lines.append(_("……共 %(n)s 条，请登录工作台查看。") % {"n": len(items)})
            notify.send(email=person.email, phone=person.phone, subject=_("电子监察预警"),
                        text="\n".join(lines))
    return len(inbox)
