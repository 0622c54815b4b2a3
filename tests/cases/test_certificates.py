"""Electronic certificates: issued on approval, signed, verifiable, revocable."""

import datetime as dt
import io
import os
import re

import pypdf
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from pypdf.actions import JavaScript

from tests.api import api_error
from tests.cases.helpers import (
    add_agency,
    another_citizen,
    audit_actions,
    complete,
    event_types,
    nothing_written,
    open_task,
    publish_item,
    reload,
    submitted,
    token_actor,
)
from yizhan.audit.models import AuditRecord
from yizhan.audit.signing import VerificationReason, certificate_digest, signing_key_rotate
from yizhan.cases import certificates
from yizhan.cases import tasks as case_tasks
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, Certificate, EventType
from yizhan.core import pdf, tasks
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role

# Chinese characters and Chinese (full-width) punctuation.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture
def approved(world, promised, django_capture_on_commit_callbacks):
    """A promised case approved by the head, its certificate issued after commit."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    return reload(case)


def _pdf(certificate) -> bytes:
    with default_storage.open(certificate.file.name, "rb") as handle:
        return handle.read()


def _tampered(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


def _verdict(page: str, testid: str) -> str:
    """The text of the page's verdict ``testid`` (``verdict``, ``file-verdict``)."""
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</p>', page, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


def _checked(certificate, content: bytes, name: str = "c.pdf") -> tuple[int, str]:
    """The status and the file's verdict when ``content`` is checked on the page."""
    response = Client().post(f"/verify/{certificate.verify_token}/",
                             {"file": SimpleUploadedFile(name, content)})
    return response.status_code, _verdict(response.content.decode(), "file-verdict")


def _text(data: bytes) -> str:
    """The page's text without the spaces (labels are spread: 持　证　人)."""
    return "".join(pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text().split())


def _decided(world, version, *, actor=None, applicant=None):
    """A case of ``version`` approved by A's head; its background issue has not run."""
    kwargs = {} if actor is None else {"actor": actor, "applicant": applicant}
    case, _code = submitted(world, version, **kwargs)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    return reload(case)


def _issued(world, version, **kwargs) -> Certificate:
    """The certificate of a case of ``version`` approved and issued in the background."""
    case = _decided(world, version, **kwargs)
    tasks.run_now("cases.issue_certificate", case_id=case.pk)
    return Certificate.objects.get(case=case)


def test_no_certificate_before_the_decision_commits(world, promised,
                                                    django_capture_on_commit_callbacks):
    """Issuing is scheduled after commit: the decision's transaction holds no PDF."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    assert not Certificate.objects.filter(case=case).exists()
    for callback in callbacks:
        callback()
    assert Certificate.objects.filter(case=case).count() == 1


def test_approval_issues_a_signed_certificate(world, approved):
    """The PDF is stored, its SM3 digest signed by the agency, and the issue recorded."""
    certificate = Certificate.objects.get(case=approved)
    assert certificate.number == f"{approved.number}-01"
    assert default_storage.exists(certificate.file.name)
    data = _pdf(certificate)
    assert data.startswith(b"%PDF")
    assert certificate.digest == certificate_digest(data)
    assert certificate.revoked_at is None
    result = certificates.certificate_verify(certificate=certificate)
    assert result.ok is True
    assert "真实有效" in result.message
    event = approved.events.get(type=EventType.CERTIFICATE_ISSUED)
    assert event.data == {"number": certificate.number, "algorithm": certificate.algorithm,
                          "sm3": certificate.digest}
    assert event.actor == world.user("a", Role.AGENCY_HEAD)
    assert audit_actions(approved).count(CasesAction.CERTIFICATE_ISSUED) == 1


def test_issuing_twice_issues_once(world, approved):
    """The background step is idempotent: a retry returns the same certificate."""
    certificate = Certificate.objects.get(case=approved)
    with nothing_written():
        again = tasks.run_now("cases.issue_certificate", case_id=approved.pk, actor_id=None)
    assert again == certificate.pk
    assert event_types(approved).count(EventType.CERTIFICATE_ISSUED) == 1


def _issuer(case) -> list[tuple]:
    """Whom the certificate's issuance names: its event's and its audit record's
    account and label."""
    event = case.events.get(type=EventType.CERTIFICATE_ISSUED)
    record = AuditRecord.objects.get(action=CasesAction.CERTIFICATE_ISSUED, object_id=case.pk)
    return [(event.actor_id, event.actor_label), (record.actor_id, record.actor_label)]


def test_a_certificate_issued_on_a_token_s_decision_names_the_token(
        world, promised, django_capture_on_commit_callbacks):
    """A head's token takes the decision step: the issuance that follows, in the
    background, is recorded as the token's (its label), as the decision is, not as
    the system's: a token leaves no ``claimed_by`` on the task it decides."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    token, label = token_actor(world, Role.AGENCY_HEAD)
    with django_capture_on_commit_callbacks(execute=True):
        complete(token, case, "decide")
    assert case.events.get(type=EventType.APPROVED).actor_label == label
    assert _issuer(case) == [(None, label), (None, label)]


