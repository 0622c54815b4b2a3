"""The English catalog is complete, and pages follow the visitor's language.

The catalog is read with a small parser of the PO format (no extra
dependency); the compiled catalog is read with Python's own ``gettext``.
"""

import ast
import gettext
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.translation.template import templatize

PACKAGE_DIR = Path(settings.LOCALE_PATHS[0]).parent
CATALOG_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PO_FILE = CATALOG_DIR / "django.po"
MO_FILE = CATALOG_DIR / "django.mo"

# Named printf-style placeholders, as Django's python-format strings use.
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str | None = None
    msgid_plural: str | None = None
    # A plain entry's msgstr is msgstrs[0]; a plural entry has one per form.
    msgstrs: dict[int, str] = field(default_factory=dict)


def _unquote(text: str) -> str:
    # PO strings use C escapes, which Python string literals share.
    return ast.literal_eval(text)


def parse_po(path: Path) -> tuple[list[Entry], int]:
    """The entries of a PO file (the header is the one with an empty msgid),
    and the number of obsolete (``#~``) entries."""
    entries: list[Entry] = []
    obsolete = 0
    flags: set[str] = set()
    current: Entry | None = None
    target: tuple[str, int] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#~"):
            obsolete += line[2:].split(maxsplit=1)[:1] == ["msgid"]
            continue
        if line.startswith("#,"):
            flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            if current is None or target is None:
                raise AssertionError(f"{path}:{number}: string outside an entry")
            value = _unquote(line)
        else:
            keyword, _, rest = line.partition(" ")
            value = _unquote(rest)
            plural_form = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword == "msgctxt" or (keyword == "msgid" and (
                    current is None or current.msgid is not None)):
                current = Entry(line=number, flags=flags)
                flags = set()
                entries.append(current)
            if current is None:
                raise AssertionError(f"{path}:{number}: {keyword} before any msgid")
            if plural_form:
                target = ("msgstr", int(plural_form.group(1)))
            elif keyword in {"msgctxt", "msgid", "msgid_plural", "msgstr"}:
                target = (keyword, 0)
            else:
                raise AssertionError(f"{path}:{number}: unknown keyword {keyword!r}")
            if target[0] == "msgstr":
                current.msgstrs[target[1]] = ""
            else:
                setattr(current, keyword, "")
        name, index = target
        if name == "msgstr":
            current.msgstrs[index] += value
        else:
            setattr(current, name, getattr(current, name) + value)
    return entries, obsolete


@pytest.fixture(scope="module")
def parsed() -> tuple[list[Entry], int]:
    assert PO_FILE.exists(), f"{PO_FILE} is missing: run `make messages`"
    return parse_po(PO_FILE)


@pytest.fixture(scope="module")
def entries(parsed) -> list[Entry]:
    return parsed[0]


@pytest.fixture(scope="module")
def messages(entries) -> list[Entry]:
    return [e for e in entries if e.msgid]


def test_parser_reads_every_entry(entries, messages):
    """Each msgid of the file is one parsed message (the parser drops none)."""
    text = PO_FILE.read_text(encoding="utf-8")
    assert len(messages) == len(re.findall(r"^msgid ", text, flags=re.MULTILINE)) - 1
    assert len(messages) > 100
    assert any(e.msgid_plural for e in messages)


def test_catalog_has_no_fuzzy_or_obsolete_entry(entries, parsed):
    """Fuzzy entries are left out of the compiled catalog; none may hide there."""
    assert [e.line for e in entries if "fuzzy" in e.flags] == []
    assert parsed[1] == 0


