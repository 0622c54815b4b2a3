"""What applicants and staff are told at each step, checked as they receive it."""

import logging

from django.core import mail
from django.test import Client, override_settings

from tests.cases.helpers import (
    complete,
    event_types,
    open_task,
    publish_item,
    reachable,
    reload,
    submitted,
    walk_in,
    walk_in_case,
)
from yizhan.cases import certificates, services
from yizhan.cases.models import Certificate, EventType
from yizhan.core.notify import SMS_MAX_LENGTH, MemorySmsBackend
from yizhan.core.pdf import chinese_date
from yizhan.directory.roles import Role

PUBLIC = "https://zwfw.example.gov.cn"
REMEDIES = "如不服，可依法申请行政复议或者提起行政诉讼。"


class BrokenSms:
    """An SMS gateway that refuses every message."""

    def send(self, phone, text):
        raise TimeoutError("gateway down")


def _sms_to(phone):
    return [m.text for m in MemorySmsBackend.outbox if m.phone == phone]


def _decided(world, version, capture, *, decision, opinion="", **kwargs):
    """A case decided by the head, only the decision's messages in the outboxes."""
    case, code = submitted(world, version, **kwargs)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    with capture(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide", decision=decision,
                 opinion=opinion)
    return reload(case), code


def _refused_at_decision(world, version, capture, **kwargs):
    return _decided(world, version, capture, decision="reject",
                    opinion="申请场所不符合消防安全要求", **kwargs)


# --- 《行政许可法》第四十二条: the extension's reason is told to the applicant ---------