@pytest.mark.parametrize("decider", ["person", "token"])
def test_a_certificate_issued_at_delivery_names_whoever_decided(
        world, promised, django_capture_on_commit_callbacks, decider):
    """The background issue is lost and delivery issues the certificate: as the head
    who decided, or the token that did, never the clerk delivering or the system."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    if decider == "person":
        actor = world.user("a", Role.AGENCY_HEAD)
        named = (actor.pk, actor.username)
    else:
        actor, label = token_actor(world, Role.AGENCY_HEAD)
        named = (None, label)
    with django_capture_on_commit_callbacks(execute=False):
        complete(actor, case, "decide")   # the issue is lost
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    assert _issuer(case) == [named, named]


# --- the periodic job that issues what a lost run did not ------------------------------


def _later(monkeypatch):
    """The clock moves past the time an approval's own background issue is given."""
    at = timezone.now() + case_tasks.CERTIFICATE_GRACE + dt.timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: at)


def _lost(world, version, actor, capture, *steps):
    """A case of ``version`` taken through ``steps`` and decided by ``actor``
    at the last, whose background issue is lost."""
    case, _code = submitted(world, version)
    for who, step in steps:
        complete(world.user("a", who), case, step)
    with capture(execute=False) as callbacks:
        complete(actor, case, "decide")
    assert callbacks   # the background issue, never run
    return reload(case)


def test_an_immediate_approval_whose_certificate_run_was_lost_still_gets_it(
        world, django_capture_on_commit_callbacks, monkeypatch):
    """即办件: the case closes approved (办结) at the window's one step, with no
    delivery step to make good a lost background issue (as a 承诺件's does): the
    periodic job issues it, as the run would have, by the clerk who decided."""
    assert ("cases.issue_missing_certificates", 300) in {
        (p.name, p.seconds) for p in tasks.periodic()}
    version = publish_item(world, name="即办事项", case_type="immediate",
                           process_template="immediate", statutory_limit=1, promised_limit=0)
    clerk = world.user("a", Role.WINDOW_CLERK)
    case = _lost(world, version, clerk, django_capture_on_commit_callbacks)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.APPROVED)
    assert not Certificate.objects.filter(case=case).exists()
    _later(monkeypatch)
    assert tasks.run_now("cases.issue_missing_certificates") == {"issued": 1, "failed": 0}
    certificate = Certificate.objects.get(case=case)
    assert certificates.certificate_verify(certificate=certificate).ok
    assert certificate.agency_id == world.agency_a.pk
    named = (clerk.pk, clerk.username)
    assert _issuer(case) == [named, named]
    with nothing_written():
        assert tasks.run_now("cases.issue_missing_certificates") == {"issued": 0, "failed": 0}


def test_the_job_leaves_issued_and_recent_approvals_alone_in_one_query(
        world, approved, promised, django_capture_on_commit_callbacks,
        django_assert_num_queries, monkeypatch):
    """Every approval with its certificate, a refusal decided but not delivered, and
    an approval decided a moment ago, whose own run is still to come: the job
    writes nothing, at the cost of one query.  Once that run has had its time,
    the job issues that approval's certificate, and only that."""
    staff = ((Role.WINDOW_CLERK, "accept"), (Role.REVIEWER, "review"))
    head = world.user("a", Role.AGENCY_HEAD)
    refused, _code = submitted(world, promised)
    for who, step in staff:
        complete(world.user("a", who), refused, step)
    complete(head, refused, "decide", decision="reject", opinion="不符合条件")
    recent = _lost(world, promised, head, django_capture_on_commit_callbacks, *staff)
    with nothing_written(), django_assert_num_queries(1):
        assert tasks.run_now("cases.issue_missing_certificates") == {"issued": 0, "failed": 0}
    _later(monkeypatch)
    assert tasks.run_now("cases.issue_missing_certificates") == {"issued": 1, "failed": 0}
    assert set(Certificate.objects.values_list("case_id", flat=True)) == {approved.pk, recent.pk}


def test_an_approval_the_job_cannot_issue_holds_up_no_other(
        world, promised, django_capture_on_commit_callbacks, monkeypatch):
    """A certificate that cannot be issued (a name no installed font can draw)
    fails alone: the job issues the others, and tries it again next time."""
    staff = ((Role.WINDOW_CLERK, "accept"), (Role.REVIEWER, "review"))
    head = world.user("a", Role.AGENCY_HEAD)
    first = _lost(world, promised, head, django_capture_on_commit_callbacks, *staff)
    second = _lost(world, promised, head, django_capture_on_commit_callbacks, *staff)
    prepare = certificates._prepare

    def undrawable(case, agency_id):
        if case.pk == first.pk:
            raise Conflict("缺字", code=CasesErrorCode.CERTIFICATE_GLYPHS)
        return prepare(case, agency_id)

    monkeypatch.setattr(certificates, "_prepare", undrawable)
    _later(monkeypatch)
    assert tasks.run_now("cases.issue_missing_certificates") == {"issued": 1, "failed": 1}
    assert list(Certificate.objects.values_list("case_id", flat=True)) == [second.pk]
    monkeypatch.setattr(certificates, "_prepare", prepare)
    assert tasks.run_now("cases.issue_missing_certificates") == {"issued": 1, "failed": 0}
    assert Certificate.objects.filter(case=first).exists()