def test_header_names_english_and_its_plural_rule(entries):
    """The header says the catalog is English with English plural forms."""
    header = next(e for e in entries if e.msgid == "")
    assert "Language: en\n" in header.msgstrs[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstrs[0]


def test_every_message_is_translated(messages):
    """No message, nor any plural form of one, is left empty."""
    untranslated = []
    for entry in messages:
        forms = [0, 1] if entry.msgid_plural is not None else [0]
        if sorted(entry.msgstrs) != forms or not all(entry.msgstrs[i].strip() for i in forms):
            untranslated.append(f"line {entry.line}: {entry.msgid}")
    assert untranslated == []


def test_translations_are_english(messages):
    """No translation is left in Chinese (a copied msgid is no translation)."""
    cjk = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
    assert [e.msgid for e in messages if any(cjk.search(s) for s in e.msgstrs.values())] == []


def test_translations_keep_every_placeholder(messages):
    """Each %(name)s of a msgid is in every form of its translation."""
    lost = []
    for entry in messages:
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        if entry.msgid_plural is not None:
            wanted |= set(PLACEHOLDER.findall(entry.msgid_plural))
        for index, text in entry.msgstrs.items():
            if missing := wanted - set(PLACEHOLDER.findall(text)):
                lost.append(f"line {entry.line} msgstr[{index}] lacks {sorted(missing)}")
            if extra := set(PLACEHOLDER.findall(text)) - wanted:
                lost.append(f"line {entry.line} msgstr[{index}] adds {sorted(extra)}")
    assert lost == []


@pytest.fixture(scope="module")
def compiled() -> gettext.GNUTranslations:
    assert MO_FILE.exists(), f"{MO_FILE} is missing: run `make messages`"
    with MO_FILE.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def _lookup(compiled: gettext.GNUTranslations, entry: Entry, n: int | None = None) -> str:
    if entry.msgid_plural is None:
        if entry.msgctxt is None:
            return compiled.gettext(entry.msgid)
        return compiled.pgettext(entry.msgctxt, entry.msgid)
    if entry.msgctxt is None:
        return compiled.ngettext(entry.msgid, entry.msgid_plural, n)
    return compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)


def test_compiled_catalog_matches_the_po_file(messages, compiled):
    """The committed .mo holds exactly what the .po says (it was recompiled)."""
    stale = []
    for entry in messages:
        if entry.msgid_plural is None:
            if _lookup(compiled, entry) != entry.msgstrs.get(0):
                stale.append(entry.msgid)
        # English plural rule: form 0 for one, form 1 for any other count.
        elif [_lookup(compiled, entry, n) for n in (1, 2)] != [
                entry.msgstrs.get(0), entry.msgstrs.get(1)]:
            stale.append(entry.msgid)
    assert stale == [], "the .mo is stale: run `make messages`"


def test_plural_translations_read_well_for_one_and_many(messages, compiled):
    """Each plural message has distinct English forms for one and for many."""
    plurals = [e for e in messages if e.msgid_plural is not None]
    assert plurals
    for entry in plurals:
        assert entry.msgstrs.get(0) != entry.msgstrs.get(1), entry.msgid
    task_count = next(e for e in plurals if "待办" in e.msgid)
    assert _lookup(compiled, task_count, 1) % {"n": 1} == "You have 1 task."
    assert _lookup(compiled, task_count, 3) % {"n": 3} == "You have 3 tasks."


# The functions makemessages extracts: the positions of (context, singular,
# plural) among their arguments (see --keyword in its source).
GETTEXT_CALLS = {
    **dict.fromkeys(["_", "gettext", "gettext_lazy", "gettext_noop"], (None, 0, None)),
    **dict.fromkeys(["ngettext", "ngettext_lazy"], (None, 0, 1)),
    **dict.fromkeys(["pgettext", "pgettext_lazy"], (0, 1, None)),
    **dict.fromkeys(["npgettext", "npgettext_lazy"], (0, 1, 2)),
}


def _literal_arguments(tokens: list[tokenize.TokenInfo], start: int) -> list[str | None]:
    """The arguments of the call whose "(" is tokens[start], as strings
    (None for an argument that is not a plain string literal)."""
    args: list[str | None] = []
    parts: list[str] | None = []
    depth = 0
    for token in tokens[start + 1:]:
        if token.type in {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT}:
            continue
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
            parts = None
        elif token.type == tokenize.OP and token.string in ")]}" and depth:
            depth -= 1
        elif depth:
            continue
        elif token.type == tokenize.OP and token.string in {",", ")"}:
            args.append("".join(parts) if parts else None)
            if token.string == ")":
                return args
            parts = []
        elif token.type == tokenize.STRING and parts is not None and not re.match(
                r"(?i)[rbu]*f", token.string):
            parts.append(ast.literal_eval(token.string))
        else:
            parts = None
    return args


