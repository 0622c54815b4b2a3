"""Who sees which case: agencies, joint agencies, applicants, and the public query."""

import pytest
from django.test import Client

from tests.cases.helpers import another_citizen, complete, publish_item, submitted
from yizhan.cases import selectors
from yizhan.cases.models import StatusQueryFailure
from yizhan.core.errors import InvalidInput, NotFound
from yizhan.directory.roles import Role


@pytest.fixture
def cases(world, promised):
    """A promised case of A only, and a parallel case of A with B as joint agency."""
    own, _code = submitted(world, promised)
    parallel_item = publish_item(world, name="并联许可", process_template="parallel",
                                 joint_agencies=[world.agency_b.name])
    joint, _code = submitted(world, parallel_item)
    return own, joint


@pytest.mark.parametrize("role", [Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD])
def test_another_agency_never_sees_a_case_it_has_no_task_in(world, cases, role):
    """B's staff cannot open A's case, and it is not in B's list."""
    own, _joint = cases
    with pytest.raises(NotFound):
        selectors.case_get_for_actor(actor=world.user("b", role), case_id=own.pk)
    assert own not in selectors.agency_cases(actor=world.user("b", role))


def test_a_joint_agency_sees_the_case_once_it_holds_a_task(world, cases):
    """Before acceptance B has no task and sees nothing; after it, B's reviewer sees the case."""
    own, joint = cases
    b_reviewer = world.user("b", Role.REVIEWER)
    with pytest.raises(NotFound):
        selectors.case_get_for_actor(actor=b_reviewer, case_id=joint.pk)
    complete(world.user("a", Role.WINDOW_CLERK), joint, "accept")
    assert selectors.case_get_for_actor(actor=b_reviewer, case_id=joint.pk) == joint
    assert list(selectors.agency_cases(actor=b_reviewer)) == [joint]
    with pytest.raises(NotFound):
        selectors.case_get_for_actor(actor=b_reviewer, case_id=own.pk)


@pytest.mark.parametrize("role", list(Role))
def test_the_list_and_the_case_agree_for_every_role_of_a_joint_agency(world, cases, role):
    """A case listed for B's staff opens for them, and one that does not open is not listed."""
    _own, joint = cases
    complete(world.user("a", Role.WINDOW_CLERK), joint, "accept")
    user = world.user("b", role)
    listed = joint in selectors.agency_cases(actor=user)
    try:
        selectors.case_get_for_actor(actor=user, case_id=joint.pk)
        opens = True
    except NotFound:
        opens = False
    assert listed is opens


def test_the_accepting_agency_sees_all_its_cases(world, cases):
    """A's staff list both of A's cases, newest first; drafts are not listed."""
    own, joint = cases
    listed = list(selectors.agency_cases(actor=world.user("a", Role.REVIEWER)))
    assert listed == [joint, own]
    assert list(selectors.agency_cases(actor=world.user("a", Role.REVIEWER),
                                       status="submitted")) == [joint, own]
    assert list(selectors.agency_cases(actor=world.user("a", Role.REVIEWER),
                                       status="closed")) == []


@pytest.mark.parametrize("role", [Role.WINDOW_CLERK, Role.REVIEWER, Role.AGENCY_HEAD])
def test_a_draft_and_its_files_stay_the_applicant_s_until_submitted(
        world, promised, client_for, role):
    """Not listed, and not opened either, by page, API or file link."""
    from tests.cases.helpers import draft
    from yizhan.cases.models import MaterialFile

    case = draft(world, promised)
    staff = world.user("a", role)
    with pytest.raises(NotFound):
        selectors.case_get_for_actor(actor=staff, case_id=case.pk)
    client = client_for(staff)
    file = MaterialFile.objects.filter(case=case).first()
    for url in (f"/workbench/cases/{case.pk}/", f"/api/v1/cases/{case.pk}",
                f"/files/{file.pk}/"):
        assert client.get(url).status_code == 404, url
    assert selectors.case_get_for_actor(actor=world.citizen, case_id=case.pk) == case


