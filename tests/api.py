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


def shape_fault(response) -> str | None:
    """What is wrong with an answer to bad input: a 5xx, or a 4xx not in the one
    error shape (None when the answer is fine, a refusal or a success)."""
    if response.status_code >= 500:
        return f"{response.status_code} {response.content[:300]!r}"
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            return f"{response.status_code} not JSON {response.content[:200]!r}"
        if set(body) != ERROR_KEYS:
            return f"{response.status_code} shape {body}"
    return None
