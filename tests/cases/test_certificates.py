"""Electronic certificates: issued on approval, signed, verifiable, revocable."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.cases.helpers import (
    audit_actions,
    complete,
    event_types,
    nothing_written,
    reload,
    submitted,
)
from yizhan.audit.models import AuditRecord
from yizhan.audit.signing import VerificationReason, certificate_digest
from yizhan.cases import certificates
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Certificate, EventType
from yizhan.core import tasks
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role


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


# --- the public verification page and API ----------------------------------------------


def test_the_verification_page_says_valid(world, approved):
    """The QR code's page, without signing in, says the certificate is genuine."""
    certificate = Certificate.objects.get(case=approved)
    response = Client().get(f"/verify/{certificate.verify_token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "真实有效" in page
    assert certificate.number in page and "张三" in page and "甲局" in page


def test_the_verification_page_says_revoked(world, approved):
    """After revocation the page gives the revoked message."""
    certificate = Certificate.objects.get(case=approved)
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason="许可被撤销")
    page = Client().get(f"/verify/{certificate.verify_token}/").content.decode()
    assert str(VerificationReason.REVOKED.label) in page
    assert "真实有效" not in page


def test_checking_an_uploaded_file_on_the_page(world, approved):
    """A genuine copy checks out; a tampered one is reported as altered."""
    certificate = Certificate.objects.get(case=approved)
    url = f"/verify/{certificate.verify_token}/"
    data = _pdf(certificate)
    page = Client().post(url, {"file": SimpleUploadedFile("c.pdf", _tampered(data))}
                         ).content.decode()
    assert str(VerificationReason.ALTERED.label) in page
    page = Client().post(url, {"file": SimpleUploadedFile("c.pdf", data)}).content.decode()
    assert page.count("真实有效") == 2


def test_the_public_page_does_not_publish_the_revocation_s_reasons(world, approved):
    """The reasons are staff's words, not on the certificate (they may name people):
    anyone with the QR code learns that and when it was revoked, nothing more."""
    certificate = Certificate.objects.get(case=approved)
    reason = "持证人张三（手机13800138000）涉嫌提供虚假材料"
    certificates.certificate_revoke(actor=world.user("a", Role.AGENCY_HEAD),
                                    certificate=certificate, reason=reason)
    response = Client().get(f"/verify/{certificate.verify_token}/")
    page = response.content.decode()
    assert str(VerificationReason.REVOKED.label) in page
    assert "13800138000" not in page and "虚假材料" not in page
    # Never kept by a cache, so that a revocation shows at once.
    assert "no-cache" in response["Cache-Control"]
    api = Client().get(f"/api/v1/certificates/verify/{certificate.verify_token}")
    assert "no-cache" in api["Cache-Control"] and api.json()["revoked"] is True


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
