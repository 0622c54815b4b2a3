"""Text no column can hold.

PostgreSQL's text cannot contain NUL (U+0000): a value holding one fails
at the database (a 500), while SQLite stores it.  Nor can any database
store a lone half of a UTF-16 surrogate pair (U+D800–U+DFFF): JSON may
escape one ("\\ud800"), but it has no UTF-8 form, so the driver fails
encoding it.  Request input is checked for both once, where it arrives
(the API's parser, the pages' middleware), so that every service may take
its text as storable.
"""

import re

from django.utils.translation import gettext_lazy as _

NUL_REFUSED = _("输入中含有不允许的控制字符（NUL），请删除后重试。")
SURROGATE_REFUSED = _("输入中含有无法保存的字符（不成对的 UTF-16 代理项），请删除后重试。")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value):
    """Why ``value`` (text, or lists and dicts of it, keys too) cannot be stored: the
    refusal's message, or None when every text in it can be."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return None
        return NUL_REFUSED if found.group() == "\x00" else SURROGATE_REFUSED
    if isinstance(value, dict):
        items = (text for pair in value.items() for text in pair)
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return None
    for item in items:
        refusal = unstorable(item)
        if refusal is not None:
            return refusal
    return None


def querydict_unstorable(data):
    """``unstorable`` for a QueryDict (every value of every key)."""
    for key in data:
        refusal = unstorable([key, data.getlist(key)])
        if refusal is not None:
            return refusal
    return None
