"""The API's one error shape (docs/api.md), asserted the same way everywhere."""

ERROR_KEYS = {"code", "message", "message_zh", "message_en", "fields", "request_id"}


def api_error(response, status: int, code: str) -> dict:
    """The JSON error body of ``response``, checked whole: status, code and every key."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code
    assert body["message"]
    assert body["message_zh"]
    assert body["message_en"]
    assert isinstance(body["fields"], dict)
    assert body["request_id"] == response["X-Request-ID"]
    return body