def test_a_run_overtaken_while_rendering_keeps_the_first_certificate(
        world, promised, monkeypatch):
    """Rendering happens before the lock: a run that finished meanwhile wins."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    prepare = certificates._prepare
    first = []

    def overtaken(*args, **kwargs):
        if not first:   # another worker issues it while this one renders
            first.append(None)
            first[0] = tasks.run_now("cases.issue_certificate", case_id=case.pk)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(certificates, "_prepare", overtaken)
    second = tasks.run_now("cases.issue_certificate", case_id=case.pk)
    assert second == first[0]
    certificate = Certificate.objects.get(case=case)
    assert certificates.certificate_verify(certificate=certificate).ok
    assert event_types(case).count(EventType.CERTIFICATE_ISSUED) == 1
    assert audit_actions(case).count(CasesAction.CERTIFICATE_ISSUED) == 1


def test_a_case_that_stops_being_issuable_while_rendering_gets_none(world, promised,
                                                                     monkeypatch):
    """What was rendered is not recorded if the case no longer stands approved under the lock."""
    from yizhan.cases.models import Case

    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    prepare = certificates._prepare

    def overruled(*args, **kwargs):
        Case.objects.filter(pk=case.pk).update(outcome=Case.Outcome.REFUSED)
        return prepare(*args, **kwargs)

    monkeypatch.setattr(certificates, "_prepare", overruled)
    assert tasks.run_now("cases.issue_certificate", case_id=case.pk) == 0
    assert not Certificate.objects.filter(case=case).exists()
    assert EventType.CERTIFICATE_ISSUED not in event_types(case)


def test_a_refused_case_gets_no_certificate(world, promised):
    """Issuing for a refused case does nothing."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept", decision="reject",
             opinion="不属于本机关")
    with nothing_written():
        assert tasks.run_now("cases.issue_certificate", case_id=case.pk) == 0


def test_a_tampered_byte_fails_verification(world, approved):
    """One changed byte: the file no longer matches what was signed."""
    certificate = Certificate.objects.get(case=approved)
    result = certificates.certificate_verify(certificate=certificate,
                                             pdf_bytes=_tampered(_pdf(certificate)))
    assert result.ok is False
    assert result.reason == VerificationReason.ALTERED
    assert certificates.certificate_verify(certificate=certificate,
                                           pdf_bytes=_pdf(certificate)).ok is True


def test_the_head_revokes_and_verification_then_fails(world, approved):
    """注销: the certificate stays on file but verifies as revoked."""
    certificate = Certificate.objects.get(case=approved)
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="以欺骗手段取得许可")
    certificate.refresh_from_db()
    assert certificate.revoked_at is not None
    assert certificate.revoke_reason == "以欺骗手段取得许可"
    result = certificates.certificate_verify(certificate=certificate)
    assert (result.ok, result.reason, result.revoked) == (False, VerificationReason.REVOKED,
                                                          True)
    event = approved.events.get(type=EventType.CERTIFICATE_REVOKED)
    assert event.data == {"number": certificate.number, "reason": "以欺骗手段取得许可"}
    record = AuditRecord.objects.get(action=CasesAction.CERTIFICATE_REVOKED)
    assert record.reason == "以欺骗手段取得许可"
    with nothing_written(), pytest.raises(Conflict) as exc:
        certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                        certificate=certificate, reason="再次")
    assert exc.value.code == CasesErrorCode.BAD_STATE


@pytest.mark.parametrize("who", [("a", Role.REVIEWER), ("b", Role.AGENCY_HEAD)])
def test_only_the_head_of_the_issuing_agency_revokes(world, approved, who):
    """A reviewer, or another agency's head, cannot revoke."""
    certificate = Certificate.objects.get(case=approved)
    with nothing_written(), pytest.raises(PermissionDenied):
        certificates.certificate_revoke(actor=world.user(*who), certificate=certificate,
                                        reason="无")


def test_revocation_needs_a_reason(world, approved):
    """注销 without reasons is refused."""
    certificate = Certificate.objects.get(case=approved)
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                        certificate=certificate, reason=" ")
    assert exc.value.code == CasesErrorCode.NO_REASON


def test_an_upper_level_certificate_s_events_name_the_issuing_agency(
        world, django_capture_on_commit_callbacks):
    """For an upper-level item the upper agency decides and issues.  The certificate
    and its audit records say so; the cases.certificate_issued and _revoked events,
    which supervision reads, must name it too, not the agency that accepted."""
    upper, upper_staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, decision="approve", opinion="同意上报")
    complete(upper_staff[Role.REVIEWER], case, agency=upper)
    with django_capture_on_commit_callbacks(execute=True):
        complete(upper_staff[Role.AGENCY_HEAD], case, agency=upper)
    certificate = Certificate.objects.get(case=case)
    assert (certificate.agency, reload(case).agency) == (upper, world.agency_a)
    certificates.certificate_revoke(actor=upper_staff[Role.AGENCY_HEAD],
                                    certificate=certificate, reason="以欺骗手段取得")
    issued = case.events.get(type=EventType.CERTIFICATE_ISSUED)
    revoked = case.events.get(type=EventType.CERTIFICATE_REVOKED)
    assert (issued.agency_id, revoked.agency_id) == (upper.pk, upper.pk)
    for action in (CasesAction.CERTIFICATE_ISSUED, CasesAction.CERTIFICATE_REVOKED):
        assert AuditRecord.objects.get(action=action).agency_id == upper.pk


