"""The case API: the whole promised flow with session auth, and its JSON errors."""

import datetime
import json
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.api import api_error as _error
from tests.cases.helpers import (
    PDF,
    PNG,
    accepted,
    another_citizen,
    colleague,
    complete,
    draft,
    event_types,
    multipart,
    nothing_written,
    open_task,
    publish_item,
    received_workdays_ago,
    reload,
    submitted,
    upload,
)
from yizhan.audit.verify import verify_chain
from yizhan.cases import services
from yizhan.cases.models import Case, Certificate, EventType, MaterialFile
from yizhan.core.crypto import sm3_hex
from yizhan.directory.roles import Role

BASE = "/api/v1"
E = EventType


def _post(client, url, payload=None):
    return client.post(url, json.dumps(payload or {}), content_type="application/json")


def _create(client, world, version, key=""):
    return _post(client, f"{BASE}/cases", {"impl_code": version.item.impl_code,
                                           "applicant_id": world.applicant.pk,
                                           "data": {"shop_name": "张记"},
                                           "idempotency_key": key})


def _upload(client, case_id, material, content=PDF, name="申请书.pdf"):
    return client.post(f"{BASE}/cases/{case_id}/materials",
                       {"material_id": material.pk, "file": SimpleUploadedFile(name, content)})


def _inbox(client):
    response = client.get(f"{BASE}/tasks/inbox")
    assert response.status_code == 200
    return response.json()


def test_the_promised_flow_through_the_api(world, promised, client_for,
                                           django_capture_on_commit_callbacks):
    """Apply, upload, submit; accept, review, decide, deliver; follow and download."""
    citizen = client_for(world.citizen)
    created = _create(citizen, world, promised, key="req-1")
    assert created.status_code == 201, created.content
    case_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    for material in promised.materials.all():
        response = _upload(citizen, case_id, material)
        assert response.status_code == 201, response.content
        assert response.json()["digest"] == sm3_hex(PDF)
        assert response.json()["content_type"] == "application/pdf"
    submitted_ = _post(citizen, f"{BASE}/cases/{case_id}/submit")
    assert submitted_.status_code == 200
    body = submitted_.json()
    assert re.fullmatch(r"\d{8}", body["query_code"])
    assert body["case"]["status"] == "submitted"
    assert _post(citizen, f"{BASE}/cases/{case_id}/submit").json()["query_code"] is None

    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    [accept] = _inbox(clerk)
    assert (accept["title"], accept["agency"], accept["status"]) == ("受理", "甲局", "open")
    claimed = _post(clerk, f"{BASE}/tasks/{accept['id']}/claim")
    assert claimed.json()["status"] == "claimed"
    done = _post(clerk, f"{BASE}/tasks/{accept['id']}/complete", {"decision": "approve"})
    assert done.status_code == 200 and done.json()["status"] == "done"

    reviewer = client_for(world.user("a", Role.REVIEWER))
    [review] = _inbox(reviewer)
    with nothing_written():
        _error(_post(reviewer, f"{BASE}/tasks/{review['id']}/complete", {"decision": "maybe"}),
               400, "cases.bad_decision")
        _error(_post(reviewer, f"{BASE}/tasks/{review['id']}/complete", {"decision": "reject"}),
               400, "cases.no_reason")
    _post(reviewer, f"{BASE}/tasks/{review['id']}/complete",
          {"decision": "approve", "opinion": "符合条件"})

    head = client_for(world.user("a", Role.AGENCY_HEAD))
    [decide] = _inbox(head)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(head, f"{BASE}/tasks/{decide['id']}/complete",
                     {"decision": "approve"}).status_code == 200
    [deliver] = _inbox(clerk)
    _post(clerk, f"{BASE}/tasks/{deliver['id']}/complete", {"decision": "approve"})

    detail = citizen.get(f"{BASE}/cases/{case_id}").json()
    assert (detail["status"], detail["outcome"]) == ("closed", "approved")
    assert detail["certificate"] == f"{detail['number']}-01"
    assert [e["type"] for e in detail["timeline"]] == [
        E.SUBMITTED, E.TASK_CLAIMED, E.ACCEPTED, E.NOTIFIED, E.REVIEWED, E.APPROVED,
        E.NOTIFIED, E.CERTIFICATE_ISSUED, E.DELIVERED, E.CLOSED, E.NOTIFIED]
    assert detail["timeline"][4]["label"] == "审核"
    assert [t["title"] for t in detail["tasks"]] == ["受理", "审查", "决定", "送达准予决定"]
    assert set(detail["remaining"]) == {"statutory", "promised", "provisional"}
    mine = citizen.get(f"{BASE}/cases/mine").json()
    assert [c["id"] for c in mine] == [case_id]
    pdf = citizen.get(f"{BASE}/cases/{case_id}/certificate")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_create_is_idempotent_over_the_api(world, promised, client_for):
    """POST /cases twice with one idempotency_key gives one case."""
    citizen = client_for(world.citizen)
    first = _create(citizen, world, promised, key="retry-me")
    second = _create(citizen, world, promised, key="retry-me")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Case.objects.count() == 1


def test_a_retry_with_a_large_number_leaves_the_log_verifiable(world, promised, client_for):
    """The same retry over the API: the untouched audit log
    verifies on PostgreSQL too (jsonb would give the number back as an integer)."""
    citizen = client_for(world.citizen)
    first = _post(citizen, f"{BASE}/cases", {"impl_code": promised.item.impl_code,
                                             "applicant_id": world.applicant.pk,
                                             "idempotency_key": "k-big", "data": {}})
    assert first.status_code == 201
    # Sent as the JSON text 1e+16, read by the API as the float 1e16.
    second = _post(citizen, f"{BASE}/cases", {"impl_code": promised.item.impl_code,
                                              "applicant_id": world.applicant.pk,
                                              "idempotency_key": "k-big", "data": {"n": 1e16}})
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert verify_chain(stop_at_first=False).breaks == []


def test_api_errors_have_one_shape(world, promised, client_for):
    """Unknown item 404, not signed in 401, bad data keys 400, another's applicant 404."""
    citizen = client_for(world.citizen)
    _error(_post(citizen, f"{BASE}/cases", {"impl_code": "nope", "applicant_id":
                                            world.applicant.pk}), 404, "core.not_found")
    _error(_create(Client(), world, promised), 401, "core.not_authenticated")
    _error(_post(citizen, f"{BASE}/cases", {"impl_code": promised.item.impl_code,
                                            "applicant_id": world.applicant.pk,
                                            "data": {"bad key": 1}}), 400, "core.invalid_input")
    stranger, _applicant = another_citizen()
    _error(_create(client_for(stranger), world, promised), 404, "core.not_found")
    assert Case.objects.count() == 0


def test_upload_errors_over_the_api(world, promised, client_for):
    """Wrong content 415 cases.upload_type; truncated 400; nothing is kept."""
    citizen = client_for(world.citizen)
    case_id = _create(citizen, world, promised).json()["id"]
    material = promised.materials.first()
    with nothing_written():
        _error(_upload(citizen, case_id, material, b"hello", "a.pdf"), 415,
               "cases.upload_type")
        _error(_upload(citizen, case_id, material, PNG[:-4], "a.png"), 400,
               "cases.upload_truncated")
        body = _error(_post(citizen, f"{BASE}/cases/{case_id}/submit"), 400,
                      "cases.missing_materials")
    assert body["fields"]["missing"] == ["申请书", "营业执照"]