@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_the_applicant_is_told_the_reason_of_the_extension(
        world, promised, django_capture_on_commit_callbacks):
    """The law has the agency tell the applicant why the limit is longer: the
    notice (and the 告知 record of it) names the reason, for the walk-in
    applicant too, whose status page shows no reason at all."""
    case, _code = walk_in_case(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_extend(actor=world.user("a", Role.AGENCY_HEAD), case=reload(case),
                             workdays=5, reason="需组织专家现场核查")
    [sms] = _sms_to("13700002222")
    assert f"办件 {case.number} 的办理期限经批准延长 5 个工作日，理由：需组织专家现场核查。" in sms
    told = case.events.filter(type=EventType.NOTIFIED).latest("at")
    assert "需组织专家现场核查" in told.data["text"]


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_long_reason_of_the_extension_is_not_sent_past_two_segments(
        world, promised, django_capture_on_commit_callbacks):
    """An applicant with an account is told by SMS the working days and where
    the reason is, and by e-mail the reason; the walk-in applicant, told by
    SMS alone, is sent the reason whatever its length (第四十二条).  The 告知
    record keeps the reason for both."""
    reason = ("申请人提交的消防设计文件需委托第三方机构进行技术复核，复核结论预计需要七个工作日，"
              "另需组织专家对结构安全进行现场论证")
    at_window, _code = walk_in_case(world, promised)
    reachable(world.citizen, phone="13900001111")
    online, _code = submitted(world, promised)
    head = world.user("a", Role.AGENCY_HEAD)
    for case in (at_window, online):
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for case in (at_window, online):
            services.case_extend(actor=head, case=reload(case), workdays=5, reason=reason)
    [sms] = _sms_to("13900001111")
    assert len(sms) <= SMS_MAX_LENGTH, (len(sms), sms)
    assert (f"办件 {online.number} 的办理期限经批准延长 5 个工作日。"
            "延期理由请登录平台查看办件。") in sms
    [sms] = _sms_to("13700002222")
    assert f"理由：{reason}。" in sms
    for case in (at_window, online):
        told = case.events.filter(type=EventType.NOTIFIED).latest("at")
        assert reason in told.data["text"]
    [message] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert f"理由：{reason}。" in message.body


# --- 不予许可: the reasons and remedies are where the message sends the applicant ------

@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_refused_applicant_finds_the_remedies_the_message_sends_them_to(
        world, promised, django_capture_on_commit_callbacks):
    """“理由见平台”: the applicant opens the address at the end of the e-mail
    and finds the reason; the message and the page tell them of their right
    to 行政复议 or 行政诉讼 (《行政许可法》第三十八条)."""
    case, _code = _refused_at_decision(world, promised, django_capture_on_commit_callbacks)
    [message] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    url = message.body.rsplit("\n", 1)[-1]
    assert url == f"{PUBLIC}/my/cases/{case.pk}/"
    assert f"办件 {case.number} 不予许可，理由见平台。{REMEDIES}" in message.body
    client = Client()
    client.force_login(world.citizen)
    page = client.get(url.removeprefix(PUBLIC)).content.decode()
    assert "申请场所不符合消防安全要求" in page
    assert "如不服本决定，可以依法申请行政复议或者提起行政诉讼。" in page


def test_the_staff_case_page_of_a_refused_case_shows_the_remedies(
        world, promised, django_capture_on_commit_callbacks):
    """The staff see what the applicant was told, before delivery and after;
    a case not refused names no remedy."""
    refused, _code = _refused_at_decision(world, promised, django_capture_on_commit_callbacks)
    approved, _code = _decided(world, promised, django_capture_on_commit_callbacks,
                               decision="approve")
    client = Client()
    client.force_login(world.user("a", Role.AGENCY_HEAD))
    page = client.get(f"/workbench/cases/{refused.pk}/").content.decode()
    assert "如不服本决定，可以依法申请行政复议或者提起行政诉讼。" in page
    complete(world.user("a", Role.WINDOW_CLERK), refused, "deliver")
    assert reload(refused).outcome == "refused"
    page = client.get(f"/workbench/cases/{refused.pk}/").content.decode()
    assert "如不服本决定，可以依法申请行政复议或者提起行政诉讼。" in page
    page = client.get(f"/workbench/cases/{approved.pk}/").content.decode()
    assert "行政复议" not in page


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_walk_in_applicant_refused_is_sent_to_the_window_not_the_platform(
        world, promised, django_capture_on_commit_callbacks):
    """The applicant without an account is sent to /status/, which by design
    shows no reason (docs/cases.md): the SMS sends them to the window for the
    written decision, and names their remedies."""
    case, code = _refused_at_decision(world, promised, django_capture_on_commit_callbacks,
                                      actor=world.user("a", Role.WINDOW_CLERK),
                                      applicant=walk_in(world))
    [sms] = _sms_to("13700002222")
    assert sms.endswith(f"{PUBLIC}/status/")
    assert f"办件 {case.number} 不予许可。请到受理窗口领取决定书。{REMEDIES}" in sms
    assert "见平台" not in sms
    page = Client().post("/status/", {"number": case.number, "code": code}).content.decode()
    assert case.number in page


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_walk_in_applicant_not_accepted_is_sent_to_the_window(
        world, promised, django_capture_on_commit_callbacks):
    """不予受理: the status page shows no reason, so the SMS sends the applicant
    without an account to the window for the written decision."""
    case, _code = walk_in_case(world, promised)
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.WINDOW_CLERK), case, "accept", decision="reject",
                 opinion="不属于本机关职权范围")
    [sms] = _sms_to("13700002222")
    assert f"办件 {case.number} 不予受理。请到受理窗口领取不予受理决定书。" in sms
    assert "见平台" not in sms


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_walk_in_applicant_approved_collects_the_certificate_at_the_window(
        world, promised, django_capture_on_commit_callbacks):
    """They cannot download it from the platform: the SMS says where to get it."""
    case, _code = _decided(world, promised, django_capture_on_commit_callbacks,
                           decision="approve", actor=world.user("a", Role.WINDOW_CLERK),
                           applicant=walk_in(world))
    [sms] = _sms_to("13700002222")
    assert f"办件 {case.number} 已准予。请到受理窗口领取证照。" in sms
    assert "平台" not in sms.removeprefix("【示范市一站式政务服务平台】")


