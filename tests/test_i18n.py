"""Every page speaks English and Simplified Chinese: no unmarked text, no missing catalog entry."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "planner" / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
# Attributes a reader sees or hears; their text must be translatable too.
SPOKEN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
# Words that stay as they are in every language.
UNTRANSLATED = {"planner", "CSV", "RSS", "Atom", "OPML", "JSON", "API", "URL", "RRULE", "iCalendar",
                "ics", "Markdown", "WeCom", "Feishu", "DingTalk", "Telegram", "Discourse", "Mastodon",
                "WeChat", "UTC", "ID", "IANA", "PostgreSQL", "SQLite", "HTTP", "HTTPS", "SMTP", "OK"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]|\{\w+\}")


class _VisibleText(HTMLParser):
    """Collects text and spoken attribute values from the literal HTML around template tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "svg"):
            self._skip += 1
        self.found += [value for name, value in attrs if name in SPOKEN_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "svg") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.found.append(data)


def unmarked_text(source: str) -> list[str]:
    """Literal words in a template that reach the reader without passing through ``_()``."""
    literal, in_trans, previous = [], False, ""
    for _line, kind, value in Environment(extensions=["jinja2.ext.i18n"]).lex(source):
        if kind == "name" and previous == "block_begin":
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)  # {% trans %} is marked
        if kind == "data" and not in_trans:
            literal.append(value)
        previous = kind if kind != "whitespace" else previous
    parser = _VisibleText()
    parser.feed("".join(literal))
    words = []
    for text in parser.found:
        for word in re.findall(r"[A-Za-z][A-Za-z'’-]+", text):
            if word not in UNTRANSLATED:
                words.append(word)
    return words


def test_the_checker_finds_unmarked_text():
    assert unmarked_text('<p>{{ _("Saved") }}</p><button title="Close it">x</button>') == ["Close", "it"]
    assert unmarked_text("<h1>Reports</h1>{% if x %}<b>{{ x }}</b>{% endif %}") == ["Reports"]
    assert unmarked_text("<a href='/feeds.opml'>OPML</a><script src='/x.js'></script>") == []


TEMPLATES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_string_is_marked_for_translation(template):
    assert unmarked_text((ROOT / template).read_text(encoding="utf-8")) == []


# Python calls whose text reaches a reader: flash() messages, form fields' labels and descriptions,
# validators' messages, the errors planner shows (their message and their per-field messages), and
# what a channel kind declares (its label, its settings' labels and help, why it refuses a post).
FORM_VALIDATORS = {"DataRequired", "InputRequired", "Length", "NumberRange", "Email", "URL", "Regexp",
                   "EqualTo", "AnyOf", "NoneOf", "Optional"}
SHOWN_ERRORS = {"PlannerError", "ValidationFailed", "Conflict", "PermissionDenied", "NotFound", "BadRequest",
                "Unauthenticated", "ValidationError", "RenderError"}


def _literal_words(node: ast.expr) -> str | None:
    """The words of a string literal (plain, f-string, ``%`` or ``.format`` template), if it has any."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _literal_words(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _literal_words(node.func.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    else:
        return None
    return text if re.search(r"[A-Za-z]{2}", text) else None


def _shown_arguments(call: ast.Call) -> list[ast.expr]:
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
    keywords = {k.arg: k.value for k in call.keywords}
    if name == "flash":
        return call.args[:1]
    if name.endswith("Field") and name[:1].isupper() and name != "Field":  # WTForms, not pydantic
        return call.args[:1] + [keywords[k] for k in ("label", "description") if k in keywords]
    if name in FORM_VALIDATORS:
        return [keywords["message"]] if "message" in keywords else []
    if name in SHOWN_ERRORS:
        fields = call.args[1:2]
        return call.args[:1] + [v for d in fields if isinstance(d, ast.Dict) for v in d.values]
    if name == "Setting":
        return call.args[1:2] + [keywords[k] for k in ("label", "help") if k in keywords]
    return []


def unmarked_python(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every literal a reader would see that is not wrapped in ``_()`` / ``_l()``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        shown: list[ast.expr] = []
        if isinstance(node, ast.Call):
            shown = _shown_arguments(node)
        elif isinstance(node, ast.ClassDef):  # a channel kind's ``label = "..."``
            shown = [s.value for s in node.body if isinstance(s, ast.Assign)
                     and any(isinstance(t, ast.Name) and t.id == "label" for t in s.targets)]
        found += [(n.lineno, text) for n in shown if (text := _literal_words(n)) is not None]
    return sorted(found)


def test_the_python_checker_finds_unmarked_text():
    source = """