def _multipart(material_id: int, filename: bytes) -> tuple[bytes, str]:
    """A material upload whose file name is the raw bytes given (a test client
    would encode it)."""
    return multipart({"material_id": material_id}, {"file": (filename, PDF)})


@pytest.mark.parametrize(("filename", "kept_as", "refused_with"), [
    ("申请\x00书.pdf".encode(), "申请书.pdf", None),    # NUL, which PostgreSQL cannot hold
    (b"../../etc/passwd.pdf", "passwd.pdf", None),      # a path: its last part only
    (b"a\\b\\c.pdf", "c.pdf", None),
    (b"%00.pdf", "%00.pdf", None),                       # escapes are not decoded
    ("申请书%00.pdf".encode(), "申请书%00.pdf", None),
    ("申请书.pdf".encode("gbk"), "申请书.pdf", None),    # GBK, as older Windows clients send
    ("誠信承诺书.pdf".encode("gbk"), "誠信承诺书.pdf", None),  # 誠's second byte is "\\"
    ("申请\\书.pdf".encode("gbk"), "书.pdf", None),     # a GBK name still loses its folders
    (b"\xff\xfe.pdf", None, "core.file_name_encoding"),  # neither UTF-8 nor GB18030
    (b"", None, "core.invalid_input"),                   # no name: not a file
    (b"a" * 1000 + b".pdf", None, "core.invalid_input"),  # headers over Django's limit
])
def test_a_material_file_name_is_kept_as_text_the_database_holds(world, promised, client_for,
                                                                  filename, kept_as,
                                                                  refused_with):
    """Whatever bytes name the file, the answer is the file kept under a name without
    NUL or path, or a 400 in the error shape: never a 500."""
    citizen = client_for(world.citizen)
    citizen.raise_request_exception = False
    case_id = _create(citizen, world, promised).json()["id"]
    body, content_type = _multipart(promised.materials.first().pk, filename)
    response = citizen.generic("POST", f"{BASE}/cases/{case_id}/materials", body,
                               content_type=content_type)
    if refused_with:
        _error(response, 400, refused_with)
    else:
        assert response.status_code == 201, response.content
        assert response.json()["original_name"] == kept_as


def test_a_file_named_in_gbk_is_kept_under_its_name(world, promised, client_for):
    """营业执照.pdf as an older Windows client names it, in GBK bytes: the file is
    received and kept under that name, which the case's file list shows."""
    citizen = client_for(world.citizen)
    case_id = _create(citizen, world, promised).json()["id"]
    material = promised.materials.get(name="营业执照")
    body, content_type = multipart({"material_id": material.pk},
                                   {"file": ("营业执照.pdf".encode("gbk"), PDF)})
    response = citizen.generic("POST", f"{BASE}/cases/{case_id}/materials", body,
                               content_type=content_type)
    assert response.status_code == 201, response.content
    assert MaterialFile.objects.get(case_id=case_id).original_name == "营业执照.pdf"


def test_a_file_name_in_no_known_encoding_is_refused_saying_so(world, promised, client_for):
    """A name neither UTF-8 nor GB18030 is refused as such (400
    core.file_name_encoding), not reported as a file missing; nothing is kept."""
    citizen = client_for(world.citizen)
    case_id = _create(citizen, world, promised).json()["id"]
    body, content_type = multipart({"material_id": promised.materials.first().pk},
                                   {"file": (b"\x80\xff.pdf", PDF)})
    with nothing_written():
        response = citizen.generic("POST", f"{BASE}/cases/{case_id}/materials", body,
                                   content_type=content_type)
    refused = _error(response, 400, "core.file_name_encoding")
    assert refused["message_zh"] == ("文件名的编码无法识别，请改用 UTF-8 编码的文件名"
                                     "（或将文件重命名为只含字母和数字的名称）后重新上传。")


def test_a_file_far_too_big_is_not_kept_while_it_arrives(world, promised, client_for,
                                                          settings, monkeypatch):
    """A file above what any form takes is dropped as it arrives, past the
    largest size accepted, and still refused as too big, with the usual 413."""
    from yizhan.core import upload_handlers

    settings.YIZHAN_MAX_UPLOAD_BYTES = 64 * 1024
    settings.YIZHAN_MAX_RECEIVED_FILE_BYTES = 128 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    kept = []
    complete = upload_handlers.CappedTemporaryFileUploadHandler.file_complete

    def measured(self, file_size):
        self.file.flush()
        kept.append((os.path.getsize(self.file.temporary_file_path()), file_size))
        return complete(self, file_size)

    monkeypatch.setattr(upload_handlers.CappedTemporaryFileUploadHandler, "file_complete",
                        measured)
    citizen = client_for(world.citizen)
    case_id = _create(citizen, world, promised).json()["id"]
    sent = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024) + b"\n%%EOF\n"
    with nothing_written():
        _error(_upload(citizen, case_id, promised.materials.first(), sent), 413,
               "cases.upload_too_big")
    assert kept == [(128 * 1024 + 1, len(sent))]