# --- 注销: the holder learns that the certificate no longer has effect, and why ------

REVOKE_REASON = "持证人以欺骗手段取得许可，依法撤销"


def _revoked(world, case, capture):
    """The certificate of approved ``case``, revoked by the head, only the
    revocation's messages in the outboxes."""
    certificate = Certificate.objects.get(case=case)
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    with capture(execute=True):
        certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                        certificate=certificate, reason=REVOKE_REASON)
    certificate.refresh_from_db()
    return certificate


def _revocation_text(case, certificate) -> str:
    return (f"办件 {case.number} 的电子证照（证照编号 {certificate.number}）已于"
            f"{chinese_date(certificate.revoked_at)}注销，自该日起不再有效。"
            f"注销理由：{REVOKE_REASON}。{REMEDIES}")


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_the_holder_is_told_when_the_certificate_is_revoked(
        world, promised, django_capture_on_commit_callbacks):
    """注销 takes away what the holder relies on: they are told, as of every other
    decision on the case, with the number, the day, the reason and the remedies,
    and the 告知 is recorded after the revocation."""
    case, _code = _decided(world, promised, django_capture_on_commit_callbacks,
                           decision="approve")
    certificate = _revoked(world, case, django_capture_on_commit_callbacks)
    [message] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert message.subject == "电子证照已注销"
    assert _revocation_text(case, certificate) in message.body
    assert message.body.rsplit("\n", 1)[-1] == f"{PUBLIC}/my/cases/{case.pk}/"
    types = event_types(case)
    assert EventType.NOTIFIED in types[types.index(EventType.CERTIFICATE_REVOKED):]
    told = case.events.filter(type=EventType.NOTIFIED).latest("at")
    assert REVOKE_REASON in told.data["text"] and certificate.number in told.data["text"]


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_walk_in_holder_is_told_the_reason_of_the_revocation_by_sms(
        world, promised, django_capture_on_commit_callbacks):
    """The status query shows no certificate: the SMS itself says why, within
    two segments (the remedies are left to the written decision)."""
    case, _code = _decided(world, promised, django_capture_on_commit_callbacks,
                           decision="approve", actor=world.user("a", Role.WINDOW_CLERK),
                           applicant=walk_in(world))
    certificate = _revoked(world, case, django_capture_on_commit_callbacks)
    [sms] = _sms_to("13700002222")
    assert (f"电子证照（证照编号 {certificate.number}）已于{chinese_date(certificate.revoked_at)}"
            f"注销，自该日起不再有效。注销理由：{REVOKE_REASON}。") in sms
    assert sms.endswith(f"{PUBLIC}/status/")
    assert len(sms) <= SMS_MAX_LENGTH


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_long_revocation_reason_is_not_sent_past_two_segments(
        world, promised, django_capture_on_commit_callbacks):
    """A reason too long for an SMS is left to what is recorded and written, and
    the SMS says where the reason is learnt; the reason's own last mark does
    not double the full stop."""
    case, _code = _decided(world, promised, django_capture_on_commit_callbacks,
                           decision="approve", actor=world.user("a", Role.WINDOW_CLERK),
                           applicant=walk_in(world))
    MemorySmsBackend.outbox.clear()
    reason = "经复查，" + "申请材料存在虚假内容，" * 8 + "依法撤销；"
    with django_capture_on_commit_callbacks(execute=True):
        certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                        certificate=Certificate.objects.get(case=case),
                                        reason=reason)
    [sms] = _sms_to("13700002222")
    assert len(sms) <= SMS_MAX_LENGTH and "注销理由及救济途径请向发证机关查询。" in sms
    told = case.events.filter(type=EventType.NOTIFIED).latest("at")
    assert "依法撤销。如不服" in told.data["text"] and "；。" not in told.data["text"]


# --- 补正: everything at once, in words the applicant can use ---------------------------

