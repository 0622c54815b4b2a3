"""Electronic certificates: issued on approval, signed, verifiable by anyone.

The PDF is rendered (Chinese fonts from the system, a seal, a QR code that
opens the public verification page), its SM3 digest is signed with the
agency's key (SM2 where available, otherwise Ed25519; the algorithm is
recorded), and the file and the signature are kept with the case.  The
certificate number derives from the case number.  The file is stored before
the certificate is recorded, under a name of its own (the number and the
file's digest), and removed again unless that run records it: a run that
fails, or finds another run's certificate recorded first, leaves no signed
file, with a seal and a verification token, that no certificate records.

The certificate is drawn in the platform's language, whoever's request
issues it, and the names it prints (the agency's, the holder's) are kept
with it: the public verification page shows those, not today's.
"""

import functools
import logging
import operator
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yizhan.audit.services import audit_append
from yizhan.audit.signing import (
    VerificationReason,
    VerificationResult,
    certificate_digest,
    sign_certificate_bytes,
    verify_certificate_bytes,
)
from yizhan.cases import events, notifications, permissions
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, Certificate, EventType, Task
from yizhan.cases.uploads import PDF, Accepted, read_to_compare
from yizhan.catalog.models import ItemType
from yizhan.core.errors import Conflict, InvalidInput
from yizhan.core.pdf import CjkCharactersMissing, chinese_date, render_certificate
from yizhan.core.permissions import require
from yizhan.core.public import public_url
from yizhan.core.tasks import task

log = logging.getLogger(__name__)


def verify_url(token: str) -> str:
    return public_url("cases:verify", token)


def _certificate_rows(case: Case) -> list[tuple[str, str]]:
    """The rows under the holder, in the active language (the caller's override)."""
    applicant = case.applicant
    version = case.item_version
    rows = []
    if applicant.kind == "legal":
        rows.append((str(_("统一社会信用代码")), applicant.credit_code))
        rows.append((str(_("法定代表人")), applicant.legal_rep_name))
    else:
        rows.append((str(_("公民身份号码")), applicant.id_number_masked))
    # 许可事项/许可内容 name a 行政许可; a 公共服务 or 行政确认 is no
    # licence, and its signed page must not call it one.
    licensing = version.item_type == ItemType.LICENSING
    rows.append((str(_("许可事项") if licensing else _("办理事项")), version.name))
    if version.result_name:
        rows.append((str(_("许可内容") if licensing else _("办理结果")),
                     version.result_name))
    else:
        # A 决定书 states the decision and its date (行政许可法 第三十八条:
        # a licence granted is decided in writing); without a result of its
        # own, the title alone would not say what was decided.  Only
        # approvals are issued.
        decision = _("准予行政许可") if licensing else _("准予办理")
        rows.append((str(_("决定内容")), str(decision)))
        rows.append((str(_("决定日期")), chinese_date(case.decided_at)))
    rows.append((str(_("办件编号")), case.number))
    return rows


@task("cases.issue_certificate")
def certificate_issue_for_case(*, case_id: int, task_id: int | None = None,
                               actor_id: int | None = None,
                               agency_id: int | None = None) -> int:
    """Background step after an approving decision; safe to run twice.

    ``task_id`` is the deciding step: the certificate is issued by its
    agency, as whoever decided there, a person or a token (the actor its
    closing event recorded, ``events.closer``), so that the issuance is
    never the system's when someone decided.  Without it, ``actor_id``
    (a person) and ``agency_id`` name them: the system and the case's
    agency when not given.

    The certificate is rendered, signed and stored before the case is
    locked, and the lock is held only to record it: rendering is most of
    the step, and a transaction holding the case (and an audit chain) for
    all of it would keep every other step of that case, and every writer on
    that chain, waiting.  Two runs at once both render; the second to take
    the lock finds the first's certificate, keeps it and removes its own
    file.  The file is removed too when recording fails, so the step runs
    in a transaction of its own, never inside another (delivery issues a
    missing certificate before its step's, ``services._ensure_certificate``):
    a transaction that failed after this one recorded the certificate would
    roll the row back and leave the signed file.
    """
    from yizhan.accounts.models import User

    case = Case.objects.select_related("item_version", "agency", "applicant").get(pk=case_id)
    settled = _settled(case)
    if settled is not None:
        return settled
    decided = Task.objects.filter(pk=task_id, case=case).first() if task_id else None
    if decided is not None:
        agency_id = decided.agency_id
    prepared = _prepare(case, agency_id)
    # Named by the signed file's digest, which no other run's file has:
    # a run that loses to another removes only its own file, never the
    # recorded one, on any storage (some overwrite a name that exists).
    name = default_storage.save(f"certificates/{prepared.number}-{prepared.signed.digest}.pdf",
                                ContentFile(prepared.pdf))
    try:
        with transaction.atomic():
            # Recording reads only the case's own columns.
            case = Case.objects.select_for_update().get(pk=case_id)
            settled = _settled(case)
            if settled is None:
                if decided is not None:
                    actor = events.closer(decided)
                else:
                    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
                return _record(case, prepared, name, actor=actor).pk
    except BaseException:
        default_storage.delete(name)
        raise
    default_storage.delete(name)
    return settled


