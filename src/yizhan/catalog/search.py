"""Chinese search over the catalog with jieba word segmentation.

Each version stores its searchable text as space-separated jieba tokens
(``cut_for_search``, which also yields the shorter words inside long
ones), padded with spaces; a query matches when every one of its tokens is
a whole token of the document.  The same tokenizer on both sides means
"食品经营" finds "食品经营许可证核发", on SQLite and PostgreSQL alike.
The catalog is thousands of rows, not millions, so an indexed full-text
engine is not needed yet; see docs/catalog.md.

Both sides read text the same way (``normalise``): NFKC (a Chinese input
method in full-width mode types ＸＫ０４１０１０００, and an item may be
entered so too), then traditional characters become simplified ones (the
catalog is written in simplified characters; applicants from Hong Kong,
Macao and Taiwan, and many older people, type 營業執照).  A query is then
read the way people type it (``parse_query``): the everyday words of
``SYNONYMS`` become the catalog's words (补办 → 补领), and the filler words
of ``FILLER`` (办理, 申请, 如何 …) are dropped, so that 如何办理营业执照
searches for 营业执照.  The ranking and the fallback to any word live in
``selectors.item_search``.

An item is found in Chinese whatever the language of the editor who saved
it, and by the English labels of its themes and item type as well
(``search_text_for``): the catalog's names are Chinese only.
"""

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation

_WORD = re.compile(r"[\w]+", re.UNICODE)


def _loaded_once(load):
    """``load()`` run at the first call only, and its result kept for the
    process: loading a dictionary takes a while, and not every process
    searches (a worker, a management command)."""
    loaded, lock = None, threading.Lock()

    def get():
        nonlocal loaded
        if loaded is None:
            with lock:
                if loaded is None:
                    loaded = load()
        return loaded

    return get


@_loaded_once
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@_loaded_once
def _simplifier():
    # OpenCC's traditional-to-simplified tables, shipped in the package:
    # phrases first (乾燥 → 干燥 but 乾隆 stays), then single characters.
    # Its variant tables for Hong Kong and Taiwan are not used: they turn
    # simplified text as well (抬 → 擡, 什么 → 什幺).
    from opencc import OpenCC

    return OpenCC("t2s")


def tokens(text: str) -> list[str]:
    """Unique tokens of ``text`` in order of first appearance, lower-cased."""
    seen: dict[str, None] = {}
    for token in _tokenizer().cut_for_search(text or ""):
        token = token.strip().lower()
        if token and _WORD.fullmatch(token):
            seen.setdefault(token, None)
    return list(seen)


def search_text_for(version) -> str:
    """The tokens ``version`` is found by, the same whoever saves it.

    The themes' labels are the platform language's (Chinese), not those of
    the editor who saves: an item saved from the desk in English would
    otherwise be found by "marriage registration" and no longer by 婚姻登记.
    The labels of its themes and item type in each other language are added
    (``labels_in_other_languages``): item names are Chinese only, and these
    are the words a reader of the English pages has to search by.
    """
    from yizhan.catalog.models import THEMES

    item = version.item
    with translation.override(settings.LANGUAGE_CODE):
        themes = " ".join(str(THEMES[t]) for t in version.themes if t in THEMES)
    parts = [
        version.name, item.agency.name, item.agency.short_name, version.basic_code,
        item.impl_code, version.acceptance_conditions[:500], version.result_name, themes,
        " ".join(m.name for m in version.materials.all()),
        labels_in_other_languages(version),
    ]
    return " " + " ".join(tokens(normalise(" ".join(parts)))) + " "


def labels_in_other_languages(version) -> str:
    """The labels of ``version``'s themes and item type in each language of the
    pages but the platform's own, e.g. "Marriage registration Administrative
    confirmation": what a reader of those pages sees on the theme lists and
    the guide, and types."""
    from yizhan.catalog.models import THEMES, ItemType

    codes = [THEMES[t] for t in version.themes if t in THEMES]
    if version.item_type in ItemType.values:
        codes.append(ItemType(version.item_type).label)
    words = []
    for language, _name in settings.LANGUAGES:
        if language != settings.LANGUAGE_CODE:
            with translation.override(language):
                words += [str(label) for label in codes]
    return " ".join(words)


# Han characters (CJK unified ideographs, with extension A and the
# compatibility block).  Item names are Chinese: a query without any of them
# (English, or pinyin) can only match the labels above or a code.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def has_chinese(text: str) -> bool:
    """Whether ``text`` holds a Chinese character."""
    return bool(_HAN.search(text or ""))