@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_walk_in_applicant_is_not_asked_to_sign_in_to_correct(
        world, promised, django_capture_on_commit_callbacks):
    """An applicant without an account cannot “登录平台”, and the status page
    shows no correction notice: the SMS says what is wrong with each material
    (一次告知全部内容, 第三十二条) and sends them to the window."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    case, _code = walk_in_case(world, promised)
    material = case.item_version.materials.get(name="申请书")
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_correction(actor=clerk, task=open_task(case), items=[
            {"material_id": material.pk, "problem": "缺少签名"}], note="")
    [sms] = _sms_to("13700002222")
    assert "登录" not in sms
    assert (f"办件 {case.number} 需要补正以下材料：申请书（缺少签名）。"
            "请携带补正材料到受理窗口办理。") in sms


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_walk_in_applicant_is_told_the_notice_s_note(
        world, promised, django_capture_on_commit_callbacks):
    """一次告知全部内容: what the clerk wrote besides the materials (补充说明)
    reaches the applicant without an account too, whose status page shows no
    notice at all, before they are sent to the window."""
    case, _code = walk_in_case(world, promised)
    material = case.item_version.materials.get(name="申请书")
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_correction(
            actor=world.user("a", Role.WINDOW_CLERK), task=open_task(case),
            items=[{"material_id": material.pk, "problem": "缺少签名"}],
            note="另需携带身份证原件。")
    [sms] = _sms_to("13700002222")
    assert len(sms) <= SMS_MAX_LENGTH, (len(sms), sms)
    assert (f"办件 {case.number} 需要补正以下材料：申请书（缺少签名）。"
            "补充说明：另需携带身份证原件。请携带补正材料到受理窗口办理。") in sms


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_the_notice_s_note_is_in_the_email_and_a_long_one_shortens_the_sms(
        world, promised, django_capture_on_commit_callbacks):
    """The note goes with the list: in full in the e-mail; an SMS it would make
    longer than two segments falls back to the count and where to look."""
    note = "请同时提交租赁合同原件扫描件，以及出租方的产权证明和出租方同意转租的书面材料，" * 2
    reachable(world.citizen, phone="13900001111")
    case, _code = submitted(world, promised)
    material = case.item_version.materials.get(name="营业执照")
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_correction(
            actor=world.user("a", Role.WINDOW_CLERK), task=open_task(case),
            items=[{"material_id": material.pk, "problem": "已过期"}], note=note)
    [message] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert f"补充说明：{note.rstrip('，')}。" in message.body
    [sms] = _sms_to("13900001111")
    assert len(sms) <= SMS_MAX_LENGTH, (len(sms), sms)
    assert (f"办件 {case.number} 需要补正 1 项材料。"
            "请登录平台查看补正告知，一次性补正后重新提交。") in sms


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_long_correction_list_is_counted_in_the_sms_and_kept_in_the_email(
        world, django_capture_on_commit_callbacks):
    """A list that would make the SMS longer than two segments: the SMS names
    how many materials and points to the case page; the e-mail lists them all."""
    names = [f"建设工程消防设计审查意见书第{n}册" for n in range(1, 5)]
    version = publish_item(world, name="长材料清单许可", materials=[
        {"name": name, "forms": ["original"]} for name in names])
    reachable(world.citizen, phone="13900001111")
    case, _code = submitted(world, version)
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_correction(
            actor=world.user("a", Role.WINDOW_CLERK), task=open_task(case),
            items=[{"material_id": m.pk, "problem": "缺少盖章"}
                   for m in case.item_version.materials.all()], note="")
    [sms] = _sms_to("13900001111")
    assert len(sms) <= SMS_MAX_LENGTH, (len(sms), sms)
    assert (f"办件 {case.number} 需要补正 4 项材料。"
            "请登录平台查看补正告知，一次性补正后重新提交。") in sms
    assert sms.endswith(f"{PUBLIC}/my/cases/{case.pk}/")
    [message] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert all(name in message.body for name in names)


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_a_walk_in_applicant_s_long_correction_sms_points_to_the_window(
        world, promised, django_capture_on_commit_callbacks):
    """Problems too long for two segments: the walk-in applicant is told how
    many materials, and collects the notice at the window."""
    clerk = world.user("a", Role.WINDOW_CLERK)
    case, _code = walk_in_case(world, promised)
    MemorySmsBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_request_correction(actor=clerk, task=open_task(case), items=[
            {"material_id": m.pk, "problem": "复印件模糊不清，请提供清晰的原件扫描件"}
            for m in case.item_version.materials.filter(necessity="required")], note="")
    [sms] = _sms_to("13700002222")
    assert len(sms) <= SMS_MAX_LENGTH, (len(sms), sms)
    assert f"办件 {case.number} 需要补正 2 项材料。请到受理窗口领取补正材料通知书。" in sms
    assert "登录" not in sms


# --- SMS length ---------------------------------------------------------------------

@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_the_submission_receipt_sms_fits_two_segments_for_a_long_item_name(
        world, django_capture_on_commit_callbacks):
    """A catalogue name as provinces publish it (the item and its sub-item):
    the SMS leaves the name out, the e-mail keeps it."""
    name = ("建设工程消防设计审查（特殊建设工程消防设计审查，"
            "含新建、扩建、改建、内部装修及改变用途）")
    version = publish_item(world, name=name)
    reachable(world.citizen, phone="13900001111")
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = submitted(world, version)
    [sms] = _sms_to("13900001111")
    assert len(sms) <= SMS_MAX_LENGTH, (len(sms), sms)
    assert f"您的申请已提交，办件编号 {case.number}，请等待受理。" in sms
    assert sms.endswith(f"{PUBLIC}/my/cases/{case.pk}/")
    [message] = [m for m in mail.outbox if m.to == ["citizen@example.com"]]
    assert f"您的“{name}”申请已提交" in message.body


@override_settings(YIZHAN_PUBLIC_URL=PUBLIC)
def test_the_heads_sms_of_an_extension_request_fits_two_segments(
        world, promised, django_capture_on_commit_callbacks):
    """The head's phone gets a text of at most two segments, whatever the
    reason's length: the reason is in the e-mail and on the case page."""
    reason = "申请人提交的消防设计文件需委托第三方机构进行技术复核，复核结论预计需要七个工作日"
    head, = reachable(world.user("a", Role.AGENCY_HEAD), phone="13900008888")
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    MemorySmsBackend.outbox.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.case_extension_request(
            actor=world.user("a", Role.REVIEWER), case=reload(case), workdays=5, reason=reason)
    [sms] = _sms_to("13900008888")
    assert len(sms) <= SMS_MAX_LENGTH, (len(sms), sms)
    assert f"办件 {case.number} 有延期申请待您批准，详见邮件或工作台。" in sms
    assert sms.endswith(f"{PUBLIC}/workbench/cases/{case.pk}/")
    [message] = [m for m in mail.outbox if m.to == [head.email]]
    assert reason in message.body


# --- a failed channel is logged with the case it is about -----------------------------

@override_settings(YIZHAN_SMS_BACKEND="tests.cases.test_notifications.BrokenSms")
def test_a_failed_sms_to_the_heads_is_logged_with_the_case_number(
        world, promised, django_capture_on_commit_callbacks, caplog):
    """docs/cases.md: a failure is logged with the case number, so the message
    can be traced and given again, the heads' messages too."""
    reachable(world.user("a", Role.AGENCY_HEAD), phone="13900008888")
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    with caplog.at_level(logging.ERROR, logger="yizhan.core.notify"), \
            django_capture_on_commit_callbacks(execute=True):
        services.case_extension_request(actor=world.user("a", Role.REVIEWER),
                                        case=reload(case), workdays=5, reason="需现场核查")
    [record] = [r for r in caplog.records if "SMS" in r.getMessage()]
    assert case.number in record.getMessage()
