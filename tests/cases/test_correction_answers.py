"""A correction notice that lists answers of the application form (申请书).

The application form is part of the application: an answer that is wrong or
incomplete is told in the one correction notice (一次性告知) with the
materials, and the applicant gives it again when correcting.  The process's
conditions then read the corrected answer, also after a later return.
"""

import json

import pytest

from tests.cases.helpers import (
    audit_actions,
    complete,
    nothing_written,
    open_task,
    publish_item,
    reload,
    submitted,
    upload,
)
from tests.cases.test_processes import AREA_FIELD, _area_process
from yizhan.audit.models import AuditRecord
from yizhan.cases import services
from yizhan.cases.actions import CasesAction
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, EventType
from yizhan.core.errors import Conflict, InvalidInput
from yizhan.directory.roles import Role

BASE = "/api/v1"
SCOPE = {"name": "scope", "label": "经营范围", "type": "text", "required": True}


@pytest.fixture
def routed(world):
    """An item whose process sends a shop over 500 m² to 重大项目审查."""
    return publish_item(world, name="面积分流许可", process_template="custom",
                        process_xml=_area_process("area is not None and area > 500"),
                        form_fields=[AREA_FIELD, SCOPE])


def _clerk(world):
    return world.user("a", Role.WINDOW_CLERK)


def _notify(world, case, items, note=""):
    return services.case_request_correction(actor=_clerk(world), task=open_task(case),
                                            items=items, note=note)


def _material(version):
    return version.materials.order_by("order").first()


def test_the_notice_lists_an_answer_and_the_correction_gives_it_again(world, routed):
    case, _code = submitted(world, routed, data={"area": "80", "scope": "餐饮"})
    material = _material(routed)
    notice = _notify(world, case, [
        {"material_id": material.pk, "problem": "未盖章"},
        {"field": "area", "problem": "面积与房产证不符"}])
    assert notice.items == [
        {"material_id": material.pk, "name": material.name, "problem": "未盖章"},
        {"field": "area", "name": "经营面积", "problem": "面积与房产证不符"}]
    case = reload(case)

    # Nothing is taken until everything listed is given again.
    services.material_upload(actor=world.citizen, case=case, material_id=material.pk,
                             upload=upload())
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_correct(actor=world.citizen, case=reload(case))
    assert exc.value.code == CasesErrorCode.MISSING_MATERIALS
    assert "经营面积" in exc.value.render("zh-hans")
    assert exc.value.fields["problems"] == {"area": "请重新填写此项。"}
    # Only what the notice lists may change: the rest was accepted as it stands.
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.case_correct(actor=world.citizen, case=reload(case),
                              data={"area": "800", "scope": "零售"})
    assert exc.value.code == CasesErrorCode.NOT_IN_NOTICE
    assert "经营范围" in exc.value.render("zh-hans")
    # The answer is checked as at submission.
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.case_correct(actor=world.citizen, case=reload(case), data={"area": "很大"})
    assert "area" in exc.value.fields["problems"]

    services.case_correct(actor=world.citizen, case=reload(case), data={"area": "800"})
    case = reload(case)
    assert case.status == Case.Status.SUBMITTED
    assert case.data == {"area": 800, "scope": "餐饮"}
    submitted_event = case.events.get(type=EventType.CORRECTION_SUBMITTED)
    assert submitted_event.data == {"materials": [material.pk], "fields": ["area"]}
    record = AuditRecord.objects.filter(action=CasesAction.CORRECTION_SUBMITTED).get()
    assert record.changes == {"data.area": [80, 800]}
    assert CasesAction.CORRECTION_SUBMITTED in audit_actions(case)

    # The process routes by the corrected answer, and still does after a
    # return to the window (the step comes back with the data it had).
    complete(_clerk(world), case, "accept")
    assert open_task(reload(case)).name == "review_big"
    services.task_return(actor=world.user("a", Role.REVIEWER),
                         task=open_task(reload(case)), opinion="请窗口核实")
    complete(_clerk(world), reload(case), "accept")
    assert open_task(reload(case)).name == "review_big"