def test_files_over_the_request_s_total_are_refused_413(world, promised, client_for, settings):
    """Files each within their own cap, more than one request keeps in all: the
    call is answered 413 in the error shape, with the limit, and keeps nothing."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.YIZHAN_MAX_REQUEST_FILES_BYTES = 2 * 1024 * 1024
    citizen = client_for(world.citizen)
    case_id = _create(citizen, world, promised).json()["id"]
    sent = b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n"
    with nothing_written():
        response = citizen.post(f"{BASE}/cases/{case_id}/materials", {
            "material_id": promised.materials.first().pk,
            "file": SimpleUploadedFile("申请书.pdf", sent),
            "extra_1": SimpleUploadedFile("a.pdf", sent),
            "extra_2": SimpleUploadedFile("b.pdf", sent)})
    body = _error(response, 413, "core.body_too_large")
    assert body["message_zh"].startswith("一次提交的文件合计超过 2 MB")


def test_another_citizens_case_is_not_found(world, promised, client_for):
    """A stranger can neither read nor upload to the case."""
    case, _code = submitted(world, promised)
    stranger, _applicant = another_citizen()
    client = client_for(stranger)
    _error(client.get(f"{BASE}/cases/{case.pk}"), 404, "core.not_found")
    _error(_upload(client, case.pk, promised.materials.first()), 404, "core.not_found")


def test_the_applicant_gets_a_new_query_code(world, promised, client_for):
    """POST /cases/{id}/query-code answers the applicant 200 with a new 8-digit code:
    GET /cases/status opens the case with it, and no longer with the code it replaced."""
    case, old = submitted(world, promised)
    public = Client()

    def status(code):
        return public.get(f"{BASE}/cases/status", {"number": case.number, "code": code})

    assert status(old).status_code == 200
    citizen = client_for(world.citizen)
    for _draw in range(3):   # a random new code is the old one once in 10**8 draws
        response = _post(citizen, f"{BASE}/cases/{case.pk}/query-code")
        assert response.status_code == 200, response.content
        new = response.json()["query_code"]
        assert re.fullmatch(r"\d{8}", new), new
        if new != old:
            break
    assert new != old
    opened = status(new)
    assert opened.status_code == 200, opened.content
    assert (opened.json()["number"], opened.json()["status"]) == (case.number, "submitted")
    _error(status(old), 404, "core.not_found")


def test_a_field_of_the_status_query_is_named_by_its_place_in_the_body(db):
    """POST /cases/status takes the number and the query code in the body: a
    wrong one is named ``number``, as docs/api.md names a body's fields, not
    ``query.number``, a field of a query string the client never sent."""
    response = Client().post(f"{BASE}/cases/status", json.dumps({"number": 5, "code": "1"}),
                             content_type="application/json")
    body = _error(response, 400, "core.invalid_input")
    assert body["fields"]["problems"] == [{"field": "number", "problem": "应为文本"}]


def test_correction_through_the_api(world, promised, client_for):
    """The clerk's notice, the applicant's new files and the resubmission."""
    case, _code = submitted(world, promised)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    [task] = _inbox(clerk)
    material = promised.materials.get(name="营业执照")
    response = _post(clerk, f"{BASE}/tasks/{task['id']}/correction",
                     {"items": [{"material_id": material.pk, "problem": "已过期"}],
                      "note": "请补正"})
    assert response.status_code == 200 and response.json()["status"] == "correction"
    _error(_post(clerk, f"{BASE}/tasks/{task['id']}/correction",
                 {"items": [{"material_id": material.pk, "problem": "再次"}]}),
           409, "cases.bad_state")
    citizen = client_for(world.citizen)
    detail = citizen.get(f"{BASE}/cases/{case.pk}").json()
    assert detail["correction"] == [{"material_id": material.pk, "name": "营业执照",
                                     "problem": "已过期"}]
    _error(_post(citizen, f"{BASE}/cases/{case.pk}/correct"), 400, "cases.missing_materials")
    assert _upload(citizen, case.pk, material, PNG, "new.png").status_code == 201
    files = citizen.get(f"{BASE}/cases/{case.pk}").json()["files"]
    assert [(f["content_type"], f["replaced"]) for f in files
            if f["material_id"] == material.pk] == [("application/pdf", True),
                                                    ("image/png", False)]
    assert _post(citizen, f"{BASE}/cases/{case.pk}/correct").json()["status"] == "submitted"
    assert event_types(case)[-2:] == [E.CORRECTION_REQUESTED, E.CORRECTION_SUBMITTED]


def test_the_applicant_reads_the_notice_s_note_through_the_api(world, promised, client_for):
    """The case page shows the note above the materials; the API's applicant, who
    corrects through a client, is given it too, and when the notice was given
    (``correction`` stays the list of materials)."""
    case, _code = submitted(world, promised)
    citizen = client_for(world.citizen)
    before = citizen.get(f"{BASE}/cases/{case.pk}").json()
    assert (before["correction"], before["correction_note"],
            before["correction_issued_at"]) == (None, None, None)
    material = promised.materials.get(name="营业执照")
    notice = services.case_request_correction(
        actor=world.user("a", Role.WINDOW_CLERK), task=open_task(case),
        items=[{"material_id": material.pk, "problem": "已过期"}],
        note="请同时提交租赁合同原件扫描件")
    detail = citizen.get(f"{BASE}/cases/{case.pk}").json()
    assert detail["correction_note"] == "请同时提交租赁合同原件扫描件"
    assert detail["correction"] == [{"material_id": material.pk, "name": "营业执照",
                                     "problem": "已过期"}]
    # Answered to the millisecond.
    issued = datetime.datetime.fromisoformat(detail["correction_issued_at"])
    assert abs(issued - notice.issued_at) < datetime.timedelta(milliseconds=1)


def test_a_correction_notice_after_five_working_days_is_refused_through_the_api(
        world, promised, client_for):
    """409 cases.correction_too_late: 逾期不告知的，自收到申请材料之日起即为受理."""
    case, _code = submitted(world, promised)
    received_workdays_ago(case, 6)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    material = promised.materials.get(name="营业执照")
    response = _post(clerk, f"{BASE}/tasks/{open_task(case).pk}/correction",
                     {"items": [{"material_id": material.pk, "problem": "已过期"}]})
    _error(response, 409, "cases.correction_too_late")
    assert "第三十二条" in response.json()["message"]


def test_the_window_of_an_immediate_item_refuses_to_accept_through_the_api(world, client_for):
    """decision not_accept at a 即办件's window step: 不予受理, as at an accept step."""
    version = publish_item(world, name="即办事项", case_type="immediate",
                           process_template="immediate", statutory_limit=1, promised_limit=0)
    case, _code = submitted(world, version)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    task = open_task(case)
    _error(_post(clerk, f"{BASE}/tasks/{task.pk}/complete", {"decision": "not_accept"}),
           400, "cases.no_reason")
    response = _post(clerk, f"{BASE}/tasks/{task.pk}/complete",
                     {"decision": "not_accept", "opinion": "不属于本机关职权范围"})
    assert response.status_code == 200, response.content
    assert response.json()["decision"] == "not_accept"
    detail = client_for(world.citizen).get(f"{BASE}/cases/{case.pk}").json()
    assert (detail["status"], detail["outcome"], detail["accepted_at"]) == (
        "not_accepted", "not_accepted", None)


def test_clock_endpoints(world, promised, client_for):
    """Suspend, resume and extend through the API; a reviewer's extension is refused."""
    case, _code = submitted(world, promised)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    [task] = _inbox(clerk)
    _post(clerk, f"{BASE}/tasks/{task['id']}/complete", {"decision": "approve"})
    reviewer = client_for(world.user("a", Role.REVIEWER))
    _error(_post(reviewer, f"{BASE}/cases/{case.pk}/suspend",
                 {"reason": "holiday", "note": "放假"}), 400, "cases.no_reason")
    suspended = _post(reviewer, f"{BASE}/cases/{case.pk}/suspend",
                      {"reason": "hearing", "note": "听证"})
    assert suspended.json()["status"] == "suspended"
    assert _post(reviewer, f"{BASE}/cases/{case.pk}/resume").json()["status"] == "in_progress"
    _error(_post(reviewer, f"{BASE}/cases/{case.pk}/extend", {"workdays": 5, "reason": "复杂"}),
           403, "core.permission_denied")
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    extended = _post(head, f"{BASE}/cases/{case.pk}/extend", {"workdays": 5, "reason": "复杂"})
    assert extended.status_code == 200
    assert reload(case).extension_workdays == 5
    with nothing_written():
        # The same extension sent again is answered with the case; another is
        # the second extension the law does not allow.
        again = _post(head, f"{BASE}/cases/{case.pk}/extend", {"workdays": 5, "reason": "复杂"})
        assert again.json() == extended.json()
        _error(_post(head, f"{BASE}/cases/{case.pk}/extend", {"workdays": 3, "reason": "再延"}),
               409, "cases.extension_once")


# --- a staff action sent again (its answer lost) -------------------------------------


def _answered_again(client, url, body=None):
    """``body`` posted to ``url`` twice, as a system whose answer was lost sends
    it again: both answered 200, alike, the second writing nothing.  Returns
    the answer."""
    first = _post(client, url, body)
    assert first.status_code == 200, first.content
    with nothing_written():
        again = _post(client, url, body)
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    return first.json()


