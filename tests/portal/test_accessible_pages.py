"""Pages for everyone: fields tied to their errors and help, English without
Chinese leftovers, states told in words (checked in the rendered HTML)."""

import datetime as dt
import re

import lxml.html
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from tests.cases.helpers import accepted, complete, draft, open_task, publish_item, submitted
from tests.supervision.helpers import city_officer
from yizhan.cases import events
from yizhan.cases import services as case_services
from yizhan.cases.models import EventType, Task
from yizhan.directory.roles import Role
from yizhan.supervision import services as supervision_services
from yizhan.supervision.detection import sweep
from yizhan.supervision.models import Alert, ScoringScheme
from yizhan.supervision.scoring_services import scoring_scheme_update

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _soup(response, status=200):
    assert response.status_code == status, response.status_code
    return lxml.html.fromstring(response.content.decode())


def _one(doc, xpath):
    found = doc.xpath(xpath)
    assert found, xpath
    return found[0]


def _text(el):
    return " ".join(el.text_content().split())


def _platform_words(el, *data):
    """``el``'s text without the data shown in it (names, messages as stored):
    what is left is the platform's own words and punctuation."""
    text = _text(el)
    for value in sorted({" ".join(str(d).split()) for d in data if d}, key=len, reverse=True):
        text = text.replace(value, "")
    return text


def _alert_data(alert):
    return (alert.case.number, alert.rule.code, alert.rule.name, alert.message,
            alert.agency.name, alert.responsible)



def _dangling_describedby(soup):
    dangling = []
    for el in soup.xpath("//*[@aria-describedby]"):
        for ref in el.get("aria-describedby").split():
            if not soup.xpath(f"//*[@id='{ref}']"):
                dangling.append((el.get("id"), ref))
    return dangling


@pytest.mark.django_db
def test_field_error_is_referenced_by_an_existing_id(world, client_for):
    """A field's error has the id its input's aria-describedby names (audit search
    with a bad date, answered 400), so a screen reader reads it with the field."""
    client = client_for(world.user("a", Role.SYSADMIN))
    soup = _soup(client.get(reverse("portal:audit_search"), {"since": "notadate"}), 400)
    assert _one(soup, "//*[@id='id_since']").get("aria-invalid") == "true"
    assert _dangling_describedby(soup) == []


@pytest.mark.django_db
def test_field_help_text_is_referenced_by_an_existing_id(world, client_for):
    """So does its help text (the password change form)."""
    soup = _soup(client_for(world.citizen).get(reverse("portal:password_change")))
    assert _dangling_describedby(soup) == []



@pytest.mark.django_db
def test_accept_step_buttons_are_actions_in_english(world, client_for):
    """受理 / 不予受理 on a button is an action, not the state of the same words."""
    version = publish_item(world)
    case, _code = submitted(world, version)
    task = open_task(case, "accept")
    client = _english(client_for(world.user("a", Role.WINDOW_CLERK)))
    soup = _soup(client.get(reverse("cases:task", args=[task.pk])))
    approve = _text(_one(soup, "//*[@data-testid='approve']"))
    reject = _text(_one(soup, "//*[@data-testid='reject']"))
    assert approve not in {"Accepted"}, approve
    assert reject not in {"Not accepted"}, reject



@pytest.mark.django_db
def test_overdue_step_in_inbox_is_not_marked_by_colour_alone(world, client_for):
    """A late step says so in words, not in red alone."""
    version = publish_item(world)
    case = accepted(world, version)
    task = open_task(case)
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - dt.timedelta(days=3))
    reviewer = world.user("a", Role.REVIEWER)
    soup = _soup(client_for(reviewer).get(reverse("portal:workbench")))
    row = next(r for r in soup.xpath("//*[@data-testid='inbox']//tr")
               if case.number in r.text_content())
    due_cell = row.xpath("./td")[5]
    assert due_cell.xpath(".//*[@class='overdue']")
    text = _text(due_cell)
    assert "超期" in text or "逾期" in text, text