def test_a_notice_entry_must_name_a_field_of_the_form_and_its_problem(world, routed):
    case, _code = submitted(world, routed, data={"area": "80", "scope": "餐饮"})
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _notify(world, case, [{"field": "owner", "problem": "不对"}])
    assert "申请信息" in exc.value.render("zh-hans")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _notify(world, case, [{"field": "area", "problem": " "}])
    assert exc.value.fields["form_field"] == "area"
    assert "经营面积" in exc.value.render("zh-hans")
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        _notify(world, case, [{"field": "area", "problem": "不符"},
                              {"field": "area", "problem": "另一问题"}])
    assert "不止一次" in exc.value.render("zh-hans")
    # Sent again as sent (a double click): the notice sent.
    first = _notify(world, case, [{"field": "scope", "problem": "不规范"}])
    assert _notify(world, reload(case), [{"field": "scope", "problem": "不规范"}]) == first


def test_the_pages_list_an_answer_in_the_notice_and_take_it_corrected(world, routed,
                                                                       client_for):
    case, _code = submitted(world, routed, data={"area": "80", "scope": "餐饮"})
    clerk = client_for(_clerk(world))
    task = open_task(case)
    page = clerk.get(f"/workbench/tasks/{task.pk}/").content.decode()
    assert 'name="listed_field_scope"' in page and "餐饮" in page
    # Ticked without a problem: refused at the field's own problem.
    response = clerk.post(f"/workbench/tasks/{task.pk}/correction/",
                          {"version": task.version, "listed_field_scope": "1"})
    assert response.status_code == 400
    assert 'id="problem-field-scope" name="problem_field_scope"' in response.content.decode()
    assert 'aria-describedby="problem-field-scope-error"' in response.content.decode()
    response = clerk.post(f"/workbench/tasks/{task.pk}/correction/",
                          {"version": task.version, "listed_field_scope": "1",
                           "problem_field_scope": "请按营业执照填写"})
    assert response.status_code == 302
    notice = reload(case).correction
    assert notice.items == [{"field": "scope", "name": "经营范围",
                             "problem": "请按营业执照填写"}]

    citizen = client_for(world.citizen)
    mine = citizen.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'name="field_scope"' in mine and 'value="餐饮"' in mine
    assert "请按营业执照填写" in mine
    # A blank answer is refused, and the page keeps nothing it should not.
    citizen.post(f"/my/cases/{case.pk}/correct/", {"field_scope": ""})
    assert reload(case).status == Case.Status.CORRECTION
    again = citizen.get(f"/my/cases/{case.pk}/").content.decode()
    assert 'id="f-scope-error"' in again
    citizen.post(f"/my/cases/{case.pk}/correct/", {"field_scope": "餐饮服务；预包装食品销售"})
    case = reload(case)
    assert case.status == Case.Status.SUBMITTED
    assert case.data["scope"] == "餐饮服务；预包装食品销售"
    printed = citizen.get(f"/cases/{case.pk}/correction-notice/").content.decode()
    assert "经营范围" in printed and "请按营业执照填写" in printed


def test_the_api_lists_an_answer_in_the_notice_and_takes_it_corrected(world, routed,
                                                                     client_for):
    case, _code = submitted(world, routed, data={"area": "80", "scope": "餐饮"})
    clerk = client_for(_clerk(world))
    response = clerk.post(f"{BASE}/tasks/{open_task(case).pk}/correction", json.dumps(
        {"items": [{"field": "area", "problem": "面积与房产证不符"}]}),
        content_type="application/json")
    assert response.status_code == 200, response.content
    citizen = client_for(world.citizen)
    assert citizen.get(f"{BASE}/cases/{case.pk}").json()["correction"] == [
        {"field": "area", "name": "经营面积", "problem": "面积与房产证不符"}]
    response = citizen.post(f"{BASE}/cases/{case.pk}/correct", json.dumps({}),
                            content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == CasesErrorCode.MISSING_MATERIALS
    response = citizen.post(f"{BASE}/cases/{case.pk}/correct",
                            json.dumps({"data": {"area": 650}}),
                            content_type="application/json")
    assert response.status_code == 200, response.content
    assert reload(case).data["area"] == 650



def test_the_applicant_is_told_the_answers_to_correct(
        world, routed, django_capture_on_commit_callbacks):
    """The notice told by e-mail names the answers as it names the materials,
    as 内容 (the law's word, 需要补正的全部内容), not as 材料."""
    from django.core import mail

    from tests.cases.helpers import reachable

    reachable(world.citizen)
    case, _code = submitted(world, routed, data={"area": "80", "scope": "餐饮"})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _notify(world, case, [{"field": "scope", "problem": "不规范"}])
    [message] = [m for m in mail.outbox if m.to == [world.citizen.email]]
    assert f"办件 {case.number} 需要补正以下内容：经营范围。" in message.body