def source_messages(code: str) -> set[tuple[str | None, str]]:
    """(context, msgid) of every literal message extracted from Python code."""
    found = set()
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    for i, token in enumerate(tokens[:-1]):
        if token.type != tokenize.NAME or token.string not in GETTEXT_CALLS:
            continue
        if tokens[i + 1].string != "(" or (i and tokens[i - 1].string == "def"):
            continue
        context, singular, plural = GETTEXT_CALLS[token.string]
        args = _literal_arguments(tokens, i + 1)
        wanted = [n for n in (context, singular, plural) if n is not None]
        if len(args) > max(wanted) and all(args[n] is not None for n in wanted):
            found.add((None if context is None else args[context], args[singular]))
    return found


def all_source_messages() -> set[tuple[str | None, str]]:
    """What makemessages would extract from the package (Python and templates)."""
    found = set()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        relative = path.relative_to(PACKAGE_DIR)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix == ".py":
            found |= source_messages(path.read_text(encoding="utf-8"))
        elif path.suffix in {".html", ".txt"}:
            code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
            # xgettext reads it without regard to indentation, which a
            # _("…") argument of a tag can leave uneven for tokenize.
            found |= source_messages("\n".join(line.lstrip() for line in code.splitlines()))
    return found


def test_source_scanner_finds_each_kind_of_call():
    """The scanner sees what makemessages sees, and nothing that it skips."""
    code = (
        'x = _("一")\ny = gettext_lazy(\n    "二"\n    "三")\n'
        'z = ngettext("%(n)s 个", "%(n)s 个", n)\nw = pgettext("月份", "五月")\n'
        'v = translation.gettext("四")\nu = _(name)\nt = _(f"{a}")\ndef _(s):\n    pass\n'
    )
    assert source_messages(code) == {(None, "一"), (None, "二三"), (None, "%(n)s 个"),
                                     ("月份", "五月"), (None, "四")}
    template = '{% load i18n %}{% translate "标题" %}{% blocktranslate count n=k %}' \
               '{{ n }} 件{% plural %}{{ n }} 件{% endblocktranslate %}'
    assert source_messages(templatize(template)) == {(None, "标题"), (None, "%(n)s 件")}


def test_every_source_message_is_in_the_catalog(messages):
    """A new string without a catalog entry fails here: run `make messages`
    and translate it."""
    catalog = {(e.msgctxt, e.msgid) for e in messages}
    sources = all_source_messages()
    assert len(sources) > 100
    assert sorted(sources - catalog, key=str) == [], (
        "not in the English catalog: run `make messages` and translate the new entries")


@pytest.mark.django_db
def test_home_defaults_to_chinese(client):
    """Without a language preference the portal speaks Chinese, as zh-CN."""
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-CN"' in body
    for text in ("一站式网上政务服务", "信息公开", "在线办事", "互动交流", "大字模式"):
        assert text in body
    assert "Online services" not in body


@pytest.mark.django_db
def test_home_in_english_from_accept_language(client):
    """A browser that asks for English gets the English portal."""
    response = client.get("/", headers={"accept-language": "en"})
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en"' in body
    for text in ("One-stop online government services", "Government information",
                 "Online services", "Public participation", "Large text",
                 "Skip to main content"):
        assert text in body
    assert "在线办事" not in body
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_home_in_english_from_language_cookie(client):
    """The language cookie (set by the switch) wins over the browser's wish."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/", headers={"accept-language": "zh-CN,zh;q=0.9"}).content.decode()
    assert '<html lang="en"' in body
    assert "Public participation" in body
    assert "互动交流" not in body


@pytest.mark.django_db
def test_language_switch_sets_the_cookie(client):
    """The header's language button stores the choice for the next pages."""
    page = reverse("portal:disclosure")
    response = client.post(reverse("set_language"), {"language": "en", "next": page})
    assert response.status_code == 302
    assert response["Location"] == page
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    body = client.get(page).content.decode()
    assert "<h1>Government information</h1>" in body


@pytest.mark.django_db
def test_refused_sign_in_is_explained_in_english(client, world):
    """Messages of application errors are translated too."""
    response = client.post(reverse("portal:login"), {"username": "a.reviewer", "password": "wrong"},
                           headers={"accept-language": "en"})
    assert response.status_code == 401
    assert "Incorrect username or password." in response.content.decode()