def _settled(case: Case) -> int | None:
    """The certificate's id if one is recorded, 0 if none is due, None if one is to issue."""
    existing = Certificate.objects.filter(case=case).values_list("pk", flat=True).first()
    if existing is not None:
        return existing
    return None if _issuable(case) else 0


# Issued for a case decided and approved, whether delivered yet (closed
# approved) or not (approved, its outcome recorded at delivery); a refusal
# decided but not yet delivered has no outcome yet either, and is never
# issued.  One condition, read on a case (``_issuable``) and in SQL
# (``_issuable_q``).
_APPROVED_AS = ({"outcome": Case.Outcome.APPROVED},
                {"outcome": "", "status": Case.Status.APPROVED})


def _issuable(case: Case) -> bool:
    return case.decided_at is not None and any(
        all(getattr(case, name) == value for name, value in fields.items())
        for fields in _APPROVED_AS)


def _issuable_q() -> Q:
    return Q(decided_at__isnull=False) & functools.reduce(
        operator.or_, (Q(**fields) for fields in _APPROVED_AS))


def approving_steps(case: Case | OuterRef) -> QuerySet[Task]:
    """The decision steps that approved ``case`` (a case, or ``OuterRef`` to
    one), the latest first: the first is the one whose agency issues the
    certificate, as whoever decided there (``certificate_issue_for_case``).
    """
    return (Task.objects.filter(case=case, status=Task.Status.DONE, decision="approve",
                                name__startswith="decide")
            .order_by("-completed_at"))


def certificates_missing(*, decided_before) -> list[tuple[int, int | None]]:
    """The approvals decided before ``decided_before`` that have no
    certificate, oldest first, as ``(case_id, task_id)``, ``task_id`` the
    step that approved it (``approving_steps``): in one query, so the
    periodic job that issues them (``cases.issue_missing_certificates``)
    costs that one query when there are none, and reads nothing more about
    a case than issuing it does.
    """
    deciding = approving_steps(OuterRef("pk")).values("pk")[:1]
    return list(Case.objects.filter(_issuable_q(), decided_at__lt=decided_before,
                                    certificate__isnull=True)
                .order_by("decided_at", "pk")
                .values_list("pk", Subquery(deciding)))


@dataclass(frozen=True)
class _Prepared:
    agency: object
    number: str
    title: str
    issuer_name: str
    holder_name: str
    token: str
    issued_at: object
    pdf: bytes
    signed: object


def _prepare(case: Case, agency_id: int | None) -> _Prepared:
    """Render and sign the certificate of an approved case (nothing is written).

    ``agency_id`` is the deciding agency (the case's own when not given).
    A name with a character no installed font has is refused (Conflict):
    the certificate would be drawn without it, and signed as genuine.
    """
    from yizhan.directory.models import Agency

    version = case.item_version
    agency = (case.agency if agency_id in (None, case.agency_id)
              else Agency.objects.get(pk=agency_id))
    number = f"{case.number}-01"
    token = secrets.token_urlsafe(18)
    issued_at = timezone.now()
    title = version.result_name or f"{version.name}决定书"
    holder = case.applicant.name
    # The signed document is in the platform's language, not that of the
    # clerk whose delivery happens to issue it: its words are part of what
    # is signed, and the same case gives the same certificate.
    with translation.override(settings.LANGUAGE_CODE):
        try:
            pdf = render_certificate(
                title=title, number=number, holder=holder, fields=_certificate_rows(case),
                issuer=agency.name, issued_at=issued_at, verify_url=verify_url(token),
                seal_text=f"{agency.name}\n电子证照专用章",
            )
        except CjkCharactersMissing as exc:
            log.error("case %s: certificate not issued: %s", case.number, exc)
            raise Conflict(
                _("证照中的“%(characters)s”在本平台已安装的字体中都没有，不能签发缺字的电子证照。"
                  "请联系系统管理员安装含有这些字的字体后再办理。"),
                code=CasesErrorCode.CERTIFICATE_GLYPHS, characters=exc.characters) from exc
    signed = sign_certificate_bytes(agency_id=agency.pk, pdf_bytes=pdf)
    return _Prepared(agency=agency, number=number, title=title, issuer_name=agency.name,
                     holder_name=holder, token=token, issued_at=issued_at, pdf=pdf,
                     signed=signed)


