"""What the case engine tells applicants and staff, and when.

Texts are rendered in Chinese (the applicant's language is not known at
this point); every one names the case number so it can be looked up.
"""

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yizhan.core import notify


def _to_applicant(case, subject: str, text: str) -> None:
    user = case.submitted_by
    notify.send(email=user.email, phone=case.applicant.phone or user.phone,
                subject=subject, text=text)


def case_submitted(case) -> None:
    with translation.override("zh-hans"):
        _to_applicant(case, _("申请已提交"),
                      _("您的“%(item)s”申请已提交，办件编号 %(number)s，请等待受理。")
                      % {"item": case.item_version.name, "number": case.number})


def correction_requested(case, notice) -> None:
    names = "、".join(item["name"] for item in notice.items)
    with translation.override("zh-hans"):
        _to_applicant(case, _("请补正申请材料"),
                      _("办件 %(number)s 需要补正以下材料：%(names)s。"
                        "请登录平台一次性补正后重新提交。")
                      % {"number": case.number, "names": names})


def correction_submitted(case) -> None:
    with translation.override("zh-hans"):
        _to_applicant(case, _("补正材料已提交"),
                      _("办件 %(number)s 的补正材料已提交，请等待受理。") % {"number": case.number})


# What the applicant is told when a task is completed, by (task kind, decision).
_TASK_TEXTS = {
    ("accept", "approve"): gettext_lazy("办件 %(number)s 已受理。"),
    ("accept", "reject"): gettext_lazy("办件 %(number)s 不予受理，理由见平台。"),
    ("decide", "approve"): gettext_lazy("办件 %(number)s 已准予，电子证照可在平台下载。"),
    ("decide", "reject"): gettext_lazy("办件 %(number)s 不予许可，理由及救济途径见平台。"),
    ("deliver", "approve"): gettext_lazy("办件 %(number)s 的决定已送达，办理完结。"),
}
# The kinds of task whose completion the applicant hears of.
TOLD_KINDS = frozenset(kind for kind, _decision in _TASK_TEXTS)


def task_completed(case, task, *, kind: str, decision: str) -> None:
    template = _TASK_TEXTS.get((kind, decision))
    if template:
        with translation.override("zh-hans"):
            _to_applicant(case, _("办件进度"), str(template) % {"number": case.number})


# --- staff: a step arrives in a post's inbox ---------------------------------------

def tasks_opened(tasks) -> None:
    """Tell the staff of each task new in (or back in) their inbox, after the step commits.

    Who holds a post is looked up in the background: the step itself only
    hands over the tasks' ids.
    """
    if tasks:
        from yizhan.core.tasks import enqueue

        enqueue("cases.tell_task_holders", task_ids=[task.pk for task in tasks])


def tell_task_holders(task_ids) -> int:
    """E-mail the holders of each open task's post, or the one who claimed it;
    return the messages sent.

    By e-mail only: a post's every holder hears of each step that reaches
    it, which by SMS would be a stream of texts.
    """
    from django.utils import timezone

    from yizhan.cases.models import Task
    from yizhan.directory.selectors import post_holders

    # Only what the message says: a case and its version carry the process
    # state and specification (tens of kilobytes), read for every step.
    tasks = list(Task.objects.filter(pk__in=task_ids,
                                     status__in=[Task.Status.OPEN, Task.Status.CLAIMED])
                 .select_related("case__item_version", "claimed_by")
                 .only("status", "agency_id", "role", "title", "due_at", "due_provisional",
                       "case__number", "case__item_version__name", "claimed_by__is_active",
                       "claimed_by__email"))
    holders = post_holders(posts={(task.agency_id, task.role) for task in tasks
                                  if task.status == Task.Status.OPEN})
    sent = 0
    with translation.override("zh-hans"):
        for task in tasks:
            case = task.case
            subject = _("新待办：%(number)s") % {"number": case.number}
            due = "—"
            if task.due_at:
                due = timezone.localtime(task.due_at).strftime("%Y-%m-%d")
                if task.due_provisional:
                    # Counted into a year whose holidays are not published: the
                    # date may still move, as the inbox and task page say.
                    due += _("（暂定）")
            text = _("办件 %(number)s（%(item)s）的“%(step)s”环节已到达您的岗位，"
                     "请于 %(due)s 前办理。") % {
                "number": case.number, "item": case.item_version.name, "step": task.title,
                "due": due}
            told = ([task.claimed_by] if task.status == Task.Status.CLAIMED
                    else holders.get((task.agency_id, task.role), []))
            for user in told:
                if user.is_active and user.email:
                    notify.send(email=user.email, subject=subject, text=text)
                    sent += 1
    return sent


def case_extended(case) -> None:
    with translation.override("zh-hans"):
        _to_applicant(case, _("办理期限延长"),
                      _("办件 %(number)s 的办理期限经批准延长 %(n)s 个工作日。")
                      % {"number": case.number, "n": case.extension_workdays})


# --- supervision notices (监察督办) ------------------------------------------------

def _to_heads(case, subject: str, text: str) -> None:
    """The heads of the agency a notice is addressed to: they answer for it."""
    from yizhan.directory.selectors import agency_heads

    for head in agency_heads(agency_ids=[case.agency_id]).get(case.agency_id, []):
        notify.send(email=head.email, phone=head.phone, subject=subject, text=text)


def _to_issuer(case, subject: str, text: str) -> None:
    user = case.submitted_by
    if user.is_active:
        notify.send(email=user.email, phone=user.phone, subject=subject, text=text)


def notice_issued(case) -> None:
    with translation.override("zh-hans"):
        _to_heads(case, _("监察督办"),
                  _("监察机关已下达督办件 %(number)s：%(title)s。请于 %(n)s 个工作日内"
                    "登录工作台回复整改情况。")
                  % {"number": case.number, "title": case.data.get("title", ""),
                     "n": case.data.get("reply_workdays")})


def notice_progressed(case, *, kind: str) -> None:
    with translation.override("zh-hans"):
        if kind == "reply":
            _to_issuer(case, _("督办回复"),
                       _("督办件 %(number)s 已回复，请审核。") % {"number": case.number})
        elif case.status == case.Status.CLOSED:
            _to_heads(case, _("督办办结"),
                      _("督办件 %(number)s 的回复已被认可，督办办结。") % {"number": case.number})


def notice_returned(case, opinion: str) -> None:
    with translation.override("zh-hans"):
        _to_heads(case, _("督办回复被退回"),
                  _("督办件 %(number)s 的回复未被认可：%(opinion)s。请重新整改并回复。")
                  % {"number": case.number, "opinion": opinion})
