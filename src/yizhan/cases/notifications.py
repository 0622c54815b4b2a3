"""What the case engine tells applicants and staff, and when.

Texts are rendered in Chinese (the applicant's language is not known at
this point); every one names the case number so it can be looked up, and
ends with the address of the page where it is (``YIZHAN_PUBLIC_URL``).
"""

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from yizhan.cases import events, permissions
from yizhan.cases.models import EventType
from yizhan.core import notify
from yizhan.core.public import public_url

_link = public_url


def _with_link(text: str, url: str) -> str:
    return f"{text}\n{url}"


def _clause(text: str) -> str:
    """Free text set into a sentence of a message, which ends with its own full
    stop rather than the text's last mark (no "；。")."""
    return text.strip().rstrip("。．.；;，,、 ")


def _at_the_window(case) -> bool:
    """Whether the applicant has no account: told by SMS alone, with the
    status query's address, which shows no reasons, correction notice or
    certificate; what the platform would show them, they get at the window."""
    return case.applicant.user_id is None


def _page_of(case) -> str:
    """The address the applicant's messages end with: their case page, or
    the status query for an applicant without an account."""
    return (_link("cases:status") if _at_the_window(case)
            else _link("cases:mine_detail", case.pk))


def _phone_text(text: str, url: str, shorter: tuple[str, ...]) -> str:
    """What the SMS says instead of ``text`` (both end with ``url``), or ""
    when ``text`` fits in two segments (``notify.sms_fits``): the first of
    the ``shorter`` texts, longest first, that fits, else the last of them.

    Free text set into a message (an item's name as the catalogue publishes
    it, a reason) has no bound; the e-mail keeps it, the phone gets what
    two segments hold and where the rest is.
    """
    if not shorter or notify.sms_fits(_with_link(text, url)):
        return ""
    fitting = next((candidate for candidate in shorter
                    if notify.sms_fits(_with_link(candidate, url))), shorter[-1])
    return _with_link(fitting, url)


def _to_applicant(case, subject: str, text: str, *, told: bool = True,
                  shorter: tuple[str, ...] = ()) -> None:
    """The applicant's own e-mail (their account's) and phone.

    Never the submitter's: a case filed at the window was submitted by the
    clerk, whose mailbox is not the applicant's.  An applicant without an
    account is told by SMS alone, with the status query's address (the case
    number and query code open it) instead of a case page they cannot sign
    in to.  ``shorter`` are the texts the SMS says instead, longest first,
    when ``text`` would not fit in two segments (``_phone_text``).

    What the law has the agency tell the applicant (受理 or 不予受理 and the
    decision, 第三十二条、第三十八条; a longer limit, 第四十二条; a pause and
    its end, 第四十五条; delivery) is the 告知 monitoring point: recorded as a
    ``cases.notified`` event in the step's transaction, with what was said and
    by which channels.  Receipts (submitted, correction received) are not
    告知, and the correction notice is its own event (补正告知): ``told=False``.
    """
    applicant = case.applicant
    user = applicant.user
    email = user.email if user is not None else ""
    phone = applicant.phone or (user.phone if user is not None else "")
    url = _page_of(case)
    notify.send(email=email, phone=phone, subject=subject, text=_with_link(text, url),
                sms_text=_phone_text(text, url, shorter), case_number=case.number)
    if told:
        # The platform tells, on the agency's behalf: no person is the actor.
        events.append(case=case, type=EventType.NOTIFIED, actor=None,
                      data={"subject": str(subject), "text": str(text),
                            "email": bool(email), "sms": bool(phone)})


def case_submitted(case) -> None:
    """The receipt names the item; an SMS a long item name (a catalogue's item
    and sub-item) would make longer than two segments leaves it out."""
    with translation.override("zh-hans"):
        _to_applicant(case, _("申请已提交"),
                      _("您的“%(item)s”申请已提交，办件编号 %(number)s，请等待受理。")
                      % {"item": case.item_version.name, "number": case.number}, told=False,
                      shorter=(_("您的申请已提交，办件编号 %(number)s，请等待受理。")
                               % {"number": case.number},))


