"""The one way a service refuses: ``require(predicate_result, action=...)``."""

from yizhan.core.errors import PermissionDenied


def require(allowed: bool, *, action: str) -> None:
    if not allowed:
        raise PermissionDenied(action=action)
