"""Helpers of the case engine's tests: items, files, cases and write checks.

Everything is built through the services, so it leaves the events and the
audit records a real case leaves.  ``nothing_written()`` compares the rows
of the engine's tables and the audit log whole (and the files in storage)
and fails if the block changed any of them; wrap it around ``pytest.raises``::

    with nothing_written(), pytest.raises(Conflict):
        services.task_claim(actor=someone_else, task=task)
"""

import threading
from contextlib import contextmanager

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from tests.factories import _password_hash, item_content
from tests.writes import watching
from yizhan.audit.models import AuditRecord
from yizhan.cases import services
from yizhan.cases.models import (
    Case,
    CaseEvent,
    Certificate,
    CorrectionNotice,
    ExtensionRequest,
    MaterialFile,
    Task,
)
from yizhan.catalog import services as catalog_services
from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def material_uploads(version, files=None) -> dict:
    """A PDF for every material of ``version`` as a form posts it; ``files`` maps
    a material's name to other bytes, or None to leave it out."""
    form = {}
    for material in version.materials.all():
        content = (files or {}).get(material.name, PDF)
        if content is not None:
            form[f"material_{material.pk}"] = SimpleUploadedFile(f"{material.name}.pdf",
                                                                 content)
    return form


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type, built by hand: ``files``
    maps an input's name to ``(filename, content)``, the file name as the raw
    bytes given (the test client would encode it in UTF-8).  Post it with
    ``client.generic("POST", url, body, content_type=...)``."""
    boundary = b"XyZbOuNdArY"
    parts = [b'Content-Disposition: form-data; name="%s"\r\n\r\n%s'
             % (name.encode(), str(value).encode()) for name, value in fields.items()]
    parts += [b'Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
              b"Content-Type: application/pdf\r\n\r\n%s" % (name.encode(), filename, content)
              for name, (filename, content) in files.items()]
    body = b"".join(b"--%s\r\n%s\r\n" % (boundary, part) for part in parts)
    return body + b"--%s--\r\n" % boundary, f"multipart/form-data; boundary={boundary.decode()}"


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
       b"\x00\x90wS\xde\x00\x00\x00\x00IEND\xaeB`\x82")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"

_ENGINE_ROWS = (Case, Task, CaseEvent, MaterialFile, CorrectionNotice, Certificate,
                ExtensionRequest, AuditRecord)


def upload(content: bytes = PDF, name: str = "申请书.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def stored_files() -> set[str]:
    """Every file name in the (in-memory) default storage, recursively."""

    def walk(path):
        dirs, files = default_storage.listdir(path)
        found = {f"{path}/{name}".lstrip("/") for name in files}
        for sub in dirs:
            found |= walk(f"{path}/{sub}".lstrip("/"))
        return found

    return walk("")


_rows_unchanged = watching(*_ENGINE_ROWS)


@contextmanager
def nothing_written():
    """Fail if the block added, changed or removed a row of the engine, or a stored file."""
    files = stored_files()
    with _rows_unchanged():
        yield
    assert stored_files() == files, "a refused call stored or removed a file"


def event_types(case) -> list[str]:
    return list(CaseEvent.objects.filter(case_id=case.pk).order_by("at", "id")
                .values_list("type", flat=True))


def audit_actions(case) -> list[str]:
    """Audit actions recorded on one case, oldest first."""
    return list(AuditRecord.objects.filter(object_type="cases.case", object_id=str(case.pk))
                .order_by("at", "id").values_list("action", flat=True))


def publish_item(world, *, agency=None, publisher=None, name="测试许可", **overrides):
    """A published item of ``agency`` (A by default), created by the platform admin."""
    agency = agency or world.agency_a
    version = catalog_services.item_create(actor=world.admin, agency=agency,
                                           data=item_content(name, **overrides))
    catalog_services.item_version_submit(actor=world.admin, version=version)
    key = "b" if agency == world.agency_b else "a"
    publisher = publisher or world.user(key, Role.SYSADMIN)
    return catalog_services.item_version_publish(actor=publisher, version=version)


def publish_again(world, version, *, materials, name="测试许可", **content):
    """Publish a new version of ``version``'s item (of agency A) with ``materials``
    (new rows, new ids) and ``content``, as the agency does while someone fills
    in the application form; returns the new version."""
    again = catalog_services.item_version_draft(actor=world.admin, item=version.item)
    catalog_services.item_version_edit(actor=world.admin, version=again,
                                       data=item_content(name, materials=materials, **content))
    catalog_services.item_version_submit(actor=world.admin, version=again)
    return catalog_services.item_version_publish(actor=world.user("a", Role.SYSADMIN),
                                                 version=again)


def add_agency(world, name: str, *, credit_seed: int, division="449900", roles=None):
    """Another agency with one staff member per case-work role.

    Returns ``(agency, {role: user})``.
    """
    from tests.factories import _password_hash, valid_credit_code

    agency = directory_services.agency_create(
        actor=world.admin, name=name, kind="department", division_code=division,
        credit_code=valid_credit_code(credit_seed, division))
    staff = {}
    for role in roles or (Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD):
        post = directory_services.post_create(actor=world.admin, agency=agency,
                                              name=f"{role}岗", role=role)
        staff[role] = directory_services.staff_create(
            actor=world.admin, post=post, username=f"{credit_seed}.{role}",
            full_name=f"{name}{role}", password_hash=_password_hash())
    return agency, staff


def draft(world, version, *, actor=None, applicant=None, data=None, key="", files=True):
    """A draft case of the citizen with every required material uploaded."""
    actor = actor or world.citizen
    case = services.case_create(actor=actor, item_version=version,
                                applicant=applicant or world.applicant, data=data,
                                idempotency_key=key)
    if files:
        for material in version.materials.all():
            services.material_upload(actor=actor, case=case, material_id=material.pk,
                                     upload=upload())
    return case


def submitted(world, version, **kwargs):
    """A submitted case; returns ``(case, query_code)``."""
    case = draft(world, version, **kwargs)
    return services.case_submit(actor=kwargs.get("actor") or world.citizen, case=case)


def walk_in(world):
    """An applicant registered at A's window, with a phone and no account."""
    from tests.factories import valid_id_number

    return directory_services.applicant_register(
        actor=world.user("a", Role.WINDOW_CLERK), kind="person", name="王五",
        id_number=valid_id_number(seq=11), phone="13700002222")