def correction_requested(case, notice) -> None:
    """All that is to be corrected, at once (《行政许可法》第三十二条).

    The applicant with an account corrects on their case page, which lists
    each material's problem; one without an account is told each problem
    here and brings the materials to the window.  What the clerk wrote
    besides the materials (补充说明) is part of the notice, told as the
    materials are: the applicant without an account sees no case page.  An
    SMS that the list and note would make longer than two segments names
    how many materials and where they are listed; the e-mail keeps them.
    """
    n = len(notice.items)
    note = _clause(notice.note)
    # A notice that lists answers of the application form as well says 内容,
    # the law's word (需要补正的全部内容), not 材料.
    answers = any("field" in item for item in notice.items)
    with translation.override("zh-hans"):
        told = _("补充说明：%(note)s。") % {"note": note} if note else ""
        if _at_the_window(case):
            names = "、".join(f"{item['name']}（{item['problem']}）" for item in notice.items)
            text = ((_("办件 %(number)s 需要补正以下内容：%(names)s。") if answers
                     else _("办件 %(number)s 需要补正以下材料：%(names)s。"))
                    % {"number": case.number, "names": names}
                    + told + _("请携带补正材料到受理窗口办理。"))
            where = _("请到受理窗口领取补正材料通知书。")
        else:
            names = "、".join(item["name"] for item in notice.items)
            text = ((_("办件 %(number)s 需要补正以下内容：%(names)s。"
                       "请登录平台一次性补正后重新提交。") if answers
                     else _("办件 %(number)s 需要补正以下材料：%(names)s。"
                            "请登录平台一次性补正后重新提交。"))
                    % {"number": case.number, "names": names} + told)
            where = _("请登录平台查看补正告知，一次性补正后重新提交。")
        counted = (ngettext("办件 %(number)s 需要补正 %(n)s 项内容。",
                            "办件 %(number)s 需要补正 %(n)s 项内容。", n) if answers
                   else ngettext("办件 %(number)s 需要补正 %(n)s 项材料。",
                                 "办件 %(number)s 需要补正 %(n)s 项材料。", n)
                   ) % {"number": case.number, "n": n} + where
        _to_applicant(case, _("请补正申请材料"), text, told=False, shorter=(counted,))


def correction_submitted(case) -> None:
    with translation.override("zh-hans"):
        _to_applicant(case, _("补正材料已提交"),
                      _("办件 %(number)s 的补正材料已提交，请等待受理。") % {"number": case.number},
                      told=False)


# 《行政许可法》第三十八条: a refusal tells the applicant of their remedies.
_REMEDIES = gettext_lazy("如不服，可依法申请行政复议或者提起行政诉讼。")

# What the applicant is told when a task is completed, by (task kind,
# decision): the sentences, in order.
_TASK_TEXTS = {
    ("accept", "approve"): (gettext_lazy("办件 %(number)s 已受理。"),),
    ("accept", "reject"): (gettext_lazy("办件 %(number)s 不予受理，理由见平台。"),),
    ("decide", "approve"): (gettext_lazy("办件 %(number)s 已准予，电子证照可在平台下载。"),),
    ("decide", "reject"): (gettext_lazy("办件 %(number)s 不予许可，理由见平台。"), _REMEDIES),
    ("deliver", "approve"): (gettext_lazy("办件 %(number)s 的决定已送达，办理完结。"),),
}
# Where those send the applicant to the platform, what an applicant without
# an account is told instead: the status query shows no reason nor result.
_WINDOW_TEXTS = {
    ("accept", "reject"): (gettext_lazy("办件 %(number)s 不予受理。"),
                           gettext_lazy("请到受理窗口领取不予受理决定书。")),
    ("decide", "approve"): (gettext_lazy("办件 %(number)s 已准予。"),
                            gettext_lazy("请到受理窗口领取证照。")),
    ("decide", "reject"): (gettext_lazy("办件 %(number)s 不予许可。"),
                           gettext_lazy("请到受理窗口领取决定书。"), _REMEDIES),
}
# The kinds of task whose completion the applicant hears of.
TOLD_KINDS = frozenset(kind for kind, _decision in _TASK_TEXTS)