def test_a_decision_sent_again_answers_the_decided_task(world, promised):
    """A system whose answer to /complete was lost sends it again: its decision
    went through, and it is answered with the task, not a 409 cases.task_closed
    that cannot be told from a colleague's decision or a withdrawal.  The same
    sender with another decision or opinion is still refused."""
    case, _code = submitted(world, promised)
    task = open_task(case, "accept")
    client, other = (_token_client(world, Role.WINDOW_CLERK) for _system in range(2))
    body = {"decision": "approve", "opinion": "材料齐全", "version": task.version}
    _answered_again(client, f"{BASE}/tasks/{task.pk}/complete", body)
    with nothing_written():
        _error(_post(client, f"{BASE}/tasks/{task.pk}/complete",
                     {**body, "opinion": "材料齐全，予以受理"}), 409, "cases.task_closed")
        # Another system of the window sending the very same decision did not make it.
        _error(_post(other, f"{BASE}/tasks/{task.pk}/complete", body), 409, "cases.task_closed")
    assert event_types(case).count(E.ACCEPTED) == 1


def test_a_return_sent_again_answers_the_reopened_tasks(world, promised, client_for):
    """/return sent again by the reviewer who returned answers the tasks the
    return reopened, as the first answer did."""
    case = accepted(world, promised)
    task = open_task(case, "review")
    reviewer = client_for(world.user("a", Role.REVIEWER))
    reopened = _answered_again(reviewer, f"{BASE}/tasks/{task.pk}/return",
                               {"opinion": "请核实申请人住所", "version": task.version})
    assert [t["name"] for t in reopened] == ["accept"]


def test_a_correction_notice_sent_again_answers_the_case(world, promised, client_for):
    """The clerk's one-time notice sent again (the same materials, problems and
    note) answers the case awaiting the correction; another notice is refused."""
    case, _code = submitted(world, promised)
    task = open_task(case, "accept")
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    material = promised.materials.get(name="营业执照")
    body = {"items": [{"material_id": material.pk, "problem": "已过期"}], "note": "请补正",
            "version": task.version}
    _answered_again(clerk, f"{BASE}/tasks/{task.pk}/correction", body)
    with nothing_written():
        _error(_post(clerk, f"{BASE}/tasks/{task.pk}/correction", {**body, "note": "另行告知"}),
               409, "cases.bad_state")


def test_a_suspension_sent_again_answers_the_suspended_case(world, promised, client_for):
    """The same /suspend twice: one pause, and the retry is answered with the
    suspended case, not 409 "只有办理中的办件可以暂停计时"; so is /resume sent
    again.  Another reason, or another reviewer, is still refused."""
    case = accepted(world, promised)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    body = {"reason": "hearing", "note": "举行听证"}
    _answered_again(reviewer, f"{BASE}/cases/{case.pk}/suspend", body)
    with nothing_written():
        _error(_post(reviewer, f"{BASE}/cases/{case.pk}/suspend",
                     {"reason": "inspection", "note": "现场核查"}), 409, "cases.bad_state")
        _error(_post(head, f"{BASE}/cases/{case.pk}/suspend", body), 409, "cases.bad_state")
    _answered_again(reviewer, f"{BASE}/cases/{case.pk}/resume")
    with nothing_written():
        _error(_post(head, f"{BASE}/cases/{case.pk}/resume"), 409, "cases.bad_state")
    assert event_types(case).count(E.SUSPENDED) == event_types(case).count(E.RESUMED) == 1


def test_a_deadline_reads_the_same_in_every_answer(world, promised, client_for):
    """/resume answers the deadlines it has just counted, GET /cases/{id} those
    stored: the same instant, written the same way (UTC, ``Z``), so that a
    client comparing answers sees no change where there is none."""
    case = accepted(world, promised)
    reviewer = client_for(world.user("a", Role.REVIEWER))
    _post(reviewer, f"{BASE}/cases/{case.pk}/suspend", {"reason": "hearing", "note": "听证"})
    resumed = _post(reviewer, f"{BASE}/cases/{case.pk}/resume").json()
    read = reviewer.get(f"{BASE}/cases/{case.pk}").json()
    for name in ("statutory_due", "promised_due", "accepted_at"):
        assert resumed[name] == read[name]
        assert resumed[name].endswith("Z"), resumed[name]


def test_claim_conflict_over_the_api(world, promised, client_for):
    """The second claimer gets 409 cases.task_taken."""
    _case, _code = submitted(world, promised)
    other = colleague(world, "a", Role.WINDOW_CLERK, "a.clerk2")
    first = client_for(world.user("a", Role.WINDOW_CLERK))
    [task] = _inbox(first)
    assert _post(first, f"{BASE}/tasks/{task['id']}/claim").status_code == 200
    _error(_post(client_for(other), f"{BASE}/tasks/{task['id']}/claim"), 409,
           "cases.task_taken")
    _error(_post(client_for(other), f"{BASE}/tasks/{task['id']}/complete",
                 {"decision": "approve"}), 409, "cases.task_taken")


@pytest.mark.parametrize("role", [Role.WINDOW_CLERK, Role.REVIEWER])
def test_another_agencys_staff_cannot_touch_a_task(world, promised, client_for, role):
    """B's staff get 404 on A's task: they cannot even learn it exists."""
    case, _code = submitted(world, promised)
    task = case.tasks.get()
    client = client_for(world.user("b", role))
    _error(_post(client, f"{BASE}/tasks/{task.pk}/claim"), 404, "core.not_found")
    _error(_post(client, f"{BASE}/tasks/{task.pk}/complete", {"decision": "approve"}), 404,
           "core.not_found")


def test_revocation_through_the_api(world, promised, client_for,
                                    django_capture_on_commit_callbacks):
    """The head revokes by certificate number; the answer says revoked."""
    case, _code = submitted(world, promised)
    for key, role in (("a", Role.WINDOW_CLERK), ("a", Role.REVIEWER)):
        task = case.tasks.filter(status="open").get()
        _post(client_for(world.user(key, role)), f"{BASE}/tasks/{task.pk}/complete",
              {"decision": "approve"})
    task = case.tasks.filter(status="open").get()
    with django_capture_on_commit_callbacks(execute=True):
        _post(client_for(world.user("a", Role.AGENCY_HEAD)), f"{BASE}/tasks/{task.pk}/complete",
              {"decision": "approve"})
    number = Certificate.objects.get(case=case).number
    _error(_post(client_for(world.user("a", Role.REVIEWER)),
                 f"{BASE}/certificates/{number}/revoke", {"reason": "撤销"}),
           403, "core.permission_denied")
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    # Sent without a body the reason is missing, and the refusal names it.
    with nothing_written():
        refused = head.generic("POST", f"{BASE}/certificates/{number}/revoke")
    assert _error(refused, 400, "cases.no_reason")["fields"] == {"field": "reason"}
    body = _post(head, f"{BASE}/certificates/{number}/revoke", {"reason": "撤销"}).json()
    assert (body["valid"], body["revoked"]) == (False, True)


def test_fees_and_withdrawal_through_the_api(world, client_for):
    """The window records a fee (an unknown fee, or a fraction of a fen, is a 400);
    the applicant withdraws."""
    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case, _code = submitted(world, version)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    _error(_post(clerk, f"{BASE}/cases/{case.pk}/fees", {"fee_id": 999999, "amount": "80"}),
           400, "core.invalid_input")
    with nothing_written():
        below_a_fen = _error(_post(clerk, f"{BASE}/cases/{case.pk}/fees",
                                   {"fee_id": version.fees.get().pk, "amount": "0.004"}),
                             400, "core.invalid_input")
    assert below_a_fen["fields"] == {"field": "amount"}
    assert below_a_fen["message_zh"] == "金额应为不小于 0 的数字，最多两位小数。"
    charged = _post(clerk, f"{BASE}/cases/{case.pk}/fees",
                    {"fee_id": version.fees.get().pk, "amount": "80.00"})
    assert charged.status_code == 200, charged.content
    assert E.FEE_CHARGED in event_types(case)
    withdrawn = _post(client_for(world.citizen), f"{BASE}/cases/{case.pk}/withdraw",
                      {"reason": "不再开办"})
    assert withdrawn.status_code == 200, withdrawn.content
    assert withdrawn.json()["status"] == "withdrawn"
    assert reload(case).status == Case.Status.WITHDRAWN