# --- the public verification page and API ----------------------------------------------


def test_the_verification_page_says_valid(world, approved):
    """The QR code's page, without signing in, says the certificate is genuine."""
    certificate = Certificate.objects.get(case=approved)
    response = Client().get(f"/verify/{certificate.verify_token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "真实有效" in page
    assert certificate.number in page and "张三" in page and "甲局" in page


def test_the_verification_page_and_api_say_revoked_and_since_when(world, approved):
    """After revocation the page's verdict, and the API's message, say that it was
    revoked and on which day: whoever relies on it learns from when it has no effect."""
    certificate = Certificate.objects.get(case=approved)
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="许可被撤销")
    certificate.refresh_from_db()
    revoked = f"该证照已于{pdf.chinese_date(certificate.revoked_at)}注销"
    page = Client().get(f"/verify/{certificate.verify_token}/").content.decode()
    assert revoked in _verdict(page, "verdict") and "核验未通过" in _verdict(page, "verdict")
    assert "真实有效" not in page
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert revoked in body["message"] and body["revoked"] is True
    # And as a date a system compares with the day it was shown the certificate.
    assert body["revoked_at"].endswith("Z")
    # (to the millisecond, as JSON dates are written)
    assert parse_datetime(body["revoked_at"]) == certificate.revoked_at.replace(
        microsecond=certificate.revoked_at.microsecond // 1000 * 1000)


def test_a_revoked_certificate_s_english_verdict_gives_the_day_in_english(world, approved):
    """A verifier reading the page (or a system reading the API) in English is
    told the day of revocation in English: "revoked on 2026年12月5日" is not."""
    certificate = Certificate.objects.get(case=approved)
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="许可被撤销")
    certificate.refresh_from_db()
    url = f"/verify/{certificate.verify_token}/"
    verdict = _verdict(Client().get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode(),
                       "verdict")
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}",
                        HTTP_ACCEPT_LANGUAGE="en").json()
    day = str(timezone.localdate(certificate.revoked_at).year)
    for message in (verdict, body["message"]):
        assert "revoked on" in message and day in message
        assert not CJK.search(message), message


def test_checking_an_uploaded_file_on_the_page(world, approved):
    """A genuine copy checks out; one with a byte changed fails, in words."""
    certificate = Certificate.objects.get(case=approved)
    data = _pdf(certificate)
    status, verdict = _checked(certificate, _tampered(data))
    assert status == 200
    assert "核验未通过" in verdict and "与本证照签发的原始文件不一致" in verdict
    status, verdict = _checked(certificate, data)
    assert status == 200 and "核验通过" in verdict and "真实有效" in verdict


def test_the_public_page_does_not_publish_the_revocation_s_reasons(world, approved):
    """The reasons are staff's words, not on the certificate (they may name people):
    anyone with the QR code learns that and when it was revoked, nothing more."""
    certificate = Certificate.objects.get(case=approved)
    reason = "持证人张三（手机13800138000）涉嫌提供虚假材料"
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason=reason)
    response = Client().get(f"/verify/{certificate.verify_token}/")
    page = response.content.decode()
    assert "注销" in _verdict(page, "verdict")
    assert "13800138000" not in page and "虚假材料" not in page
    # Never kept by a cache, so that a revocation shows at once.
    assert "no-cache" in response["Cache-Control"]
    api = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}")
    assert "no-cache" in api["Cache-Control"] and api.json()["revoked"] is True