@pytest.mark.django_db
def test_step_names_are_translated_in_english(world, client_for):
    """The standard processes' step names are the platform's words, translated."""
    version = publish_item(world, name="Test permit")
    case = accepted(world, version)
    task = open_task(case)
    client = _english(client_for(world.user("a", Role.REVIEWER)))
    soup = _soup(client.get(reverse("cases:task", args=[task.pk])))
    h1 = _text(_one(soup, "//h1"))
    timeline = _text(_one(soup, "//*[@data-testid='timeline']"))
    timeline = timeline.replace(world.agency_a.name, "")
    assert not CJK.search(h1), h1
    assert not CJK.search(timeline), timeline



@pytest.mark.django_db
def test_guide_lists_use_english_separators_in_english(world, client):
    """Lists are joined with the language's separator, not 、."""
    publish_item(world, name="Test permit",
                 service_objects=["natural", "legal"],
                 materials=[{"name": "Form", "forms": ["original", "electronic"], "copies": 1}])
    from yizhan.catalog.models import Item
    item = Item.objects.get(agency=world.agency_a)
    soup = _soup(_english(client).get(reverse("catalog:guide", args=[item.impl_code])))
    who = _text(_one(soup, "//dt[normalize-space()='Who can apply']/following-sibling::dd[1]"))
    assert "、" not in who, who


@pytest.mark.django_db
def test_apply_heading_has_no_fullwidth_colon_in_english(world, client_for):
    """Nor with a full-width colon."""
    version = publish_item(world, name="Test permit")
    from yizhan.catalog.models import Item
    item = Item.objects.get(pk=version.item_id)
    client = _english(client_for(world.citizen))
    soup = _soup(client.get(reverse("cases:apply", args=[item.impl_code])))
    h1 = _text(_one(soup, "//h1"))
    assert not CJK.search(h1), h1
    # Nor full-width brackets around the applicant's kind.
    label = _text(_one(soup, f"//label[@for='applicant-{world.applicant.pk}']"))
    assert "（" not in label and "(" in label, label



@pytest.mark.django_db
def test_draft_case_str_is_translated(world):
    """A draft is named in the reader's language (the audit log shows it)."""
    case = draft(world, publish_item(world), files=False)
    with translation.override("en"):
        assert not CJK.search(str(case)), str(case)



@pytest.mark.django_db
def test_missing_material_error_is_tied_to_its_file_field(world, client_for):
    """A refused application marks each missing material at its own field."""
    version = publish_item(world, name="Test permit")
    from yizhan.catalog.models import Item
    item = Item.objects.get(pk=version.item_id)
    material = version.materials.get()
    response = client_for(world.citizen).post(
        reverse("cases:apply", args=[item.impl_code]),
        {"key": "scratch-1", "applicant": world.applicant.pk})
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.content.decode())
    error = _text(_one(doc, "//*[@data-testid='form-error']"))
    assert material.name in error, error
    field = _one(doc, f"//input[@id='material-{material.pk}']")
    assert field.get("aria-invalid") == "true" or field.get("aria-describedby"), (
        lxml.html.tostring(field).decode())


def test_a_wide_table_scrolls_in_a_labelled_region_of_its_own():
    """{% scrollregion %} wraps a table in a region the keyboard reaches,
    labelled in the page's language (every template has the tag)."""
    from django.template import engines

    page = engines["django"].from_string(
        '{% scrollregion _("我的待办") %}<table><caption>x</caption></table>{% endscrollregion %}')
    with translation.override("en"):
        html = page.render({})
    assert html == ('<div class="table-scroll" role="region" tabindex="0" '
                    'aria-label="My tasks"><table><caption>x</caption></table></div>')


# --- the supervision office's pages and the workbench, in English ----------------------------

def _late_case(world):
    """A case of A accepted, its review claimed, then swept two months ahead: the
    review is late, and its alerts name the reviewer."""
    case, _code = submitted(world, publish_item(world, name="Test permit"))
    complete(world.user("a", Role.WINDOW_CLERK), case, "accept")
    case_services.task_claim(actor=world.user("a", Role.REVIEWER), task=open_task(case))
    sweep(now=timezone.now() + dt.timedelta(days=60))
    return case


def _skipped_acceptance(world):
    """A red alert on A: a decision appended on a case never accepted."""
    case, _code = submitted(world, publish_item(world, name="Test permit"))
    events.append(case=case, type=EventType.APPROVED, actor=world.user("a", Role.AGENCY_HEAD),
                  agency_id=world.agency_a.pk)
    return Alert.objects.filter(case=case).get()