def task_completed(case, task, *, kind: str, decision: str) -> None:
    sentences = _TASK_TEXTS.get((kind, decision))
    if sentences:
        if _at_the_window(case):
            sentences = _WINDOW_TEXTS.get((kind, decision), sentences)
        with translation.override("zh-hans"):
            text = "".join(str(sentence) for sentence in sentences)
            _to_applicant(case, _("办件进度"), text % {"number": case.number})


def case_refused(case) -> None:
    """A refusal decided by a review's rejection (a joint agency's veto): as much
    不予许可 as the head's, and told in the same words."""
    task_completed(case, None, kind="decide", decision="reject")


# --- staff: a step arrives in a post's inbox ---------------------------------------

def tasks_opened(tasks) -> None:
    """Tell the staff of each task new in (or back in) their inbox, after the step commits.

    Who holds a post is looked up in the background: the step itself only
    hands over the tasks' ids.
    """
    if tasks:
        from yizhan.core.tasks import enqueue

        enqueue("cases.tell_task_holders", task_ids=[task.pk for task in tasks])


def _tasks_to_tell(task_ids, statuses) -> tuple[list, dict]:
    """The tasks of ``task_ids`` in ``statuses``, and the holders of their posts.

    Whoever claimed a task is the one told of it; a task nobody claimed is
    told to every holder of its post.
    """
    from yizhan.cases.models import Task
    from yizhan.directory.selectors import post_holders

    # Only what the message says: a case and its version carry the process
    # state and specification (tens of kilobytes), read for every step.
    tasks = list(Task.objects.filter(pk__in=task_ids, status__in=statuses)
                 .select_related("case__item_version", "claimed_by")
                 .only("status", "agency_id", "role", "title", "due_at", "due_provisional",
                       "case__number", "case__item_version__name", "claimed_by__is_active",
                       "claimed_by__email"))
    holders = post_holders(posts={(task.agency_id, task.role) for task in tasks
                                  if task.claimed_by_id is None})
    return tasks, holders


def _told(task, holders) -> list:
    users = ([task.claimed_by] if task.claimed_by_id is not None
             else holders.get((task.agency_id, task.role), []))
    return [user for user in users if user.is_active and user.email]


def _mail_holders(task, holders, *, subject: str, text: str) -> int:
    """E-mail ``text``, with the task page's address, to whoever is told of
    ``task`` (``_told``); return the messages sent."""
    text = _with_link(text, _link("cases:task", task.pk))
    told = _told(task, holders)
    for user in told:
        notify.send(email=user.email, subject=subject, text=text,
                    case_number=task.case.number)
    return len(told)


def tell_task_holders(task_ids) -> int:
    """E-mail the holders of each open task's post, or the one who claimed it;
    return the messages sent.

    By e-mail only: a post's every holder hears of each step that reaches
    it, which by SMS would be a stream of texts.
    """
    from django.utils import timezone

    from yizhan.cases.models import Task

    tasks, holders = _tasks_to_tell(task_ids, [Task.Status.OPEN, Task.Status.CLAIMED])
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
            sent += _mail_holders(task, holders, subject=subject, text=text)
    return sent


# Why a task was cancelled, as its holders are told (``tasks_cancelled``).
CANCEL_REASONS = {
    "withdrawn": gettext_lazy("申请人已撤回申请，本环节已取消"),
    "vetoed": gettext_lazy("另一机关不同意，本环节已取消"),
    "returned": gettext_lazy("办件已被退回重新办理，本环节已取消"),
    "superseded": gettext_lazy("办理流程已不再需要本环节，本环节已取消"),
}


def tasks_cancelled(task_ids, *, reason: str) -> None:
    """Tell whoever held each of these cancelled tasks, after the step commits,
    that it is gone and why (a key of ``CANCEL_REASONS``).

    Told as ``tell_task_holders`` would tell of it: the one who claimed it,
    or every holder of its post; otherwise the task just vanishes from their
    inbox, and a reviewer halfway through it never learns why.  The holders
    are looked up in the background, as for ``tasks_opened``.
    """
    if reason not in CANCEL_REASONS:
        raise ValueError(f"unknown cancel reason {reason!r}")
    ids = list(task_ids)
    if ids:
        from yizhan.core.tasks import enqueue

        enqueue("cases.tell_cancelled", task_ids=ids, reason=reason)