def test_the_holder_s_and_the_staff_s_case_pages_say_when_and_why_it_was_revoked(
        world, approved, client_for):
    """The public page leaves the reason out; the holder, whom it is about, and
    the case's staff see the day and the reason, on the page and in the API."""
    certificate = Certificate.objects.get(case=approved)
    citizen = client_for(world.citizen)
    before = citizen.get(f"/api/v1/cases/{approved.pk}").json()
    assert (before["certificate_revoked"], before["certificate_revoked_at"],
            before["certificate_revoke_reason"]) == (False, None, "")
    reason = "持证人以欺骗手段取得许可，依法撤销"
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason=reason)
    certificate.refresh_from_db()
    day = timezone.localdate(certificate.revoked_at).isoformat()
    for client, url in ((citizen, f"/my/cases/{approved.pk}/"),
                        (client_for(world.user("a", Role.REVIEWER)),
                         f"/workbench/cases/{approved.pk}/")):
        page = client.get(url).content.decode()
        found = re.search(r'data-testid="certificate-revoked"[^>]*>(.*?)</dl>', page, re.S)
        assert "已注销" in page and found, url
        facts = re.sub(r"<[^>]+>", " ", found.group(1))
        assert "注销日期" in facts and day in facts and reason in facts
    after = citizen.get(f"/api/v1/cases/{approved.pk}").json()
    assert (after["certificate_revoked"], after["certificate_revoke_reason"]) == (True, reason)
    assert parse_datetime(after["certificate_revoked_at"]) == certificate.revoked_at.replace(
        microsecond=certificate.revoked_at.microsecond // 1000 * 1000)


def test_a_certificate_whose_archived_file_is_lost_says_so(world, approved, client_for):
    """The page and the API say the archive is missing, not a server error; a
    copy the verifier holds is still checked against the record."""
    certificate = Certificate.objects.get(case=approved)
    data = _pdf(certificate)
    default_storage.delete(certificate.file.name)
    url = f"/verify/{certificate.verify_token}/"
    page = Client().get(url).content.decode()
    assert str(VerificationReason.ARCHIVE_MISSING.label) in page
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert body["valid"] is False
    assert body["message"] == str(VerificationReason.ARCHIVE_MISSING.label)
    page = Client().post(url, {"file": SimpleUploadedFile("c.pdf", data)}).content.decode()
    assert "真实有效" in page
    assert client_for(world.citizen).get(
        f"/my/cases/{approved.pk}/certificate/").status_code == 404


def test_a_revoked_certificate_whose_archive_is_lost_still_says_it_was_revoked(
        world, approved, client_for):
    """注销 is the agency's decision, known whatever became of the archived file:
    a bank told only "暂时无法核验，请联系发证机关" may wait and accept a licence
    that no longer has effect.  The revoke reply, the page and the API say it
    was revoked, and since when; a file that is not the signed one is still
    judged as a file."""
    certificate = Certificate.objects.get(case=approved)
    data = _pdf(certificate)
    default_storage.delete(certificate.file.name)
    reply = client_for(world.user("a", Role.AGENCY_HEAD)).post(
        f"/api/v1/certificates/{certificate.number}/revoke", {"reason": "许可被依法撤销"},
        content_type="application/json")
    assert reply.status_code == 200
    certificate.refresh_from_db()
    revoked = f"该证照已于{pdf.chinese_date(certificate.revoked_at)}注销"
    assert revoked in reply.json()["message"], reply.json()["message"]
    page = Client().get(f"/verify/{certificate.verify_token}/").content.decode()
    assert revoked in _verdict(page, "verdict") and "核验未通过" in _verdict(page, "verdict")
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert revoked in body["message"] and (body["valid"], body["revoked"]) == (False, True)
    assert revoked in _checked(certificate, data)[1]
    status, verdict = _checked(certificate, _tampered(data))
    assert status == 200 and "与本证照签发的原始文件不一致" in verdict and revoked not in verdict


def test_a_refusal_decided_but_not_delivered_is_never_issued(world, promised):
    """Its outcome is set only at delivery: the decision says it is no approval."""
    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    complete(world.user("a", Role.AGENCY_HEAD), case, "decide", decision="reject",
             opinion="不符合条件")
    assert tasks.run_now("cases.issue_certificate", case_id=case.pk) == 0
    assert not Certificate.objects.filter(case=case).exists()


def test_an_unknown_token_is_not_found(world):
    """A made-up token finds nothing."""
    assert Client().get("/verify/no-such-token/").status_code == 404
    assert Client().get("/api/v1/certificates/verify/no-such-token").status_code == 404


def test_the_public_verification_api(world, approved):
    """GET /api/v1/certificates/verify/{token} answers without authentication."""
    certificate = Certificate.objects.get(case=approved)
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert body["number"] == certificate.number
    assert (body["valid"], body["revoked"]) == (True, False)
    assert body["holder"] == "张三" and body["issuer"] == "甲局"
    assert body["algorithm"] == certificate.algorithm
    assert "真实有效" in body["message"]
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="许可被撤销")
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert (body["valid"], body["revoked"]) == (False, True)


def test_the_api_checks_a_file_as_the_page_does(world, approved):
    """A bank's system checks the file it was sent as the page does (POST the file
    to the token's URL): the exact bytes are valid, one changed byte is not, and a
    file that cannot be compared is refused in the one error shape."""
    certificate = Certificate.objects.get(case=approved)
    data = _pdf(certificate)
    url = f"/api/v1/certificates/verify/{certificate.verify_token}"

    def check(content, name="c.pdf"):
        return Client().post(url, {"file": SimpleUploadedFile(name, content)})

    genuine = check(data)
    assert genuine.status_code == 200, genuine.content
    assert genuine.json()["valid"] is True and "真实有效" in genuine.json()["message"]
    assert "no-cache" in genuine["Cache-Control"]
    altered = check(_tampered(data))
    assert altered.status_code == 200 and altered.json()["valid"] is False
    assert "与本证照签发的原始文件不一致" in altered.json()["message"]
    assert check(_pdf(_issued(world, approved.item_version))).json()["valid"] is False
    with nothing_written():
        api_error(check(b""), 400, "core.invalid_input")
        api_error(check(b"GIF89a not a pdf"), 415, "cases.upload_type")
        api_error(Client().post(url, {}), 400, "core.invalid_input")
        api_error(Client().post("/api/v1/certificates/verify/no-such-token",
                                {"file": SimpleUploadedFile("c.pdf", data)}),
                  404, "core.not_found")
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="许可被撤销")
    revoked = check(data).json()
    assert (revoked["valid"], revoked["revoked"]) == (False, True)
    assert "注销" in revoked["message"]


