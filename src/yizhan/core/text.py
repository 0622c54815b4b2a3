"""Text no column can hold.

PostgreSQL's text cannot contain NUL (U+0000): a value holding one fails
at the database (a 500), while SQLite stores it.  Request input is checked
for it once, where it arrives (the API's parser, the pages' middleware),
so that every service may take its text as storable.
"""

from django.utils.translation import gettext_lazy as _

NUL_REFUSED = _("输入中含有不允许的控制字符（NUL），请删除后重试。")


def has_nul(value) -> bool:
    """Whether ``value`` (text, or lists and dicts of it, keys too) holds a NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False


def querydict_has_nul(data) -> bool:
    """The same for a QueryDict (every value of every key)."""
    return any(has_nul(key) or has_nul(data.getlist(key)) for key in data)