@pytest.mark.parametrize("who", ["stranger", "reviewer of B", "reviewer of A", "anonymous"])
def test_nobody_but_the_applicant_acts_on_the_applicant_s_pages(
        world, promised, client_for, who):
    """Every applicant route, on a submitted case under correction and on a draft,
    tried by another citizen, staff of another agency, staff of the case's own
    agency and a visitor not signed in: nothing is written, and nothing is shown
    but the submitted case's files to its own agency's staff (a visitor is sent
    to sign in)."""
    from tests.cases.helpers import draft, nothing_written, open_task
    from yizhan.cases import services
    from yizhan.cases.models import MaterialFile

    case, _code = submitted(world, promised)
    unsent = draft(world, promised)
    services.case_request_correction(
        actor=world.user("a", Role.WINDOW_CLERK), task=open_task(case),
        items=[{"material_id": promised.materials.get(name="营业执照").pk, "problem": "不清晰"}])
    user = {"stranger": lambda: another_citizen()[0],
            "reviewer of B": lambda: world.user("b", Role.REVIEWER),
            "reviewer of A": lambda: world.user("a", Role.REVIEWER),
            "anonymous": lambda: None}[who]()
    client = client_for(user)
    shown = {f"/files/{MaterialFile.objects.filter(case=case).first().pk}/"
             } if who == "reviewer of A" else set()
    for target in (case, unsent):
        for method, path in (
                ("get", f"/my/cases/{target.pk}/"), ("post", f"/my/cases/{target.pk}/"),
                ("post", f"/my/cases/{target.pk}/withdraw/"),
                ("post", f"/my/cases/{target.pk}/submit/"),
                ("post", f"/my/cases/{target.pk}/correct/"),
                ("get", f"/my/cases/{target.pk}/certificate/"),
                ("get", f"/files/{MaterialFile.objects.filter(case=target).first().pk}/")):
            with nothing_written():
                response = getattr(client, method)(path, {"action": "reissue_query_code"})
            if user is None:
                assert response["Location"].startswith("/accounts/login/"), path
            elif path in shown:
                assert response.status_code == 200, path
            else:
                # 404, or back to the case page (itself 404 to them) for a
                # submission or correction of a case not in that state.
                assert response.status_code in (302, 404), (path, response.status_code)
                if response.status_code == 302:
                    assert client.get(response["Location"]).status_code == 404, path


def test_a_citizen_sees_only_their_own_cases(world, cases):
    """Another citizen finds neither case; the applicant finds both."""
    own, joint = cases
    stranger, _applicant = another_citizen()
    for case in cases:
        with pytest.raises(NotFound):
            selectors.case_get_for_actor(actor=stranger, case_id=case.pk)
        assert selectors.case_get_for_actor(actor=world.citizen, case_id=case.pk) == case
    assert list(selectors.cases_of_applicant_user(user=stranger)) == []
    assert set(selectors.cases_of_applicant_user(user=world.citizen)) == {own, joint}


def test_a_citizen_sees_no_task_of_anyone(world, cases):
    """A citizen's inbox is empty."""
    assert list(selectors.inbox(actor=world.citizen)) == []


# --- status by number and query code ---------------------------------------------------


def test_status_by_number_and_code(world, promised):
    """The number and the code shown once give the case and its timeline."""
    case, code = submitted(world, promised)
    found = selectors.case_by_query_code(number=case.number, code=code)
    assert found == case
    assert [e.type for e in found.timeline] == ["cases.submitted"]


def test_a_wrong_code_and_a_wrong_number_give_the_same_answer(world, promised):
    """Nobody can tell a real number from a wrong one by the message."""
    case, code = submitted(world, promised)
    wrong_code = f"{(int(code) + 1) % 10**8:08d}"
    with pytest.raises(NotFound) as by_code:
        selectors.case_by_query_code(number=case.number, code=wrong_code)
    with pytest.raises(NotFound) as by_number:
        selectors.case_by_query_code(number="44990020269999999999", code=code)
    assert by_code.value.render() == by_number.value.render() == "办件编号或查询码不正确。"
    with pytest.raises(InvalidInput):
        selectors.case_by_query_code(number=case.number, code="abc")


def test_status_pages_and_api_without_login(world, promised):
    """/status/ and GET /api/v1/cases/status work without signing in; wrong code is 404."""
    case, code = submitted(world, promised)
    client = Client()
    assert client.get("/status/").status_code == 200
    page = client.post("/status/", {"number": case.number, "code": code})
    assert page.status_code == 200
    assert case.number in page.content.decode() and "待受理" in page.content.decode()
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    bad = client.post("/status/", {"number": case.number, "code": wrong})
    assert bad.status_code == 404 and "办件编号或查询码不正确" in bad.content.decode()
    body = client.get("/api/v1/cases/status", {"number": case.number, "code": code}).json()
    assert (body["number"], body["status"]) == (case.number, "submitted")
    assert [e["type"] for e in body["timeline"]] == ["cases.submitted"]
    wrong_code = client.get("/api/v1/cases/status", {"number": case.number, "code": wrong})
    wrong_number = client.get("/api/v1/cases/status",
                              {"number": "44990020269999999999", "code": code})
    assert wrong_code.status_code == wrong_number.status_code == 404
    assert wrong_code.json()["message"] == wrong_number.json()["message"]
    assert wrong_code.json()["code"] == wrong_number.json()["code"]


def test_status_by_post_keeps_the_code_out_of_the_url(world, promised):
    """POST /api/v1/cases/status takes the number and the code in the JSON body
    (a code in a URL ends up in logs); it answers as the GET does, throttled alike."""
    case, code = submitted(world, promised)
    client = Client()
    url = "/api/v1/cases/status"
    body = client.post(url, {"number": case.number, "code": code},
                       content_type="application/json").json()
    assert body == client.get(url, {"number": case.number, "code": code}).json()
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    refused = client.post(url, {"number": case.number, "code": wrong},
                          content_type="application/json")
    assert refused.status_code == 404
    assert refused.json()["code"] == client.get(
        url, {"number": case.number, "code": wrong}).json()["code"]
    assert StatusQueryFailure.objects.count() == 2