def test_the_applicant_downloads_the_certificate(world, approved, client_for):
    """The applicant gets the exact signed bytes; a stranger gets 404."""
    from tests.cases.helpers import another_citizen

    certificate = Certificate.objects.get(case=approved)
    response = client_for(world.citizen).get(f"/my/cases/{approved.pk}/certificate/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == _pdf(certificate)
    api = client_for(world.citizen).get(f"/api/v1/cases/{approved.pk}/certificate")
    assert b"".join(api.streaming_content) == _pdf(certificate)
    stranger, _applicant = another_citizen()
    assert client_for(stranger).get(f"/my/cases/{approved.pk}/certificate/").status_code == 404


def test_a_signature_this_server_cannot_check_says_so(world, approved, monkeypatch):
    """An SM2 certificate on a server without Tongsuo: "cannot check here", not
    a server error and not "forged", on the page and in the API."""
    from yizhan.audit import signing

    certificate = Certificate.objects.get(case=approved)
    if certificate.algorithm != "SM2-SM3":
        pytest.skip("tongsuopy is not installed: certificates are Ed25519")
    monkeypatch.setattr(signing, "SM2_AVAILABLE", False)
    signing._load_public.cache_clear()
    response = Client().get(f"/verify/{certificate.verify_token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert str(VerificationReason.ALGORITHM_UNAVAILABLE.label) in page
    assert str(VerificationReason.BAD_SIGNATURE.label) not in page
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert body["valid"] is False
    assert body["message"] == str(VerificationReason.ALGORITHM_UNAVAILABLE.label)
    # Revoked, it says so whatever can be checked here.
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="许可被依法撤销")
    certificate.refresh_from_db()
    revoked = f"该证照已于{pdf.chinese_date(certificate.revoked_at)}注销"
    page = Client().get(f"/verify/{certificate.verify_token}/").content.decode()
    assert revoked in _verdict(page, "verdict")
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert revoked in body["message"]


# --- what the certificate says ------------------------------------------------------------


@pytest.mark.parametrize(("basic_code", "decision"), [
    ("XK00101000", "准予行政许可"),   # 行政许可
    ("GG10101000", "准予办理"),       # 公共服务
])
def test_a_decision_certificate_states_the_decision_and_its_date(world, basic_code,
                                                                 decision):
    """An item naming no result gets "<item>决定书": it said who and which item,
    never what was decided."""
    version = publish_item(world, name="示范事项", basic_code=basic_code)
    certificate = _issued(world, version)
    assert certificate.title == "示范事项决定书"
    text = _text(_pdf(certificate))
    assert f"决定内容：{decision}" in text
    assert f"决定日期：{pdf.chinese_date(certificate.case.decided_at)}" in text


def test_a_certificate_naming_its_result_states_no_decision_row(world):
    version = publish_item(world, name="食品经营许可", result_name="食品经营许可证")
    text = _text(_pdf(_issued(world, version)))
    assert "许可内容：食品经营许可证" in text and "决定内容" not in text


@pytest.mark.parametrize("basic_code", ["GG10101000", "QR00101000"])
def test_a_certificate_of_an_item_that_is_no_licence_does_not_call_it_one(world, basic_code):
    """A 公共服务 or 行政确认 item's certificate labels its rows 办理事项 and
    办理结果: the signed page never calls a licence (行政许可) what is not one."""
    version = publish_item(world, name="示范事项", basic_code=basic_code,
                           result_name="示范证明")
    text = _text(_pdf(_issued(world, version)))
    assert "办理事项：示范事项" in text and "办理结果：示范证明" in text
    assert "许可事项" not in text and "许可内容" not in text


def test_an_item_name_of_200_characters_is_issued_and_delivered(
        world, django_capture_on_commit_callbacks):
    """The fallback title "<name>决定书" is longer than the catalog's 200 characters:
    PostgreSQL refused the row, and delivery, which then issues it, failed with a
    server error."""
    version = publish_item(world, name="测" * 200)
    case, _code = submitted(world, version)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=False):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")   # the issue is lost
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    assert reload(case).status == Case.Status.CLOSED
    certificate = Certificate.objects.get(case=case)
    assert certificate.title == "测" * 200 + "决定书"
    assert len(certificate.title) <= Certificate._meta.get_field("title").max_length
    assert certificate.title in _text(_pdf(certificate))


def test_a_certificate_issued_at_delivery_is_in_chinese_whatever_the_clerk_s_language(
        world, promised, django_capture_on_commit_callbacks):
    """The background issue is lost, and the delivering clerk's pages are in English:
    the labels of the signed certificate came out in English ("Licensed matter")."""
    from django.utils import translation

    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=False):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    assert not Certificate.objects.filter(case=case).exists()
    with translation.override("en"):
        complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    text = _text(_pdf(Certificate.objects.get(case=case)))
    assert "许可事项" in text and "决定内容" in text
    assert "Licensed matter" not in text and "Case number" not in text


# --- rare characters in the holder's name -------------------------------------------------


# Where Debian's fonts-hanazono puts the fallback font for CJK Extension B.
HANAMIN_A = "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"


def _font_has(point: int) -> bool:
    return any(point in pdf._codepoints(font) for font in pdf.cjk_fonts())


def test_a_holder_named_with_a_rare_character_gets_it_in_full(world, promised):
    """吉𠮷: 𠮷 (CJK Extension B) is in neither UMing nor WenQuanYi; the certificate
    was signed, and valid, for "吉"."""
    if not os.path.isfile(HANAMIN_A):
        pytest.skip("needs Debian's fonts-hanazono (make fonts)")
    user, applicant = another_citizen(username="jiji", full_name="吉𠮷", seq=9)
    certificate = _issued(world, promised, actor=user, applicant=applicant)
    assert certificate.holder_name == "吉𠮷"
    assert "持证人：吉𠮷" in _text(_pdf(certificate))
    assert certificates.certificate_verify(certificate=certificate).ok