def walk_in_case(world, version):
    """A case A's window files for the walk-in applicant; returns ``(case, query code)``."""
    return submitted(world, version, actor=world.user("a", Role.WINDOW_CLERK),
                     applicant=walk_in(world))


def accepted(world, version, *, key="a"):
    """A case of ``version`` submitted by the citizen and accepted by the window."""
    case, _code = submitted(world, version)
    complete(world.user(key, Role.WINDOW_CLERK), case, "accept")
    return reload(case)


def received_workdays_ago(case, days: int):
    """Move the submission of ``case`` (and its open acceptance step) ``days``
    working days back, at 10:00; returns that moment."""
    import datetime as dt

    from django.utils import timezone

    from yizhan.workdays.selectors import calendar_current

    calendar = calendar_current()
    day = timezone.localdate()
    counted = 0
    while counted < days:
        day -= dt.timedelta(days=1)
        counted += calendar.is_workday(day)
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
    Case.objects.filter(pk=case.pk).update(submitted_at=at, created_at=at)
    Task.objects.filter(case_id=case.pk).update(created_at=at)
    return at


def open_task(case, name_prefix: str = "", *, agency=None) -> Task:
    """The one open or claimed task of ``case`` whose BPMN id starts with the prefix."""
    qs = Task.objects.filter(case_id=case.pk, status__in=[Task.Status.OPEN,
                                                          Task.Status.CLAIMED])
    if name_prefix:
        qs = qs.filter(name__startswith=name_prefix)
    if agency is not None:
        qs = qs.filter(agency=agency)
    return qs.get()


def complete(actor, case, name_prefix="", decision="approve", opinion="", agency=None):
    task = open_task(case, name_prefix, agency=agency)
    return services.task_complete(actor=actor, task=task, decision=decision, opinion=opinion)


