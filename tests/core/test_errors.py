"""The application error hierarchy: codes, messages in two languages, fields."""

import datetime

import pytest
from django.utils import translation

from yizhan.core.errors import (
    ApplicationError,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    Throttled,
)
from yizhan.core.permissions import require


@pytest.mark.parametrize(("error", "code", "status"), [
    (ApplicationError(), "core.invalid_input", 400),
    (InvalidInput(detail="x"), "core.invalid_input", 400),
    (NotFound(), "core.not_found", 404),
    (PermissionDenied(), "core.permission_denied", 403),
    (NotAuthenticated(), "core.not_authenticated", 401),
    (Conflict(), "core.conflict", 409),
    (Throttled(minutes=15), "core.throttled", 429),
])
def test_each_error_has_a_stable_code_and_status(error, code, status):
    """Clients branch on the code; the status follows the kind of error."""
    body = error.as_dict()
    assert body["code"] == code
    assert error.http_status == status
    assert set(body) == {"code", "message", "message_zh", "message_en", "fields"}


def test_message_is_filled_from_fields_in_each_language():
    """Placeholders take the fields; Chinese and English are both rendered."""
    error = Throttled(minutes=15)
    body = error.as_dict()
    assert body["message_zh"] == "尝试次数过多，请 15 分钟后再试。"
    assert "15" in body["message_en"]
    assert body["message_en"] != body["message_zh"]
    assert body["fields"] == {"minutes": 15}


def test_message_follows_the_active_language():
    """``message`` is in the language of the request."""
    error = NotFound()
    with translation.override("en"):
        assert error.as_dict()["message"] == error.render("en")
    with translation.override("zh-hans"):
        assert error.as_dict()["message"] == "找不到所请求的对象，或您无权查看。"


def test_code_status_and_message_can_be_overridden():
    """A service may give its own code, status and message."""
    error = InvalidInput("请求体过大。", code="core.body_too_large", http_status=413, limit=10)
    assert (error.code, error.http_status, error.render("zh-hans")) == (
        "core.body_too_large", 413, "请求体过大。")
    assert str(error) == "请求体过大。"


def test_missing_placeholder_leaves_the_template():
    """A template whose field is missing is shown as written, never crashes."""
    assert InvalidInput().render("zh-hans") == "输入有误：%(detail)s"


def test_fields_become_json():
    """Dates, tuples and nested values are made JSON-safe."""
    at = datetime.date(2026, 1, 2)
    error = InvalidInput(detail="x", when=at, pair=(1, "a"), nested={1: [at]}, none=None)
    assert error.as_dict()["fields"] == {
        "detail": "x", "when": "2026-01-02", "pair": [1, "a"],
        "nested": {"1": ["2026-01-02"]}, "none": None,
    }


def test_require_refuses_with_the_action_named():
    """require() raises PermissionDenied naming the action, and passes when allowed."""
    require(True, action="case_assign")
    with pytest.raises(PermissionDenied) as raised:
        require(False, action="case_assign")
    assert raised.value.fields == {"action": "case_assign"}
