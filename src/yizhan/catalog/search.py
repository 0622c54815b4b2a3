"""Chinese search over the catalog with jieba word segmentation.

Each version stores its searchable text as space-separated jieba tokens
(``cut_for_search``, which also yields the shorter words inside long
ones), padded with spaces; a query matches when every one of its tokens is
a whole token of the document.  The same tokenizer on both sides means
"食品经营" finds "食品经营许可证核发", on SQLite and PostgreSQL alike.
The catalog is thousands of rows, not millions, so an indexed full-text
engine is not needed yet; see docs/catalog.md.
"""

import logging
import re
import threading

_lock = threading.Lock()
_jieba = None
_WORD = re.compile(r"[\w]+", re.UNICODE)


def _tokenizer():
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def tokens(text: str) -> list[str]:
    """Unique tokens of ``text`` in order of first appearance, lower-cased."""
    seen: dict[str, None] = {}
    for token in _tokenizer().cut_for_search(text or ""):
        token = token.strip().lower()
        if token and _WORD.fullmatch(token):
            seen.setdefault(token, None)
    return list(seen)


def search_text_for(version) -> str:
    from yizhan.catalog.models import THEMES

    item = version.item
    parts = [
        version.name, item.agency.name, item.agency.short_name, version.basic_code,
        item.impl_code, version.acceptance_conditions[:500], version.result_name,
        " ".join(str(THEMES[t]) for t in version.themes if t in THEMES),
        " ".join(m.name for m in version.materials.all()),
    ]
    return " " + " ".join(tokens(" ".join(parts))) + " "


def query_tokens(query: str) -> list[str]:
    return tokens(query)[:12]