def _record(case: Case, prepared: _Prepared, name: str, *, actor) -> Certificate:
    """Record the certificate stored as ``name``, its event and audit record."""
    signed = prepared.signed
    certificate = Certificate.objects.create(
        case=case, agency=prepared.agency, number=prepared.number, title=prepared.title,
        issuer_name=prepared.issuer_name, holder_name=prepared.holder_name, file=name,
        digest=signed.digest, key_id=signed.signature.key_id,
        algorithm=signed.signature.algorithm, signature=signed.signature.value_b64,
        verify_token=prepared.token, issued_at=prepared.issued_at,
    )
    # The issuing agency, which for an upper-level item is not the one that
    # accepted the case (the case's own agency, the event's default).
    events.append(case=case, type=EventType.CERTIFICATE_ISSUED, actor=actor,
                  agency_id=prepared.agency.pk,
                  data={"number": prepared.number, "algorithm": certificate.algorithm,
                        "sm3": signed.digest})
    audit_append(actor=actor, action=CasesAction.CERTIFICATE_ISSUED, obj=case,
                 agency_id=prepared.agency.pk,
                 changes={"certificate": prepared.number, "sm3": signed.digest,
                          "algorithm": certificate.algorithm, "key": certificate.key_id})
    return certificate


@transaction.atomic
def certificate_revoke(*, actor, certificate: Certificate, reason: str) -> Certificate:
    certificate = Certificate.objects.select_for_update(of=("self",)).select_related("case").get(
        pk=certificate.pk)
    require(permissions.certificate_revoke(actor, certificate=certificate),
            action="certificate_revoke")
    if certificate.revoked_at is not None:
        raise Conflict(_("该证照已注销。"), code=CasesErrorCode.BAD_STATE)
    if not (reason or "").strip():
        raise InvalidInput(_("注销证照须说明理由。"), code=CasesErrorCode.NO_REASON,
                           field="reason")
    certificate.revoked_at = timezone.now()
    certificate.revoke_reason = reason
    certificate.save(update_fields=["revoked_at", "revoke_reason"])
    events.append(case=certificate.case, type=EventType.CERTIFICATE_REVOKED, actor=actor,
                  agency_id=certificate.agency_id,
                  data={"number": certificate.number, "reason": reason})
    audit_append(actor=actor, action=CasesAction.CERTIFICATE_REVOKED,
                 obj=certificate.case, agency_id=certificate.agency_id, reason=reason,
                 changes={"certificate": certificate.number})
    # Sent once the revocation commits; the 告知 is recorded with it.
    notifications.certificate_revoked(certificate.case, certificate)
    return certificate


def _archived(certificate: Certificate) -> bytes | None:
    """The signed file kept with the case; None when it cannot be read."""
    try:
        with default_storage.open(certificate.file.name, "rb") as handle:
            return handle.read()
    except OSError:
        # Lost in a storage move or a restore: the verifier is told so,
        # not shown a server error (and the file they hold can still be
        # checked against the recorded digest and signature).
        log.error("certificate %s: the archived file %s cannot be read",
                  certificate.number, certificate.file.name)
        return None


def certificate_verify(*, certificate: Certificate, pdf_bytes: bytes | None = None):
    """Verify a certificate file (the stored one unless ``pdf_bytes`` is given)."""
    if pdf_bytes is None:
        pdf_bytes = _archived(certificate)
        if pdf_bytes is None:
            return VerificationResult(ok=False, reason=VerificationReason.ARCHIVE_MISSING,
                                      revoked=certificate.revoked_at is not None)
    return verify_certificate_bytes(pdf_bytes, expected_digest=certificate.digest,
                                    key_id=certificate.key_id,
                                    signature_b64=certificate.signature,
                                    revoked=certificate.revoked_at is not None)


# The failures that are the platform's, not the file's: the archived file
# lost, the signing key's record or its algorithm missing here.  They say
# nothing of whether the certificate is in force, which the revocation does.
_NOT_THE_FILE_S_FAULT = frozenset({
    VerificationReason.REVOKED, VerificationReason.ARCHIVE_MISSING,
    VerificationReason.KEY_UNKNOWN, VerificationReason.ALGORITHM_UNAVAILABLE,
})