def _fee_charged_with_key(world, client_for):
    """A case whose 80-yuan fee the window charged over the API with the key
    "fee-1"; returns ``(case, the clerk's client, the request's body)``."""
    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case, _code = submitted(world, version)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    fee = {"fee_id": version.fees.get().pk, "amount": "80", "idempotency_key": "fee-1"}
    assert _post(clerk, f"{BASE}/cases/{case.pk}/fees", fee).status_code == 200
    return case, clerk, fee


def test_a_fee_retried_with_its_key_is_recorded_once(world, client_for):
    """A retry after a dropped answer, with the same ``idempotency_key``, records
    nothing more; another key is another charge."""
    case, clerk, fee = _fee_charged_with_key(world, client_for)
    with nothing_written():
        assert _post(clerk, f"{BASE}/cases/{case.pk}/fees", fee).status_code == 200
    _post(clerk, f"{BASE}/cases/{case.pk}/fees", {**fee, "idempotency_key": "fee-2"})
    assert event_types(case).count(E.FEE_CHARGED) == 2


@pytest.mark.parametrize("change", [{"amount": "0", "note": "减免"}, {"amount": "40"},
                                    {"note": "补收"}])
def test_a_fee_key_sent_again_with_another_charge_is_refused(world, client_for, change):
    """The key reused for a different charge is not a retry: answered 200 with
    nothing recorded, the client would believe the charge was.  It is a 409
    ``cases.idempotency_key_reused``, and nothing is written; the same charge
    (its amount written otherwise) is still a retry."""
    case, clerk, fee = _fee_charged_with_key(world, client_for)
    with nothing_written():
        _error(_post(clerk, f"{BASE}/cases/{case.pk}/fees", {**fee, **change}),
               409, "cases.idempotency_key_reused")
        assert _post(clerk, f"{BASE}/cases/{case.pk}/fees",
                     {**fee, "amount": "80.00"}).status_code == 200
    assert event_types(case).count(E.FEE_CHARGED) == 1


def test_a_fee_key_is_its_senders_own(world, client_for):
    """Two clerks, or a clerk and a token, that happen to send the same short key
    make two charges: the key is looked up among the sender's own (as an
    application's key is its submitter's), not swallowed as a retry."""
    from tests.supervision.helpers import fee_item

    version = fee_item(world, amount="80")
    case, _code = submitted(world, version)
    senders = [client_for(world.user("a", Role.WINDOW_CLERK)),
               client_for(colleague(world, "a", Role.WINDOW_CLERK, "clerk.b")),
               _token_client(world, Role.WINDOW_CLERK)]
    fee = {"fee_id": version.fees.get().pk, "idempotency_key": "1"}
    for amount, sender in zip(("80", "40", "0"), senders, strict=True):
        response = _post(sender, f"{BASE}/cases/{case.pk}/fees", {**fee, "amount": amount})
        assert response.status_code == 200, response.content
    with nothing_written():
        for amount, sender in zip(("80", "40", "0"), senders, strict=True):
            assert _post(sender, f"{BASE}/cases/{case.pk}/fees",
                         {**fee, "amount": amount}).status_code == 200
    assert event_types(case).count(E.FEE_CHARGED) == 3


def test_a_withdrawal_may_be_sent_without_a_body(world, promised, client_for):
    """docs/api.md lists /withdraw with no body, and its reason is optional: sent as
    ``curl -X POST`` sends it, it withdraws, rather than "输入有误：: 必填"."""
    case, _code = submitted(world, promised)
    response = client_for(world.citizen).generic("POST", f"{BASE}/cases/{case.pk}/withdraw")
    assert response.status_code == 200, response.content
    assert reload(case).status == Case.Status.WITHDRAWN


def test_a_withdrawal_sent_again_answers_the_withdrawn_case(world, promised, client_for):
    """The answer to a withdrawal was lost and the client sends it again: the
    case is withdrawn, and a 409 "办件已作出决定" would say the opposite."""
    case, _code = submitted(world, promised)
    citizen = client_for(world.citizen)
    _post(citizen, f"{BASE}/cases/{case.pk}/withdraw", {"reason": "不办了"})
    with nothing_written():
        again = _post(citizen, f"{BASE}/cases/{case.pk}/withdraw", {"reason": "不办了"})
    assert again.status_code == 200, again.content
    assert again.json()["status"] == "withdrawn"


def test_a_lone_surrogate_in_a_reason_is_refused_and_nothing_is_written(world, promised,
                                                                        client_for):
    """A withdrawal's reason is stored: half a surrogate pair (JSON's \\ud800) failed
    at the database write (a 500)."""
    case, _code = submitted(world, promised)
    with nothing_written():
        response = client_for(world.citizen).post(
            f"{BASE}/cases/{case.pk}/withdraw", '{"reason": "\\ud800"}',
            content_type="application/json")
    _error(response, 400, "core.invalid_input")
    assert reload(case).status == Case.Status.SUBMITTED


# --- tokens --------------------------------------------------------------------


def _token_client(world, role):
    from yizhan.accounts import services as account_services

    _token, secret = account_services.token_issue(actor=world.admin, agency=world.agency_a,
                                                  name="对接系统", role=role)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)


def test_a_token_files_no_application_and_has_none(world, promised):
    """Filing needs a person to upload and submit: a window clerk's token is refused
    with the JSON error, and its list of own applications is empty."""
    client = _token_client(world, Role.WINDOW_CLERK)
    with nothing_written():
        response = _create(client, world, promised)
    _error(response, 403, "core.permission_denied")
    response = client.get(f"{BASE}/cases/mine")
    assert (response.status_code, response.json()) == (200, [])


def test_a_token_handles_a_task_without_claiming_it(world, promised):
    """A token cannot claim (nobody would hold the task, and it could never be
    claimed again); it notifies corrections on the open task directly."""
    case, _code = submitted(world, promised)
    task = open_task(case, "accept")
    client = _token_client(world, Role.WINDOW_CLERK)
    with nothing_written():
        _error(_post(client, f"{BASE}/tasks/{task.pk}/claim"), 403, "core.permission_denied")
    material = promised.materials.first()
    response = _post(client, f"{BASE}/tasks/{task.pk}/correction",
                     {"items": [{"material_id": material.pk, "problem": "复印件不清晰"}]})
    assert response.status_code == 200, response.content
    case = reload(case)
    assert case.status == Case.Status.CORRECTION
    assert case.correction.issued_by is None