def search_texts_rebuilt(versions, *, batch: int = 500) -> int:
    """Make the search text of ``versions`` (a queryset of item versions: the
    app's model, or a migration's historical one) again, and write those
    whose text changed; returns how many.  For text made before the way it
    is read changed (a data migration), or from a name changed since (an
    agency renamed: ``on_agency_renamed``)."""
    model = versions.model
    rows = (versions.select_related("item__agency").prefetch_related("materials")
            .order_by("pk"))
    changed, written = [], 0
    for version in rows.iterator(chunk_size=batch):
        text = search_text_for(version)
        if text != version.search_text:
            version.search_text = text
            changed.append(version)
        if len(changed) >= batch:
            model.objects.bulk_update(changed, ["search_text"])
            written, changed = written + len(changed), []
    model.objects.bulk_update(changed, ["search_text"])
    return written + len(changed)


def on_agency_renamed(sender, *, agency, **kwargs):
    """An agency's name (or short name) is among its items' search words: a
    renamed agency's items are found by the new name, no longer the old
    (``directory.signals.agency_renamed``).  In the rename's transaction,
    which its service checked, before its audit record (the audit head is
    the last lock taken)."""
    from yizhan.catalog.models import ItemVersion

    search_texts_rebuilt(ItemVersion.objects.filter(item__agency=agency))


# At most this many words of a query are matched.
MAX_WORDS = 12
# The longest query read, in characters (the search page's form takes as
# many).  Segmenting takes time growing faster than the text, and a long
# LIKE pattern is refused by SQLite: every caller is held to it here.
MAX_QUERY_CHARS = 100

# Everyday words -> the words the catalog uses (the item standard's names).
# Replaced in the query before it is segmented; longest first, so 社保卡
# wins over 社保.  Keep this list small and documented in docs/catalog.md.
SYNONYMS = {
    "补办": "补领",
    "个体户": "个体工商户",
    "社保卡": "社会保障卡",
    "社保": "社会保险",
    "失业金": "失业保险金",
    "户口本": "户口簿",
    "公司注册": "公司设立登记",
    "注册公司": "公司设立登记",
    # 开办餐饮店 is the standard's name for opening one (the "一件事" that
    # bundles the food business licence with the others).  Not 饭店: items
    # also use it for hotels (宾馆、饭店 needing a public-places hygiene
    # licence), and the restaurant items name it already.
    "餐厅": "餐饮店",
    "饭馆": "餐饮店",
}
_SYNONYM = re.compile("|".join(re.escape(w) for w in sorted(SYNONYMS, key=len, reverse=True)))

# Words that say how someone asks, not what for: dropped when they are a
# whole word of the query (jieba's precise mode), unless nothing else is left.
FILLER = frozenset({
    "办理", "申请", "如何", "怎么", "怎样", "怎么样", "怎么办", "我要", "我想", "想要",
    "想", "要", "我", "办", "请问", "请", "需要", "的", "吗", "呢", "一下",
})
# jieba glues a leading 想 to the next character (我想开公司 -> 我 / 想开 / 公司).
_LEADING_FILLER = re.compile(r"^(?:我们|我|请问|请)?(?:想要|想)(?=\S)")


@dataclass(frozen=True)
class Query:
    """A search query as read: ``text`` as typed but ``normalise``d (NFKC,
    simplified characters, spaces collapsed), ``phrase`` what it asks for
    (synonyms applied, filler dropped), compared with item names, and
    ``words``, the jieba tokens of ``phrase`` matched against the items'
    tokens."""

    text: str
    phrase: str
    words: tuple[str, ...]


def normalise(text: str, limit: int | None = None) -> str:
    """``text`` as search reads it, a query or an item alike: NFKC (full-width
    letters, digits and spaces become half-width), spaces collapsed, cut to
    ``limit`` characters, then traditional characters made simplified."""
    text = " ".join(unicodedata.normalize("NFKC", text or "").split())[:limit]
    return _simplifier().convert(text) if text else text


def parse_query(query: str) -> Query:
    text = normalise(str(query or "")[:MAX_QUERY_CHARS * 4], limit=MAX_QUERY_CHARS)
    replaced = _SYNONYM.sub(lambda m: SYNONYMS[m.group(0)], text)
    kept = []
    for chunk in replaced.split():
        chunk = _LEADING_FILLER.sub("", chunk)
        words = [w for w in _tokenizer().cut(chunk) if w.strip() and w not in FILLER]
        if words:
            kept.append("".join(words))
    phrase = " ".join(kept) or replaced
    return Query(text=text, phrase=phrase, words=tuple(tokens(phrase)[:MAX_WORDS]))


