"""The application form sent twice at once (a double click), on two connections.

The applicant expects one case, and whichever answer the browser shows (the
second's) to be the submitted case with its query code: never the form again
with a refusal at every file, never a case page without the code.
"""

import threading

from django.test import Client

from tests.cases.helpers import apply_form, apply_url, run_in_thread
from tests.markers import postgres_only
from yizhan.cases import services
from yizhan.cases.models import Case


def _clients(world):
    """Two tabs of one browser: the same signed-in session."""
    first = Client(raise_request_exception=False)
    first.force_login(world.citizen)
    second = Client(raise_request_exception=False)
    second.cookies = first.cookies
    return first, second


def _both(world, version, first_done):
    """Post the form from both tabs at once; the second tab's client, and the answers."""
    url = apply_url(version)
    one, two = _clients(world)
    form_one, form_two = (apply_form(world, version, "k-double", action="submit")
                          for _tab in range(2))
    first, first_box = run_in_thread(lambda: one.post(url, form_one), name="first",
                                     done=first_done)
    second, second_box = run_in_thread(lambda: two.post(url, form_two), name="second")
    for thread in (first, second):
        thread.join(timeout=60)
    return {"first": first_box["result"], "second": second_box["result"]}, two


@postgres_only
def test_a_second_click_arriving_mid_way_goes_to_the_submitted_case(
        transactional_db, world, promised, monkeypatch):
    """The second request finds the draft the first made (same key); by the time it
    uploads its copies of the files the first has submitted, and they are refused as
    late.  Its answer is the case page (302), not the form with 办件已提交 (400)."""
    first_done, second_created = threading.Event(), threading.Event()
    real_upload, real_submit = services.material_upload, services.case_submit

    def material_upload(**kwargs):
        if threading.current_thread().name == "second":
            second_created.set()
            first_done.wait(timeout=30)
        return real_upload(**kwargs)

    def case_submit(**kwargs):
        if threading.current_thread().name == "first":
            second_created.wait(timeout=30)
        return real_submit(**kwargs)

    monkeypatch.setattr(services, "material_upload", material_upload)
    monkeypatch.setattr(services, "case_submit", case_submit)
    box, two = _both(world, promised, first_done)
    case = Case.objects.get()
    assert case.status == Case.Status.SUBMITTED
    assert box["first"].status_code == 302
    shown = box["second"]
    refusals = [line.strip() for line in shown.content.decode().splitlines()
                if "办件已提交" in line]
    assert shown.status_code == 302, (shown.status_code, refusals[:1])
    assert shown["Location"] == f"/my/cases/{case.pk}/"
    assert 'data-testid="query-code"' in two.get(shown["Location"]).content.decode()


@postgres_only
def test_a_double_click_keeps_the_query_code(transactional_db, world, promised, monkeypatch):
    """Both requests reach submission; the first gets the query code, the second none
    (the case is submitted already).  The second's session, read before the first
    stored the code, must not drop it: the page the browser lands on shows the code."""
    first_done, second_uploaded = threading.Event(), threading.Event()
    real_submit = services.case_submit
    codes = []

    def case_submit(**kwargs):
        name = threading.current_thread().name
        if name == "first":
            second_uploaded.wait(timeout=30)
        if name == "second":
            second_uploaded.set()
            first_done.wait(timeout=30)
        result = real_submit(**kwargs)
        codes.append(result[1])
        return result

    monkeypatch.setattr(services, "case_submit", case_submit)
    box, two = _both(world, promised, first_done)
    assert Case.objects.get().status == Case.Status.SUBMITTED
    code = next(c for c in codes if c)
    assert box["second"].status_code == 302
    page = two.get(box["second"]["Location"])
    assert page.status_code == 200
    assert code in page.content.decode(), "the query code, shown only once, was never shown"