@pytest.mark.django_db
def test_status_query_is_throttled_and_shows_no_staff(world, promised):
    """Ten wrong codes from one address lock it out; the answer names no staff."""
    case, code = submitted(world, promised)
    client = Client(REMOTE_ADDR="10.1.2.3")
    for _ in range(10):
        response = client.get("/api/v1/cases/status", {"number": case.number, "code": "1"})
        assert response.status_code == 404
    locked = client.get("/api/v1/cases/status", {"number": case.number, "code": code})
    assert locked.status_code == 429
    # The refused try is no wrong code: it leaves the ten as they were.
    assert StatusQueryFailure.objects.filter(ip="10.1.2.3").count() == 10
    other = Client(REMOTE_ADDR="10.1.2.4").get("/api/v1/cases/status",
                                               {"number": case.number, "code": code})
    assert other.status_code == 200
    body = other.json()
    assert "tasks" not in body and all(set(e) == {"type", "label", "at"}
                                       for e in body["timeline"])


@pytest.mark.django_db
def test_status_query_counts_an_ipv6_client_by_its_64(world, promised):
    """A new address of the same /64 for every try is still one client."""
    case, code = submitted(world, promised)
    answers = [Client(REMOTE_ADDR=f"2001:db8:1:2::{i:x}").get(
        "/api/v1/cases/status", {"number": case.number, "code": "1"}).status_code
        for i in range(1, 12)]
    assert answers == [404] * 10 + [429]
    other = Client(REMOTE_ADDR="2001:db8:1:3::1").get(
        "/api/v1/cases/status", {"number": case.number, "code": code})
    assert other.status_code == 200


@pytest.mark.django_db
def test_status_query_limits_tries_on_one_number_from_anywhere(world, promised):
    """Thirty wrong codes on one case number, from thirty addresses, lock that
    number's public query; other numbers answer as before."""
    case, code = submitted(world, promised)
    other_case, other_code = submitted(world, promised)
    for i in range(30):
        response = Client(REMOTE_ADDR=f"10.9.{i}.1").get(
            "/api/v1/cases/status", {"number": case.number, "code": "1"})
        assert response.status_code == 404
    fresh = Client(REMOTE_ADDR="10.200.0.1")
    assert fresh.get("/api/v1/cases/status",
                     {"number": case.number, "code": code}).status_code == 429
    assert fresh.get("/api/v1/cases/status",
                     {"number": other_case.number, "code": other_code}).status_code == 200


def test_the_public_status_page_masks_a_person_and_leaves_out_the_answers(world, client_for):
    """Whoever holds the number and code sees the status, not the applicant's full
    name or what they answered; the applicant's own page shows both."""
    version = publish_item(world, name="带表单的许可",
                           form_fields=[{"name": "area", "label": "经营面积",
                                         "type": "number", "required": True}])
    case, code = submitted(world, version, data={"area": 88})
    page = Client().post("/status/", {"number": case.number, "code": code}).content.decode()
    name = world.applicant.name
    assert name not in page and f"{name[0]}{'*' * (len(name) - 1)}" in page
    assert "经营面积" not in page
    own = client_for(world.citizen).get(f"/my/cases/{case.pk}/").content.decode()
    assert name in own and "经营面积" in own


def test_staff_do_not_see_a_draft_the_applicant_withdrew(world, promised, client_for):
    """docs/cases.md: "Staff do not see a draft, nor its files, until it is
    submitted."  A draft withdrawn without ever being submitted (我要撤回 is
    offered on a draft's page) is still no application: the accepting agency's
    staff neither list it, open it, nor download the ID scans it holds, and it
    is counted in no figure of the agency's work."""
    from tests.cases.helpers import draft
    from yizhan.cases import services
    from yizhan.cases.models import MaterialFile
    from yizhan.supervision.selectors import coverage

    case = draft(world, promised)
    services.case_withdraw(actor=world.citizen, case=case, reason="不办了")
    record = MaterialFile.objects.filter(case=case).first()
    reviewer = client_for(world.user("a", Role.REVIEWER))

    seen = {
        "listed": f"/workbench/cases/{case.pk}/" in reviewer.get("/workbench/cases/")
        .content.decode(),
        "case page": reviewer.get(f"/workbench/cases/{case.pk}/").status_code,
        "file": reviewer.get(f"/files/{record.pk}/").status_code,
        "api": reviewer.get(f"/api/v1/cases/{case.pk}").status_code,
    }
    assert seen == {"listed": False, "case page": 404, "file": 404, "api": 404}
    counted = {row.agency_id: row.cases for row in coverage(actor=world.admin)}
    assert counted.get(world.agency_a.pk, 0) == 0