def test_a_name_no_font_has_is_never_issued_and_delivery_says_why(world, promised,
                                                                  client_for):
    """No certificate is issued without a character of the name: the background
    issue fails, and the clerk who delivers is told why (409, not a server error);
    the case waits, approved, until a font with the character is installed."""
    missing = "\U00030000"   # 𰀀, CJK Extension G
    if _font_has(ord(missing)):
        pytest.skip("an installed font has the character")
    user, applicant = another_citizen(username="jiji", full_name=f"吉{missing}", seq=9)
    case = _decided(world, promised, actor=user, applicant=applicant)
    with pytest.raises(Conflict) as refused:
        tasks.run_now("cases.issue_certificate", case_id=case.pk)
    assert refused.value.code == CasesErrorCode.CERTIFICATE_GLYPHS
    assert not Certificate.objects.filter(case=case).exists()
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    task = open_task(case, "deliver")
    with nothing_written():
        response = clerk.post(f"/api/v1/tasks/{task.pk}/complete",
                              {"decision": "approve", "opinion": ""},
                              content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == CasesErrorCode.CERTIFICATE_GLYPHS
    assert body["fields"]["characters"] == missing
    assert f"证照中的“{missing}”在本平台已安装的字体中都没有" in body["message_zh"]
    # The task page comes back with the refusal, as any refused decision does.
    page = clerk.post(f"/workbench/tasks/{task.pk}/approve/", {"opinion": ""})
    assert page.status_code == 409
    assert "不能签发缺字的电子证照" in page.content.decode()
    assert reload(case).status == Case.Status.APPROVED
    assert not Certificate.objects.filter(case=case).exists()


# --- the names the public page shows ------------------------------------------------------


def test_the_page_and_api_show_the_names_printed_on_the_certificate(world, promised):
    """After the agency is renamed (机构改革) and the holder changes name, a genuine
    old certificate's QR code still opens the names it was issued under."""
    from yizhan.directory import services as directory_services
    from yizhan.directory.models import Applicant

    certificate = _issued(world, promised)
    assert (certificate.issuer_name, certificate.holder_name) == ("甲局", "张三")
    assert "发证机关：甲局" in _text(_pdf(certificate))
    directory_services.agency_update(actor=world.admin, agency=world.agency_a,
                                     name="示范市行政审批局")
    Applicant.objects.filter(pk=world.applicant.pk).update(name="张叁")   # 更名
    page = Client().get(f"/verify/{certificate.verify_token}/").content.decode()
    assert "甲局" in page and "张三" in page
    assert "示范市行政审批局" not in page and "张叁" not in page
    body = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}").json()
    assert (body["issuer"], body["holder"]) == ("甲局", "张三")


def test_the_migration_fills_the_names_of_certificates_issued_before(transactional_db,
                                                                     world, promised):
    """Certificates issued before the names were kept take the current ones."""
    from tests.migrating import migrate, migrate_to_latest

    certificate = _issued(world, promised)
    try:
        old = migrate(("cases", "0011_task_released"))
        old.get_model("directory", "Agency").objects.filter(pk=world.agency_a.pk).update(
            name="示范市行政审批局")
    finally:
        migrate_to_latest()
    certificate.refresh_from_db()
    assert (certificate.issuer_name, certificate.holder_name) == ("示范市行政审批局", "张三")


# --- verifying on the public page -----------------------------------------------------------


def test_another_genuine_certificate_uploaded_to_a_page_is_not_valid_and_says_which(
        world, promised):
    """Substitution: B's genuine, validly signed PDF checked on A's page fails, and
    the page says it is another certificate, by the number printed on it."""
    first = _issued(world, promised)
    user, applicant = another_citizen()
    second = _issued(world, promised, actor=user, applicant=applicant)
    response = Client().post(f"/verify/{first.verify_token}/",
                             {"file": SimpleUploadedFile("c.pdf", _pdf(second))})
    page = response.content.decode()
    verdict = _verdict(page, "file-verdict")
    assert response.status_code == 200 and "核验未通过" in verdict
    assert "另一份证照" in verdict and second.number in verdict
    assert page.count("真实有效") == 1   # only the archived copy's verdict


def test_a_certificate_resaved_by_a_pdf_viewer_is_not_valid_and_says_why(world, promised):
    """A viewer that saves annotations appends an incremental update to the signed
    bytes: the file is no longer the original, and the page says that."""
    certificate = _issued(world, promised)
    resaved = _pdf(certificate) + b"\n3 0 obj\n<< /Type /Annot >>\nendobj\n%%EOF\n"
    status, verdict = _checked(certificate, resaved)
    assert status == 200 and "核验未通过" in verdict and "追加了内容" in verdict


def test_a_certificate_signed_before_a_key_rotation_still_verifies_on_the_page(world,
                                                                                promised):
    certificate = _issued(world, promised)
    signing_key_rotate(actor=world.user("a", Role.SYSADMIN), agency=world.agency_a,
                       reason="定期轮换")
    page = Client().post(f"/verify/{certificate.verify_token}/",
                         {"file": SimpleUploadedFile("c.pdf", _pdf(certificate))}
                         ).content.decode()
    assert page.count("真实有效") == 2