def tell_cancelled(task_ids, *, reason: str) -> int:
    """E-mail the holders of each cancelled task; return the messages sent."""
    from yizhan.cases.models import Task

    tasks, holders = _tasks_to_tell(task_ids, [Task.Status.CANCELLED])
    sent = 0
    with translation.override("zh-hans"):
        for task in tasks:
            case = task.case
            subject = _("待办已取消：%(number)s") % {"number": case.number}
            text = _("办件 %(number)s（%(item)s）的“%(step)s”环节：%(reason)s，无需再办理。") % {
                "number": case.number, "item": case.item_version.name, "step": task.title,
                "reason": CANCEL_REASONS[reason]}
            sent += _mail_holders(task, holders, subject=subject, text=text)
    return sent


def case_extended(case, *, reason: str) -> None:
    """The limit is longer, and why (《行政许可法》第四十二条: 并应当将延长期限的理由
    告知申请人): the walk-in applicant's status page shows no reason, so the
    message says it.  An applicant with an account is sent a reason too long
    for an SMS of two segments by e-mail and finds it on the case page; the
    SMS says so.  The walk-in applicant has only the SMS: it keeps the
    reason, whatever its length, since the law has it told."""
    with translation.override("zh-hans"):
        extended = (_("办件 %(number)s 的办理期限经批准延长 %(n)s 个工作日。")
                    % {"number": case.number, "n": case.extension_workdays})
        shorter = (() if _at_the_window(case)
                   else (extended + _("延期理由请登录平台查看办件。"),))
        _to_applicant(case, _("办理期限延长"),
                      _("办件 %(number)s 的办理期限经批准延长 %(n)s 个工作日，理由：%(reason)s。")
                      % {"number": case.number, "n": case.extension_workdays,
                         "reason": reason}, shorter=shorter)


def extension_requested(case, request) -> None:
    """The heads of the agency that decides the case (for an upper-level review
    sent up, the upper agency: ``permissions.deciding_agency_id``) are asked
    to approve an extension (《行政许可法》第四十二条: 经本行政机关负责人批准),
    with the case page's address.

    The SMS only says there is a request: the reason, of any length, is in
    the e-mail and on the case page."""
    url = _link("cases:staff_case", case.pk)
    with translation.override("zh-hans"):
        _to_heads(case, _("延期申请待批准：%(number)s") % {"number": case.number},
                  _with_link(_("办件 %(number)s（%(item)s）的承办人申请延长办理期限 %(n)s 个"
                               "工作日，理由：%(reason)s。请在法定期限届满前批准或不予批准。")
                             % {"number": case.number, "item": case.item_version.name,
                                "n": request.workdays, "reason": request.reason}, url),
                  sms_text=_with_link(_("办件 %(number)s 有延期申请待您批准，详见邮件或工作台。")
                                      % {"number": case.number}, url),
                  agency_id=permissions.deciding_agency_id(case))


def _to_requester(case, request, subject, text) -> None:
    """Whoever asked for an extension, still staff, about their request: the
    texts are made in Chinese (``subject()``, ``text()``), as every message is."""
    user = request.requested_by
    if not user.is_active:
        return
    with translation.override("zh-hans"):
        notify.send(email=user.email, phone=user.phone, subject=subject(),
                    text=_with_link(text(), _link("cases:staff_case", case.pk)),
                    case_number=case.number)


def extension_declined(case, request) -> None:
    """Whoever asked for the extension hears that the head did not approve it, and why."""
    _to_requester(
        case, request,
        lambda: _("延期申请未获批准：%(number)s") % {"number": case.number},
        lambda: _("办件 %(number)s 的延期申请未获负责人批准，理由：%(note)s。")
        % {"number": case.number, "note": request.decision_note})


def extension_lapsed(case, request) -> None:
    """Whoever asked for the extension hears that the request was closed
    because the case went up to the upper agency (上级初审), whose head alone
    may now approve an extension (第四十二条, 本行政机关负责人): the upper
    agency asks again if it needs the time."""
    _to_requester(
        case, request,
        lambda: _("延期申请已失效：%(number)s") % {"number": case.number},
        lambda: _("办件 %(number)s 已报送上级机关审查决定，您的延期申请随之撤回；"
                  "上级机关如需延长办理期限，将另行申请。") % {"number": case.number})


