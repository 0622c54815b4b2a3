"""The case engine and an item taken out of service (取消 / 暂停办理).

From the decision on, nothing new is taken in: no application is started
(``case_create`` refuses with ``cases.item_withdrawn``, naming the
decision) and no draft saved before is submitted.  Cases already submitted
go on to the end, certificate included.  The catalog's side is in
tests/catalog/test_withdrawal.py.
"""

import json

import pytest
from django.test import Client

from tests.api import api_error
from tests.cases.helpers import complete, draft, nothing_written, reload, submitted
from yizhan.cases import services
from yizhan.cases.error_codes import CasesErrorCode
from yizhan.cases.models import Case, Certificate
from yizhan.catalog import services as catalog_services
from yizhan.core.errors import InvalidInput
from yizhan.directory.roles import Role

pytestmark = pytest.mark.django_db

DECISION = "国务院关于取消一批行政许可事项的决定（国发〔2026〕5号）"
SUSPENSION = "示范市人民政府关于暂停办理部分事项的通知（示政发〔2026〕12号）"


def _withdraw(world, version, kind="cancelled", reason=DECISION):
    return catalog_services.item_withdraw(actor=world.user("a", Role.DATA_OFFICER),
                                          item=version.item, kind=kind, reason=reason)


@pytest.mark.parametrize("kind, reason, words", [
    ("cancelled", DECISION, "取消"), ("suspended", SUSPENSION, "起暂停办理")])
def test_no_application_is_started_on_a_withdrawn_item(world, promised, kind, reason, words):
    """Even with the version in hand (a page loaded before the decision, an API
    client): refused, naming the decision, in Chinese and English alike, and
    nothing is written; a window clerk's walk-in application too."""
    item = _withdraw(world, promised, kind=kind, reason=reason)
    for actor in (world.citizen, world.user("a", Role.WINDOW_CLERK)):
        with nothing_written(), pytest.raises(InvalidInput) as refused:
            services.case_create(actor=actor, item_version=promised,
                                 applicant=world.applicant)
        assert refused.value.code == CasesErrorCode.ITEM_WITHDRAWN
        message = refused.value.render("zh-hans")
        assert message.startswith(f"该事项{'已于' if kind == 'cancelled' else '自'} "
                                  f"{item.withdrawn_on} ")
        assert words in message and reason in message and "现在不能提出申请" in message
        assert reason in refused.value.render("en")
        assert refused.value.fields["decision"] == reason
        assert refused.value.fields["withdrawn_kind"] == kind
    assert not Case.objects.exists()


def test_the_api_refuses_an_application_naming_the_decision(world, promised, client_for):
    _withdraw(world, promised)
    with nothing_written():
        response = client_for(world.citizen).post(
            "/api/v1/cases", json.dumps({"impl_code": promised.item.impl_code,
                                         "applicant_id": world.applicant.pk}),
            content_type="application/json")
    # Not "not found": the item is there, and the refusal says why.
    body = api_error(response, 400, "cases.item_withdrawn")
    assert DECISION in body["message_zh"]
    assert body["fields"]["decision"] == DECISION


def test_a_draft_saved_before_the_decision_is_not_submitted(world, promised):
    case = draft(world, promised)
    _withdraw(world, promised)
    with nothing_written(), pytest.raises(InvalidInput) as refused:
        services.case_submit(actor=world.citizen, case=case)
    assert refused.value.code == CasesErrorCode.ITEM_WITHDRAWN
    message = refused.value.render("zh-hans")
    assert DECISION in message and "本草稿不能再提交" in message
    assert reload(case).status == Case.Status.DRAFT
    # The applicant's page says so too.
    page = Client()
    page.force_login(world.citizen)
    response = page.post(f"/my/cases/{case.pk}/submit/", follow=True)
    assert DECISION in response.content.decode()
    assert reload(case).status == Case.Status.DRAFT


def test_a_draft_is_submitted_once_its_item_s_suspension_is_restored(world, promised):
    case = draft(world, promised)
    _withdraw(world, promised, kind="suspended", reason=SUSPENSION)
    with nothing_written(), pytest.raises(InvalidInput):
        services.case_submit(actor=world.citizen, case=case)
    catalog_services.item_restore(actor=world.user("a", Role.DATA_OFFICER), item=promised.item,
                                  reason="暂停期满")
    case, code = services.case_submit(actor=world.citizen, case=case)
    assert case.status == Case.Status.SUBMITTED and code


def test_a_case_in_progress_is_decided_and_gets_its_certificate(
        world, promised, django_capture_on_commit_callbacks):
    """A case submitted before the cancellation goes on to the end: accepted,
    reviewed, decided, its certificate issued and delivered, on the version it
    began with."""
    case, _code = submitted(world, promised, key="before")
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    _withdraw(world, promised)
    # The same request sent again still gets its case back.
    again = services.case_create(actor=world.citizen, item_version=promised,
                                 applicant=world.applicant, idempotency_key="before")
    assert again.pk == case.pk
    complete(world.user("a", Role.REVIEWER), case, "review")
    with django_capture_on_commit_callbacks(execute=True):
        complete(world.user("a", Role.AGENCY_HEAD), case, "decide")
    assert reload(case).status == Case.Status.APPROVED
    certificate = Certificate.objects.get(case=case)
    assert certificate.revoked_at is None
    complete(world.user("a", Role.WINDOW_CLERK), case, "deliver")
    case = reload(case)
    assert (case.status, case.outcome) == (Case.Status.CLOSED, Case.Outcome.APPROVED)
    assert case.item_version_id == promised.pk
    page = Client()
    page.force_login(world.citizen)
    assert page.get(f"/my/cases/{case.pk}/").status_code == 200