def reload(case) -> Case:
    return Case.objects.get(pk=case.pk)


def colleague(world, key, role, username, *, email=""):
    """A second holder of agency ``key``'s post ``role`` (beside ``world.user(key, role)``),
    given ``email`` as the address tasks are announced to when one is named."""
    user = directory_services.staff_create(
        actor=world.admin, post=world.posts[key][role], username=username,
        full_name=f"{username}同事", password_hash=_password_hash())
    if email:
        type(user).objects.filter(pk=user.pk).update(email=email)
    return user


def reachable(*users, phone=""):
    """Give each user an e-mail address (``<username>@example.org`` unless
    they have one) and ``phone``, the contacts notices go to."""
    for user in users:
        user.email = user.email or f"{user.username}@example.org"
        user.phone = phone or user.phone
        type(user).objects.filter(pk=user.pk).update(email=user.email, phone=user.phone)
    return users


def accepted_parallel(world):
    """An accepted case of 并联许可, a parallel item of A with B and a third agency 丙局
    as joint agencies; returns ``(case, 丙局, {role: user} of 丙局)``."""
    third, staff = add_agency(world, "丙局", credit_seed=303)
    version = publish_item(world, name="并联许可", process_template="parallel",
                           joint_agencies=[world.agency_b.name, "丙局"])
    return accepted(world, version), third, staff


def at_upper_review(world):
    """An 上级初审 case of A (市 level) sent up to the provincial 示范省厅, whose
    reviewer now holds it; returns ``(case, 省厅, {role: user} of 省厅)``."""
    upper, staff = add_agency(world, "示范省厅", credit_seed=505, division="440000")
    version = publish_item(world, name="上级审批事项", process_template="upper_review",
                           upper_agency="示范省厅")
    case = accepted(world, version)
    complete(world.user("a", Role.REVIEWER), case, "first_review", opinion="同意上报")
    return reload(case), upper, staff


def apply_url(version) -> str:
    """The application form's page of ``version``'s item."""
    return f"/services/items/{version.item.impl_code}/apply/"


def apply_form(world, version, key, **fields) -> dict:
    """The application form as the citizen's browser posts it for ``world.applicant``:
    idempotency ``key``, a PDF for every material, and any other ``fields``."""
    form = {"key": key, "applicant": str(world.applicant.pk), **fields}
    for material in version.materials.all():
        form[f"material_{material.pk}"] = SimpleUploadedFile(
            f"{material.name}.pdf", PDF, content_type="application/pdf")
    return form


def another_citizen(username="lisi", full_name="李四", seq=8):
    """A second signed-up citizen with their own applicant record."""
    from tests.factories import PASSWORD, valid_id_number
    from yizhan.directory.models import Applicant
    from yizhan.directory.services import person_sign_up

    user = person_sign_up(username=username, full_name=full_name,
                          id_number=valid_id_number(seq=seq), password=PASSWORD)
    return user, Applicant.objects.get(user=user)


def run_in_thread(call, *, name=None, done=None):
    """Start ``call`` on a thread with its own connection; returns (thread, box).

    ``box["result"]`` is what the call returned, or the exception it raised.
    ``name`` names the thread (a patched service may ask
    ``threading.current_thread().name`` which call it is in); ``done``, a
    ``threading.Event``, is set once the call has ended and closed its connection.
    """
    box: dict = {}

    def run():
        try:
            box["result"] = call()
        except Exception as exc:  # the exception is the thread's result
            box["result"] = exc
        finally:
            connection.close()
            if done is not None:
                done.set()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, box


def run_together(*calls):
    """Run each call in its own thread and connection, released at the same moment."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the exception is the thread's result
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def token_actor(world, role, *, agency=None):
    """A fresh API token of ``agency`` (A) in ``role``, as the API authenticates
    it (the actor services see), and the label it is recorded under."""
    from yizhan.accounts import services as account_services

    _token, secret = account_services.token_issue(actor=world.admin,
                                                  agency=agency or world.agency_a,
                                                  name="对接系统", role=role)
    principal = account_services.token_authenticate(secret)
    return principal, principal.audit_label