@pytest.mark.django_db
def test_supervision_case_page_is_english_but_for_its_data(world, client_for):
    """Step names and the brackets and separators around an alert's time, agency and
    responsible person are translated."""
    officer = city_officer(world)
    case = _late_case(world)
    alerts = list(Alert.objects.filter(case=case).select_related("rule", "agency", "responsible"))
    assert alerts and any(a.responsible_id for a in alerts)
    soup = _soup(_english(client_for(officer)).get(reverse("supervision:case", args=[case.pk])))
    for alert in alerts:
        item = _one(soup, f"//*[@id='alert-{alert.pk}']")
        left = _platform_words(item, *_alert_data(alert))
        assert not CJK.search(left), left
    rows = soup.xpath("//*[@data-testid='points']/tbody/tr")
    steps = [_text(row.xpath("./td")[2]) for row in rows]
    assert "Acceptance" in steps, steps
    for row in rows:
        left = _platform_words(row, world.agency_a.name)
        assert not CJK.search(left), left


@pytest.mark.django_db
def test_new_notice_page_is_english_but_for_its_data(world, client_for):
    """The alerts a notice is drawn from, and the notice types, in English."""
    officer = city_officer(world)
    alert = _skipped_acceptance(world)
    soup = _soup(_english(client_for(officer)).get(reverse("supervision:notice_new"),
                                                   {"alert": alert.pk}))
    label = _one(soup, f"//label[@for='alert-{alert.pk}']")
    left = _platform_words(label, *_alert_data(alert))
    assert not CJK.search(left), left
    for option in soup.xpath("//*[@data-testid='notice-type']/option"):
        assert not CJK.search(_text(option)), _text(option)


@pytest.mark.django_db
def test_notice_page_is_english_but_for_its_data(world, client_for):
    """A notice's summary (its reply step by name) and its alerts, in English."""
    officer = city_officer(world)
    alert = _skipped_acceptance(world)
    notice = supervision_services.notice_issue(
        actor=officer, alert_ids=[alert.pk],
        content={"type": "correction", "title": "Notice", "facts": "Facts",
                 "requirements": "Requirements"})
    assert open_task(notice, "reply")
    soup = _soup(_english(client_for(officer)).get(
        reverse("supervision:notice", args=[notice.pk])))
    summary = _one(soup, "//*[@data-testid='notice-summary']")
    left = _platform_words(summary, notice.data["issuer_name"], notice.submitted_by,
                           notice.agency.name)
    assert not CJK.search(left), left
    item = _one(soup, f"//*[@id='alert-{alert.pk}']")
    left = _platform_words(item, *_alert_data(alert))
    assert not CJK.search(left), left


@pytest.mark.django_db
def test_scoring_scheme_page_is_english_but_for_its_data(world, client_for):
    """A dimension counting only undecided cases says so in English brackets."""
    officer = city_officer(world)
    scheme = ScoringScheme.objects.order_by("-version").first()
    dimensions = [dict(d) for d in scheme.dimensions]
    fees = next(d for d in dimensions if d.get("kinds") == ["fee"])
    fees["undecided_only"] = True
    scoring_scheme_update(actor=officer, dimensions=dimensions, bands=scheme.bands,
                          reason="Only undecided cases")
    soup = _soup(_english(client_for(officer)).get(reverse("supervision:scoring_scheme")))
    source = _one(soup, f"//*[@data-testid='scheme-{fees['code']}']/td[1]")
    for note in source.xpath(".//small"):
        note.drop_tree()
    assert "Supervision alert" in _text(source), _text(source)
    assert not CJK.search(_text(source)), _text(source)


@pytest.mark.django_db
def test_workbench_with_a_claimed_task_is_english_but_for_its_data(world, client_for):
    """The step's name and the brackets around who holds it are translated."""
    case = accepted(world, publish_item(world, name="Test permit"))
    reviewer = world.user("a", Role.REVIEWER)
    task = case_services.task_claim(actor=reviewer, task=open_task(case))
    soup = _soup(_english(client_for(reviewer)).get(reverse("portal:workbench")))
    row = next(r for r in soup.xpath("//*[@data-testid='inbox']//tr")
               if case.number in r.text_content())
    left = _platform_words(row, world.agency_a.name, task.claimed_by)
    assert not CJK.search(left), left