# 《行政许可法》第四十五条: the time a hearing, testing, quarantine, appraisal or
# expert review needs is not counted in the limit, and the agency tells the
# applicant so; the applicant hears again when the clock runs on.

def case_suspended(case, *, reason: str) -> None:
    """The clock stopped for ``reason`` (a key of ``clock.SUSPEND_REASONS``)."""
    from yizhan.cases import clock

    with translation.override("zh-hans"):
        _to_applicant(case, _("办理期限暂停计算"),
                      _("办件 %(number)s 需要%(reason)s，所需时间不计入办理期限，"
                        "办理期限自今日起暂停计算；恢复计算时将另行告知。")
                      % {"number": case.number,
                         "reason": clock.SUSPEND_REASONS.get(reason, reason)})


def case_resumed(case, *, reason: str, paused_workdays: int) -> None:
    """The clock runs again after a pause for ``reason``, which took ``paused_workdays``."""
    from django.utils import timezone

    from yizhan.cases import clock

    with translation.override("zh-hans"):
        due = "—"
        if case.promised_due:
            due = timezone.localtime(case.promised_due).strftime("%Y-%m-%d")
            if case.promised_provisional:
                due += _("（暂定）")
        _to_applicant(case, _("办理期限恢复计算"),
                      _("办件 %(number)s 的%(reason)s已结束，办理期限恢复计算；"
                        "暂停的 %(n)s 个工作日不计入办理期限，承诺办结期限现为 %(due)s。")
                      % {"number": case.number,
                         "reason": clock.SUSPEND_REASONS.get(reason, reason),
                         "n": paused_workdays, "due": due})


def certificate_revoked(case, certificate) -> None:
    """The holder's certificate was revoked (注销): from which day, why, and the
    remedies.

    注销 takes away what the holder relies on, and is a decision of the
    agency's like a refusal: the holder is told of it as of the decision,
    with the reason and the right to 行政复议 or 行政诉讼 (the same words
    as a refusal's, 第三十八条).  The public verification page shows the
    day but not the reason; the holder, whom it is about, is told both.
    The message is in Chinese, as every message here, so the day is
    written as the certificate itself writes one.
    """
    from yizhan.core.pdf import chinese_date

    with translation.override("zh-hans"):
        revoked = (_("办件 %(number)s 的电子证照（证照编号 %(certificate)s）已于%(date)s"
                     "注销，自该日起不再有效。")
                   % {"number": case.number, "certificate": certificate.number,
                      "date": chinese_date(certificate.revoked_at)})
        reason = _("注销理由：%(reason)s。") % {"reason": _clause(certificate.revoke_reason)}
        text = revoked + reason + str(_REMEDIES)
        # Within two segments: the case number (the certificate's holds it)
        # and the remedies give way first (the e-mail and the case page keep
        # them), then a long reason, to where it can be learnt.
        numbered = (_("电子证照（证照编号 %(certificate)s）已于%(date)s注销，"
                      "自该日起不再有效。")
                    % {"certificate": certificate.number,
                       "date": chinese_date(certificate.revoked_at)})
        where = (_("注销理由及救济途径请向发证机关查询。") if _at_the_window(case)
                 else _("注销理由及救济途径请登录平台查看办件。"))
        _to_applicant(case, _("电子证照已注销"), text,
                      shorter=(numbered + reason, numbered + where))


# --- supervision notices (监察督办) ------------------------------------------------

def _to_heads(case, subject: str, text: str, *, sms_text: str = "",
              agency_id: int | None = None) -> None:
    """The heads of the agency a notice is addressed to (they answer for it),
    or of ``agency_id``."""
    from yizhan.directory.selectors import agency_heads

    agency_id = agency_id or case.agency_id
    for head in agency_heads(agency_ids=[agency_id]).get(agency_id, []):
        notify.send(email=head.email, phone=head.phone, subject=subject, text=text,
                    sms_text=sms_text, case_number=case.number)


def _to_issuer(case, subject: str, text: str) -> None:
    user = case.submitted_by
    if user.is_active:
        notify.send(email=user.email, phone=user.phone, subject=subject, text=text,
                    case_number=case.number)


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