def test_each_step_in_the_api_inbox_names_its_case(world, promised):
    """A system handling its agency's steps through the API reads the application
    (GET /cases/{id}) before deciding: nothing in an inbox entry led to its case.
    The inbox reads the cases with its steps: a longer list costs no more queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = accepted(world, promised)
    system = _token_client(world, Role.REVIEWER)

    def read():
        with CaptureQueriesContext(connection) as queries:
            listed = _inbox(system)
        return listed, len(queries)

    read()   # the token's use is recorded once a minute: on the first call
    _one, queries_of_one = read()
    second = accepted(world, publish_item(world, name="另一许可"))
    listed, queries_of_two = read()
    assert queries_of_two == queries_of_one
    by_task = {t["id"]: t for t in listed}
    assert set(by_task) == {open_task(first).pk, open_task(second).pk}
    for case in (first, second):
        entry = by_task[open_task(case).pk]
        assert (entry["case_id"], entry["case_number"]) == (case.pk, case.number)
        assert system.get(f"{BASE}/cases/{entry['case_id']}").status_code == 200


def test_an_agency_head_s_token_revokes_no_certificate(world, promised, client_for,
                                                       django_capture_on_commit_callbacks):
    """Revoking withdraws a licence its holder relies on: the head decides it, as a
    person, never a token in the head's role (which sees the case and its certificate)."""
    from tests.cases.helpers import complete

    case, _code = submitted(world, promised)
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    number = Certificate.objects.get(case=case).number
    client = _token_client(world, Role.AGENCY_HEAD)
    assert client.get(f"{BASE}/cases/{case.pk}").status_code == 200
    with nothing_written():
        response = _post(client, f"{BASE}/certificates/{number}/revoke", {"reason": "撤销"})
    assert _error(response, 403, "core.permission_denied")["fields"] == {
        "action": "certificate_revoke"}
    assert Certificate.objects.get(number=number).revoked_at is None
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    assert _post(head, f"{BASE}/certificates/{number}/revoke",
                 {"reason": "撤销"}).json()["revoked"] is True


def test_an_agency_head_s_token_extends_no_deadline(world, promised, client_for):
    """《行政许可法》第四十二条: the extension is approved by the agency's head, as a
    person who answers for it, never by a token in the head's role."""
    case = accepted(world, promised)
    client = _token_client(world, Role.AGENCY_HEAD)
    with nothing_written():
        response = _post(client, f"{BASE}/cases/{case.pk}/extend",
                         {"workdays": 10, "reason": "情况复杂"})
    assert _error(response, 403, "core.permission_denied")["fields"] == {
        "action": "case_extend"}
    assert reload(case).extension_workdays == 0
    head = client_for(world.user("a", Role.AGENCY_HEAD))
    assert _post(head, f"{BASE}/cases/{case.pk}/extend",
                 {"workdays": 10, "reason": "情况复杂"}).status_code == 200


# --- the OpenAPI document -----------------------------------------------------------


def test_the_schema_says_the_certificate_is_a_pdf(client):
    """GET /cases/{id}/certificate answers a PDF, and the document says so: a
    generated client would otherwise expect nothing, or JSON."""
    schema = client.get(f"{BASE}/openapi.json").json()
    ok = schema["paths"][f"{BASE}/cases/{{case_id}}/certificate"]["get"]["responses"]["200"]
    assert ok["content"] == {"application/pdf": {"schema": {"type": "string",
                                                             "format": "binary"}}}