flash("Saved.", "success")
flash(_("Saved."), "success")
flash(f"{channel.name}: {summary}")
title = StringField("Title", validators=[DataRequired(message=f"say {what}")])
when = StringField(_l("When"), description="local time")
raise ValidationFailed(_("not saved"), {"title": "too long", "body": _("empty")})
raise RenderError("the post has %d parts" % parts)
class Robot(ChannelKind):
    label = "Group robot"
    settings_schema = (Setting("url", "Webhook URL", help=_l("from the robot")),
                       Setting("key", _l("Key"), help="the key={}".format(1)))
pydantic = Field(description="for API clients, in English")
"""
    assert [text for _line, text in unmarked_python(source)] == [
        "Saved.", "Title", "say ", "local time", "too long", "the post has %d parts", "Group robot",
        "Webhook URL", "the key={}"]


PYTHON = sorted(str(p.relative_to(ROOT)) for p in [*(ROOT / "planner").rglob("*.py"),
                                                   *(ROOT / "channels").glob("*.py")])


@pytest.mark.parametrize("module", PYTHON)
def test_every_python_string_a_reader_sees_is_marked_for_translation(module):
    assert unmarked_python((ROOT / module).read_text(encoding="utf-8")) == []


def extracted_messages() -> set[str | tuple[str, ...]]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords={"_": None, "gettext": None, "_l": None,
                                                           "lazy_gettext": None, "ngettext": (1, 2),
                                                           "pgettext": ((1, "c"), 2)}):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.fixture(scope="module")
def chinese():  # type: ignore[no-untyped-def]
    with (CATALOG / "messages.po").open("rb") as po:
        return read_po(po, locale="zh_Hans_CN")


def test_every_message_has_a_chinese_translation(chinese):
    missing, broken = [], []
    for message in extracted_messages():
        msgid = message if isinstance(message, str) else message[0]
        entry = chinese.get(msgid)
        strings = [] if entry is None else ([entry.string] if isinstance(entry.string, str) else entry.string)
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(msgid)
            continue
        wanted = set(PLACEHOLDER.findall(msgid))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            broken.append(msgid)
    assert missing == [], f"{len(missing)} messages have no Chinese translation (run `make messages`)"
    assert broken == [], "these translations lose or add placeholders"


def test_the_compiled_catalog_is_up_to_date(chinese):
    with (CATALOG / "messages.mo").open("rb") as mo:
        compiled = read_mo(mo)
    def entries(catalog, *, skip_fuzzy: bool) -> dict:  # type: ignore[no-untyped-def]
        def plain(value):  # type: ignore[no-untyped-def]
            return value if isinstance(value, str) else tuple(value)

        return {plain(m.id): plain(m.string) for m in catalog if m.id and not (skip_fuzzy and m.fuzzy)}

    assert entries(compiled, skip_fuzzy=False) == entries(chinese, skip_fuzzy=True), \
        "the compiled catalog is older than messages.po: run `make messages`"


def test_pages_follow_the_browser_language(client):
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "登录 planner" in chinese.get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in to planner" in english.get_data(as_text=True)


def test_a_users_own_language_wins_over_the_browser(st, make, auth, client):
    from planner.models import User

    operator = make.user("operator")
    with st.sessions() as session, session.begin():
        session.get(User, operator.id).locale = "zh_Hans_CN"
    auth.login(operator.email)
    page = client.get("/reports", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>报表</h1>" in page and "准时" in page