def certificate_verdict(certificate: Certificate, result: VerificationResult) -> str:
    """What the public is told of a verification, in the active language.

    A revoked certificate says since when: whoever relies on it (a bank,
    a landlord) must learn that it has no effect and from which day.  注销
    is the agency's decision, known whatever became of the archived file or
    the key: told only "暂时无法核验", they might wait and then accept it.
    A file that is not the signed one (altered, or its signature false) is
    judged as a file, revoked or not.  The reason the agency recorded is not
    shown: it is staff's free text and may name people (it is kept in the
    case's events and audit record).
    """
    if certificate.revoked_at is not None and result.reason in _NOT_THE_FILE_S_FAULT:
        return gettext("该证照已于%(date)s注销，自该日起不再有效。如需了解注销原因，"
                       "请向发证机关查询。") % {"date": _revoked_on(certificate)}
    return result.message


def _revoked_on(certificate: Certificate) -> str:
    """The day ``certificate`` was revoked, as the active language writes a date.

    The day is the platform's (its time zone's date), in whichever
    language: a revocation late in the evening is of the day the agency
    revoked it, whatever the reader's clock says.
    """
    if (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh"):
        return chinese_date(certificate.revoked_at)
    return date_format(timezone.localdate(certificate.revoked_at))


# A file checked on the verification page: a certificate is a PDF, never
# another kind, told by its content, not by its name, within the limit
# applicants' uploads have.
CERTIFICATE_FILE = Accepted(
    frozenset({PDF}),
    _("文件“%(name)s”不是 PDF 文件。电子证照是 PDF 文件，请上传发证机关签发的原始证照文件。"))


def _file_to_compare(upload) -> bytes:
    """The bytes of a file to check against a certificate, or a refusal.

    Only what a comparison needs is asked of it (``read_to_compare``), not
    what an applicant's material must be.  A copy cut short, or with a
    script added, is then judged (not the issued file), where refusing it
    as uncheckable would withhold the one answer the verifier came for.
    """
    if upload is None:
        raise InvalidInput(_("请选择要核对的证照 PDF 文件。"), field="file")
    return read_to_compare(upload, CERTIFICATE_FILE)


@dataclass(frozen=True)
class FileCheck:
    """The verdict on a file someone holds, checked against a certificate."""

    ok: bool
    message: str


def certificate_check_file(*, certificate: Certificate, upload) -> FileCheck:
    """Check an uploaded file against ``certificate`` (its verification page).

    Only the exact bytes that were signed are genuine.  A file that is not
    them is never valid, but the verifier is told what it is when that can
    be known for sure: another certificate of this platform (its digest is
    another's recorded one), or the signed file with something appended
    after it (a PDF viewer that saves annotations, a form filled in or a
    signature adds an "incremental update" at the end, and the signed
    content can no longer be relied on).  Any other difference, a byte
    changed or the certificate printed to PDF again, looks the same from
    here, and so does a copy cut short or with a script added.  No file
    (``upload`` None), or one that is empty, too large or not a PDF, raises
    ``InvalidInput``.
    """
    content = _file_to_compare(upload)
    result = certificate_verify(certificate=certificate, pdf_bytes=content)
    if result.reason != VerificationReason.ALTERED:
        return FileCheck(ok=result.ok, message=certificate_verdict(certificate, result))
    other = (Certificate.objects.filter(digest=certificate_digest(content))
             .exclude(pk=certificate.pk).values_list("number", flat=True).first())
    if other is not None:
        return FileCheck(ok=False, message=gettext(
            "您上传的是另一份证照（证照编号 %(number)s），不是本页所示的证照。"
            "请扫描该文件上的二维码，在它自己的核验页面核对。") % {"number": other})
    archived = _archived(certificate)
    if archived and len(content) > len(archived) and content.startswith(archived):
        return FileCheck(ok=False, message=gettext(
            "该文件在签发后被软件修改或另存过（原文件之后追加了内容，例如批注、填写或签名），"
            "已不是签发的原始文件，无法证明其内容真实。请使用发证机关签发的原始文件核对。"))
    return FileCheck(ok=False, message=gettext(
        "该文件与本证照签发的原始文件不一致：内容可能已被篡改，也可能经过打印、另存或转换"
        "（即使看起来相同，也已不是原始文件）。无法据此确认真伪，请向持证人索取原始 PDF "
        "文件，或以本页上方平台存档的信息为准。"))