def test_the_schema_says_a_revocation_needs_its_reason(client):
    """The revocation's reason is required by the service (400 cases.no_reason);
    its body's schema says so, rather than offering "" as a default to accept."""
    schema = client.get(f"{BASE}/openapi.json").json()
    body = schema["paths"][f"{BASE}/certificates/{{number}}/revoke"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["allOf"][0]["$ref"]
    reason = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["reason"]
    assert reason["description"].startswith("required")


def test_the_schema_says_a_file_is_checked_as_multipart(client):
    """POST /certificates/verify/{token} takes the file as the page's form sends
    it, and answers what the GET answers: a generated client sends a binary
    ``file`` and reads a VerificationOut."""
    schema = client.get(f"{BASE}/openapi.json").json()
    path = schema["paths"][f"{BASE}/certificates/verify/{{token}}"]
    body = path["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["file"] == {"format": "binary", "title": "File",
                                          "type": "string"}
    assert body["required"] == ["file"]
    answers = [op["responses"]["200"]["content"]["application/json"]["schema"]
               for op in path.values()]
    assert answers == [{"$ref": "#/components/schemas/VerificationOut"}] * 2
    assert "413 `cases.upload_too_big`" in path["post"]["description"]


def test_a_non_finite_number_in_the_data_is_a_400(world, promised, client_for):
    """Python's JSON reader takes NaN; the service refuses it instead of a 500."""
    client = client_for(world.citizen)
    body = json.dumps({"impl_code": promised.item.impl_code,
                       "applicant_id": world.applicant.pk, "data": {"area": 0}})
    body = body.replace('"area": 0', '"area": NaN')
    with nothing_written():
        response = client.post(f"{BASE}/cases", body, content_type="application/json")
    _error(response, 400, "core.invalid_input")


def test_form_problems_are_worded_in_each_language(world, client_for):
    """message_zh is Chinese throughout and message_en English, whatever the request's."""
    from tests.cases.helpers import publish_item

    version = publish_item(world, name="带表单的许可",
                           form_fields=[{"name": "area", "label": "经营面积",
                                         "type": "number", "required": True}])
    client = client_for(world.citizen)
    for language in ("zh-hans", "en"):
        response = client.post(f"{BASE}/cases", json.dumps(
            {"impl_code": version.item.impl_code, "applicant_id": world.applicant.pk,
             "data": {}}), content_type="application/json", HTTP_ACCEPT_LANGUAGE=language)
        body = _error(response, 400, "core.invalid_input")
        assert "经营面积" in body["message_zh"], body
        assert not re.search(r"请填写|申请信息", body["message_en"]), body["message_en"]


def test_my_cases_are_paged_to_the_last(world, promised, client_for):
    """limit and offset reach every case; a limit beyond the maximum is refused."""
    from yizhan.cases import services as case_services

    for number in range(7):
        case_services.case_create(actor=world.citizen, item_version=promised,
                                  applicant=world.applicant, idempotency_key=f"k{number}")
    client = client_for(world.citizen)
    pages = [client.get(f"{BASE}/cases/mine", {"limit": 3, "offset": offset}).json()
             for offset in (0, 3, 6)]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert len({case["id"] for page in pages for case in page}) == 7
    _error(client.get(f"{BASE}/cases/mine", {"limit": 501}), 400, "core.invalid_input")


def test_the_schema_names_the_three_decisions(client):
    """A generated client is offered approve, reject and not_accept (不予受理 where
    acceptance is decided), the three the service takes."""
    schema = client.get(f"{BASE}/openapi.json").json()
    decision = schema["components"]["schemas"]["DecisionIn"]["properties"]["decision"]
    assert decision["enum"] == ["approve", "reject", "not_accept"]


# --- the applicant's side, as a client written from the OpenAPI document sees it ---


def test_the_guide_gives_each_material_the_id_an_upload_names(world, promised, client_for):
    """POST /cases/{id}/materials takes a material_id; the public guide is where a
    client learns the materials, so each material there carries it."""
    guide = Client().get(f"{BASE}/catalog/items/{promised.item.impl_code}").json()
    citizen = client_for(world.citizen)
    case_id = _create(citizen, world, promised).json()["id"]
    assert [m["id"] for m in guide["materials"]] == list(
        promised.materials.order_by("order").values_list("pk", flat=True))
    for material in guide["materials"]:
        response = citizen.post(f"{BASE}/cases/{case_id}/materials",
                                {"material_id": material["id"],
                                 "file": SimpleUploadedFile("a.pdf", PDF)})
        assert response.status_code == 201, response.content


def test_the_case_answer_lists_the_draft_s_answers_materials_and_files(world, promised,
                                                                        client_for):
    """A client continuing a draft (another device, after a crash) learns from
    GET /cases/{id} the answers saved, the materials, and which are uploaded."""
    citizen = client_for(world.citizen)
    case_id = _create(citizen, world, promised).json()["id"]
    first, second, optional = promised.materials.order_by("order")
    assert _upload(citizen, case_id, first).status_code == 201
    assert _upload(citizen, case_id, second, PNG, "执照.png").status_code == 201
    detail = citizen.get(f"{BASE}/cases/{case_id}").json()
    assert detail["data"] == {"shop_name": "张记"}
    assert detail["materials"] == [
        {"id": m.pk, "order": m.order, "name": m.name, "necessity": m.necessity}
        for m in (first, second, optional)]
    assert [(f["material_id"], f["original_name"], f["content_type"], f["replaced"])
            for f in detail["files"]] == [(first.pk, "申请书.pdf", "application/pdf", False),
                                          (second.pk, "执照.png", "image/png", False)]
    record = MaterialFile.objects.get(case_id=case_id, material=first)
    assert detail["files"][0] | {"id": 0} == {
        "id": 0, "material_id": first.pk, "original_name": "申请书.pdf",
        "content_type": "application/pdf", "size": len(PDF), "digest": record.digest,
        "replaced": False}
    # A file uploaded again replaces the draft's: one file per material.
    assert _upload(citizen, case_id, first, PNG, "申请书.png").status_code == 201
    files = citizen.get(f"{BASE}/cases/{case_id}").json()["files"]
    assert [f["original_name"] for f in files] == ["申请书.png", "执照.png"]


def test_the_case_answer_reads_its_files_in_a_fixed_number_of_queries(world, client_for):
    """Five files cost the answer no more queries than one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yizhan.cases import services as case_services

    version = publish_item(world, name="五份材料的许可", materials=[
        {"name": f"材料{n}", "forms": ["original"]} for n in range(1, 6)])
    materials = list(version.materials.order_by("order"))
    one = draft(world, version, key="one", files=False)
    five = draft(world, version, key="five", files=False)
    for case, count in ((one, 1), (five, 5)):
        for material in materials[:count]:
            case_services.material_upload(actor=world.citizen, case=case,
                                          material_id=material.pk, upload=upload())
    citizen = client_for(world.citizen)
    citizen.get(f"{BASE}/cases/{one.pk}")   # the session and caches, read once

    def read(case):
        with CaptureQueriesContext(connection) as queries:
            response = citizen.get(f"{BASE}/cases/{case.pk}")
        assert response.status_code == 200, response.content
        return len(response.json()["files"]), len(queries)

    (files_of_one, queries_of_one), (files_of_five, queries_of_five) = read(one), read(five)
    assert (files_of_one, files_of_five) == (1, 5)
    assert queries_of_five == queries_of_one


def test_the_applicant_is_not_shown_staff_sign_in_names(world, promised, client_for):
    """The applicant's page names the agency and the step, never the staff member;
    the API's timeline gave the clerk's sign-in name (half of a credential) and,
    for a claim released, the holder's user id (claimed_by).  Staff of the case's
    agency still read both."""
    from yizhan.cases import services as case_services

    case = accepted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    reviewer = world.user("a", Role.REVIEWER)
    review = open_task(case, "review")
    assert _post(client_for(reviewer), f"{BASE}/tasks/{review.pk}/claim").status_code == 200
    case_services.task_release(actor=reviewer, task=open_task(case, "review"))
    detail = client_for(world.citizen).get(f"{BASE}/cases/{case.pk}").json()
    shown = json.dumps(detail, ensure_ascii=False)
    for user in (clerk, reviewer):
        assert user.username not in shown, [(e["type"], e["actor_label"])
                                            for e in detail["timeline"]]
    assert "claimed_by" not in shown
    assert all(e["actor_label"] is None and e["data"] is None for e in detail["timeline"])
    accepted_event = next(e for e in detail["timeline"] if e["type"] == E.ACCEPTED)
    assert (accepted_event["agency"], accepted_event["step"]) == ("甲局", "受理")
    staff = client_for(clerk).get(f"{BASE}/cases/{case.pk}").json()["timeline"]
    assert {e["actor_label"] for e in staff} >= {clerk.username, reviewer.username}
    release = next(e for e in staff if e["type"] == E.TASK_RELEASED)
    assert release["data"]["claimed_by"] == reviewer.pk


def test_no_answer_holding_events_shows_the_applicant_staff_sign_in_names(world, promised,
                                                                        client_for):
    """The monitoring points answer the case's events as the timeline does: the
    applicant, who may read them, is not answered who acted; the supervision
    office is."""
    case = accepted(world, promised)
    clerk = world.user("a", Role.WINDOW_CLERK)
    url = f"{BASE}/supervision/cases/{case.pk}/monitoring"
    points = client_for(world.citizen).get(url).json()["points"]
    assert points and all(p["actor_label"] is None and p["data"] is None for p in points)
    assert clerk.username not in json.dumps(points, ensure_ascii=False)
    officer = client_for(world.user("a", Role.SUPERVISION_OFFICER)).get(url).json()["points"]
    assert clerk.username in {p["actor_label"] for p in officer}


def test_the_applicant_reads_the_opinion_and_the_correction_s_items(world, promised,
                                                                   client_for):
    """What the applicant's page shows of an event the applicant's timeline gives too."""
    case, _code = submitted(world, promised)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    [task] = _inbox(clerk)
    material = promised.materials.get(name="营业执照")
    assert _post(clerk, f"{BASE}/tasks/{task['id']}/correction",
                 {"items": [{"material_id": material.pk, "problem": "已过期"}],
                  "note": "请补正"}).status_code == 200
    timeline = client_for(world.citizen).get(f"{BASE}/cases/{case.pk}").json()["timeline"]
    [notice] = [e for e in timeline if e["type"] == E.CORRECTION_REQUESTED]
    assert notice["items"] == [{"name": "营业执照", "problem": "已过期"}]
    assert (notice["agency"], notice["actor_label"], notice["data"]) == ("甲局", None, None)


def test_the_applicant_reads_the_extension_s_days_and_reason(world, promised, client_for):
    """《行政许可法》第四十二条: the extension's reason is told to the applicant.  The
    API's timeline tells what the case page tells (``selectors.event_shown``): the
    extension's working days and reason and a review's decision; the request
    to the head and its refusal are the agency's, told to its staff only."""
    case = accepted(world, promised)
    head, reviewer = world.user("a", Role.AGENCY_HEAD), world.user("a", Role.REVIEWER)
    services.case_extension_request(actor=reviewer, case=case, workdays=5,
                                    reason="内部：等待专家")
    services.case_extension_decline(actor=head, case=case, note="内部：可按期办结")
    services.case_extend(actor=head, case=case, workdays=7, reason="需现场核查经营场所")
    complete(reviewer, case, "review", opinion="材料齐全")

    page = client_for(world.citizen).get(f"/my/cases/{case.pk}/").content.decode()
    assert "需现场核查经营场所" in page and "内部" not in page
    answer = client_for(world.citizen).get(f"{BASE}/cases/{case.pk}").json()
    by_type = {e["type"]: e for e in answer["timeline"]}
    told = {k: by_type[E.EXTENDED][k] for k in ("workdays", "reason", "note", "decision")}
    assert told == {"workdays": 7, "reason": "需现场核查经营场所", "note": "", "decision": ""}
    assert (by_type[E.REVIEWED]["decision"], by_type[E.REVIEWED]["opinion"]) == (
        "approve", "材料齐全")
    assert "内部" not in json.dumps(answer, ensure_ascii=False)
    assert (by_type[E.EXTENSION_REQUESTED]["workdays"],
            by_type[E.EXTENSION_REQUESTED]["reason"]) == (None, "")
    staff = {e["type"]: e for e in client_for(reviewer).get(
        f"{BASE}/cases/{case.pk}").json()["timeline"]}
    assert (staff[E.EXTENSION_REQUESTED]["workdays"],
            staff[E.EXTENSION_REQUESTED]["reason"]) == (5, "内部：等待专家")
    assert staff[E.EXTENSION_DECLINED]["note"] == "内部：可按期办结"
    staff_page = client_for(reviewer).get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "内部：等待专家" in staff_page and "内部：可按期办结" in staff_page


def test_missing_materials_are_listed_with_the_language_s_separator(world, promised,
                                                                    client_for):
    """docs/development.md: punctuation between values is translated ("、", context
    "list separator"); the English message listed the names with "、"."""
    case = draft(world, promised, files=False)
    body = _error(_post_en(client_for(world.citizen), f"{BASE}/cases/{case.pk}/submit"),
                  400, "cases.missing_materials")
    assert "申请书、营业执照" in body["message_zh"], body["message_zh"]
    assert "申请书, 营业执照" in body["message_en"], body["message_en"]
    assert body["message"] == body["message_en"]
    assert body["fields"]["missing"] == ["申请书", "营业执照"]


def test_field_names_refused_are_listed_with_the_language_s_separator(world, promised,
                                                                     client_for):
    with nothing_written():
        response = _post_en(client_for(world.citizen), f"{BASE}/cases", {
            "impl_code": promised.item.impl_code, "applicant_id": world.applicant.pk,
            "data": {"a-b": 1, "c d": 2}})
    body = _error(response, 400, "core.invalid_input")
    assert "a-b、c d" in body["message_zh"], body["message_zh"]
    assert "a-b, c d" in body["message_en"], body["message_en"]


def test_materials_to_upload_again_are_listed_with_the_language_s_separator(world, promised,
                                                                           client_for):
    case, _code = submitted(world, promised)
    clerk = client_for(world.user("a", Role.WINDOW_CLERK))
    [task] = _inbox(clerk)
    items = [{"material_id": m.pk, "problem": "不清晰"}
             for m in promised.materials.filter(name__in=["申请书", "营业执照"])]
    assert _post(clerk, f"{BASE}/tasks/{task['id']}/correction",
                 {"items": items}).status_code == 200
    body = _error(_post_en(client_for(world.citizen), f"{BASE}/cases/{case.pk}/correct"),
                  400, "cases.missing_materials")
    assert "申请书、营业执照" in body["message_zh"], body["message_zh"]
    assert "申请书, 营业执照" in body["message_en"], body["message_en"]


def _post_en(client, url, payload=None):
    return client.post(url, json.dumps(payload or {}), content_type="application/json",
                       HTTP_ACCEPT_LANGUAGE="en")


def test_step_titles_are_in_the_request_s_language(world, promised, client_for):
    """The pages show a standard step's title translated (the ``step`` filter,
    bpmn.templates.step_title); GET /cases/{id} in English gave 受理 and 审查."""
    from django.utils import translation

    from yizhan.bpmn.templates import step_title

    case = accepted(world, promised)
    citizen = client_for(world.citizen)
    english = citizen.get(f"{BASE}/cases/{case.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    with translation.override("en"):
        expected = [step_title(t) for t in ("受理", "审查")]
    assert expected != ["受理", "审查"]
    assert [t["title"] for t in english["tasks"]] == expected
    assert {e["step"] for e in english["timeline"] if e["step"]} <= set(expected)
    chinese = citizen.get(f"{BASE}/cases/{case.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert [t["title"] for t in chinese["tasks"]] == ["受理", "审查"]


def test_the_schema_says_what_the_applicant_is_not_answered(client):
    """The timeline is one schema: the staff-only fields are nullable, and say so."""
    schemas = client.get(f"{BASE}/openapi.json").json()["components"]["schemas"]
    event = schemas["EventOut"]
    for name in ("actor_label", "data"):
        assert {"type": "null"} in event["properties"][name]["anyOf"], event["properties"][name]
        assert event["properties"][name]["description"].startswith("staff only")
    assert set(event["required"]) >= {"agency", "step", "opinion", "items", "actor_label",
                                       "data"}
    assert {"data", "materials", "files"} <= set(schemas["CaseDetail"]["required"])
    assert "replaced" in schemas["CaseFileOut"]["properties"]
    assert "id" in schemas["GuideMaterialOut"]["required"]


def test_a_clerk_moved_to_another_agency_s_window_no_longer_reaches_a_s_cases(
        world, promised, client_for):
    """A's clerk files a walk-in case, then is moved to B's window (调岗): the hold
    on the walk-in cases they filed ends with the post at A's window, so as B's
    clerk they neither read A's case nor withdraw the applicant's application."""
    from tests.cases.helpers import walk_in_case
    from yizhan.accounts.models import User
    from yizhan.directory import services as directory_services

    clerk = world.user("a", Role.WINDOW_CLERK)
    case, _code = walk_in_case(world, promised)
    directory_services.staff_post(actor=world.admin, user=clerk,
                                  post=world.posts["b"][Role.WINDOW_CLERK])
    directory_services.staff_unpost(actor=world.admin, user=clerk,
                                    post=world.posts["a"][Role.WINDOW_CLERK])
    moved = client_for(User.objects.get(pk=clerk.pk))

    _error(moved.get(f"{BASE}/cases/{case.pk}"), 404, "core.not_found")
    with nothing_written():
        _error(_post(moved, f"{BASE}/cases/{case.pk}/withdraw", {"reason": "乙局窗口撤回"}),
               404, "core.not_found")
    assert reload(case).status == "submitted"
    assert moved.get(f"{BASE}/cases/mine").json() == []


def test_my_cases_does_not_list_what_a_former_clerk_filed(world, promised, client_for):
    """After the post at the window ended, GET /cases/mine no longer lists the
    walk-in applicant's case (name, number, status, outcome and its reasons),
    as GET /cases/{id} of the same case is refused."""
    from tests.cases.helpers import walk_in_case
    from yizhan.accounts.models import User
    from yizhan.directory import services as directory_services

    clerk = world.user("a", Role.WINDOW_CLERK)
    case, _code = walk_in_case(world, promised)
    assert [row["id"] for row in client_for(clerk).get(f"{BASE}/cases/mine").json()] == [
        case.pk]
    directory_services.staff_unpost(actor=world.admin, user=clerk,
                                    post=world.posts["a"][Role.WINDOW_CLERK])
    former = client_for(User.objects.get(pk=clerk.pk))

    _error(former.get(f"{BASE}/cases/{case.pk}"), 404, "core.not_found")
    mine = former.get(f"{BASE}/cases/mine")
    assert mine.status_code == 200
    assert [row["number"] for row in mine.json()] == []