@pytest.mark.parametrize(("content", "status", "words"), [
    (b"", 400, "是空文件"),
    (b"GIF89a not a pdf", 415, "不是 PDF 文件"),
    (b"%PDF-1.4\n", 200, "与本证照签发的原始文件不一致"),
    (b"%PDF-1.4\n%%EOF", 200, "与本证照签发的原始文件不一致"),
])
def test_a_file_that_cannot_be_checked_is_refused_in_words_with_a_4xx(world, promised,
                                                                     content, status, words):
    """Empty, not a PDF: refused (4xx), saying why; a PDF that is not the
    certificate, whole or cut short, is a verdict (200).  Either way a visible
    failure, never a 500."""
    certificate = _issued(world, promised)
    got, verdict = _checked(certificate, content, name="x.pdf")
    assert got == status and "✘" in verdict and words in verdict
    assert "核验通过" not in verdict


def test_a_file_larger_than_uploads_may_be_is_refused_as_too_large(world, promised,
                                                                  settings):
    settings.YIZHAN_MAX_UPLOAD_BYTES = 1024 * 1024
    certificate = _issued(world, promised)
    status, verdict = _checked(certificate, b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024))
    assert status == 413 and "过大" in verdict and "1 MB" in verdict


def _with_script(data: bytes) -> bytes:
    """``data`` saved again with a script that runs on opening (a forger's copy)."""
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
    writer.add_open_action(JavaScript("app.alert(1);"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("change", ["truncated", "script added"])
def test_a_copy_that_is_not_the_signed_file_gets_a_verdict_not_a_refusal(
        world, promised, change):
    """A bank clerk checking a cut-short copy, or one someone added a script to,
    is told that it is not the issued file (核验未通过), not 无法核对 with the
    advice to upload it again or re-save it, which can never give a verdict: the
    file is compared, not opened, so it is not checked as an applicant's upload."""
    certificate = _issued(world, promised)
    data = _pdf(certificate)
    content = data[: len(data) - 200] if change == "truncated" else _with_script(data)
    status, verdict = _checked(certificate, content)
    assert status == 200, verdict
    assert "核验未通过" in verdict and "无法核对" not in verdict
    assert "与本证照签发的原始文件不一致" in verdict


def test_checking_without_choosing_a_file_asks_for_one(world, promised):
    certificate = _issued(world, promised)
    response = Client().post(f"/verify/{certificate.verify_token}/", {})
    assert response.status_code == 400
    assert "请选择要核对的证照 PDF 文件" in _verdict(response.content.decode(), "file-verdict")


def test_the_public_page_shows_no_identifier(world, promised):
    certificate = _issued(world, promised)
    page = Client().get(f"/verify/{certificate.verify_token}/").content.decode()
    number = world.applicant.id_number_masked
    assert number not in page and number[-4:] not in page


def test_the_printed_verification_url_is_the_configured_public_url(world, promised,
                                                                   settings):
    """The QR code and the URL under it use YIZHAN_PUBLIC_URL (never a request's Host)."""
    settings.YIZHAN_PUBLIC_URL = "https://zwfw.example.gov.cn"
    certificate = _issued(world, promised)
    text = _text(_pdf(certificate))
    assert f"https://zwfw.example.gov.cn/verify/{certificate.verify_token}/" in text


def test_the_issued_pdf_is_plain_text_with_embedded_fonts_and_no_script(world, promised):
    """The holder's name is text a reader extracts, every font is embedded, the
    metadata say what the file is, and nothing runs when it is opened."""
    certificate = _issued(world, promised)
    data = _pdf(certificate)
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert "张三" in _text(data) and certificate.number in _text(data)
    meta = reader.metadata
    assert (meta.title, meta.author, meta.subject, meta.producer) == (
        certificate.title, "甲局", "电子证照", "Yizhan")
    fonts = reader.pages[0]["/Resources"]["/Font"]
    for font in fonts.values():
        for descendant in font.get_object()["/DescendantFonts"]:
            assert "/FontFile2" in descendant.get_object()["/FontDescriptor"]
    root = reader.trailer["/Root"]
    assert "/AA" not in root and "/JavaScript" not in root.get("/Names", {})
    action = root.get("/OpenAction")
    assert action is None or isinstance(action.get_object(), pypdf.generic.ArrayObject)
    assert b"/JavaScript" not in data and b"/JS" not in data and b"/Launch" not in data


def test_only_the_case_s_parties_download_the_certificate(world, promised, client_for):
    """Staff of another agency get 404 on the page and the API; anyone signed out is
    sent to sign in; staff of the case's agency download it."""
    certificate = _issued(world, promised)
    case_id = certificate.case_id
    assert client_for(world.user("b", Role.AGENCY_HEAD)).get(
        f"/my/cases/{case_id}/certificate/").status_code == 404
    assert client_for(world.user("b", Role.WINDOW_CLERK)).get(
        f"/api/v1/cases/{case_id}/certificate").status_code == 404
    anonymous = Client().get(f"/my/cases/{case_id}/certificate/")
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert client_for(world.user("a", Role.REVIEWER)).get(
        f"/my/cases/{case_id}/certificate/").status_code == 200
