"""What the chat robots (WeCom, Feishu, DingTalk) share: a post's Markdown in each one's dialect.

A :class:`Dialect` says how a platform shows each piece of Markdown. :func:`render_blocks` walks the
post's Markdown tree and renders it block by block; anything the dialect cannot show degrades to
readable text (a table becomes rows of text, an image a link, a code block plain or quoted lines).
:func:`pack_parts` then joins the blocks into as few numbered messages as the platform's limits allow.
Posting them is :mod:`channels._chat_webhook`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from planner.channel_api import RenderError
from planner.channel_api import translatable as _l
from planner.channel_text import MARKDOWN_LINK, URL, Node, markdown_tree, pack

BOLD = re.compile(r"\*\*[^*\n]+\*\*")
INLINE_CODE = re.compile(r"`[^`\n]+`")
MARKDOWN_ATOMS = (MARKDOWN_LINK, URL, BOLD, INLINE_CODE)
HEADINGS = {f"h{level}": level for level in range(1, 7)}
BLOCK_TAGS = {*HEADINGS, "p", "pre", "ul", "ol", "blockquote", "table", "hr", "div"}


# ---- how each piece looks --------------------------------------------------------------------

def text_link(text: str, href: str) -> str:
    if not href or text == href:
        return text or href
    return f"{text} ({href})" if text else href


def text_image(alt: str, src: str) -> str:
    return f"{alt} {src}" if alt else src


def markdown_link(text: str, href: str) -> str:
    if not href:
        return text
    return f"[{text or href}]({_safe_href(href)})"


def markdown_image(alt: str, src: str) -> str:
    return f"![{alt}]({_safe_href(src)})"


def markdown_heading(level: int, text: str) -> str:
    return f"{'#' * level} {text}"


def plain_heading(level: int, text: str) -> str:
    return text


def numbered_line(number: int, count: int) -> str:
    return f"({number}/{count})\n"


def numbered_paragraph(number: int, count: int) -> str:
    return f"({number}/{count})\n\n"


@dataclass(frozen=True)
class Dialect:
    """How one platform shows Markdown; an empty marker means the platform has no such thing."""

    bold: str = ""
    italic: str = ""
    inline_code: str = ""
    link: Callable[[str, str], str] = text_link
    image: Callable[[str, str], str] = text_image
    heading: Callable[[int, str], str] = plain_heading
    bullet: str = "• "
    list_indent: str = "  "
    code: Literal["fence", "inline", "quote", "plain"] = "plain"
    tables: bool = False
    rule: str = "————"
    line_break: str = "\n"  # what ends a line inside a block
    numbering: Callable[[int, int], str] = numbered_line
    atoms: tuple[re.Pattern[str], ...] = (URL,)


PLAIN_TEXT = Dialect()


@dataclass(frozen=True)
class Block:
    text: str
    code: bool = False  # a code block: never cut


# ---- rendering ---------------------------------------------------------------------------------

def render_blocks(source: str, dialect: Dialect) -> list[Block]:
    """The post's Markdown as blocks of the dialect, in order."""
    found = [block for node in markdown_tree(source).children for block in _blocks(node, dialect)]
    if dialect.line_break == "\n":
        return found
    return [Block(b.text.replace("\n", dialect.line_break), b.code) for b in found]


def pack_parts(blocks: list[Block], dialect: Dialect, *, limit: int, max_parts: int,
               request_bytes: Callable[[int, int, str], int] | None = None) -> list[str]:
    """Numbered messages of at most ``limit`` UTF-8 bytes each.

    Where the platform counts a whole request body, ``request_bytes(number, count, text)`` measures
    it; while a part's request is over the limit the room for text shrinks by the excess, so even a
    post full of characters JSON must escape ends up within the limit.
    """
    room = limit
    for _ in range(8):
        parts = pack([b.text for b in blocks], limit=room, unit="bytes", max_parts=max_parts,
                     numbering=dialect.numbering, atoms=dialect.atoms,
                     code_blocks={index for index, b in enumerate(blocks) if b.code})
        if request_bytes is None:
            return parts
        excess = max(request_bytes(number, len(parts), text)
                     for number, text in enumerate(parts, start=1)) - limit
        if excess <= 0:
            return parts
        room -= max(excess, limit // 100)
    raise RenderError(_l("the post does not fit in %(parts)s requests of %(limit)s bytes", parts=max_parts,
                         limit=limit))


def _blocks(node: Node, d: Dialect) -> list[Block]:
    if node.tag is None:
        text = node.text.strip()
        return [Block(text)] if text else []
    if node.tag in HEADINGS:
        # The post's title is the only level-1 heading of a message.
        level = max(2, HEADINGS[node.tag])
        return [Block(d.heading(level, _inline(node, d).strip()))]
    if node.tag == "pre":
        return [Block(_code(node, d), code=True)]
    if node.tag in ("ul", "ol"):
        return [Block("\n".join(_list(node, d, 0)))]
    if node.tag == "blockquote":
        inner = "\n\n".join(b.text for child in node.children for b in _blocks(child, d))
        return [Block("\n".join(_quote(line) for line in inner.split("\n")))] if inner else []
    if node.tag == "table":
        return [Block(_table(node, d))]
    if node.tag == "hr":
        return [Block(d.rule)]
    if any(child.tag in BLOCK_TAGS for child in node.children):  # raw HTML holding blocks
        return [b for child in node.children for b in _blocks(child, d)]
    text = _inline(node, d).strip()
    return [Block(text)] if text else []


def _inline(node: Node, d: Dialect) -> str:
    if node.tag is None:
        return node.text
    if node.tag == "a":
        text = " ".join(node.text_content().split())
        href = node.attrs.get("href", "")
        return d.link(text, href) if _absolute(href) else text
    if node.tag == "img":
        alt = " ".join(node.attrs.get("alt", "").split())
        src = node.attrs.get("src", "")
        return d.image(alt, src) if _absolute(src) else alt
    if node.tag == "br":
        return "\n"
    if node.tag == "code":
        code = node.text_content()
        return code if "`" in code else _wrap(code, d.inline_code)
    inner = "".join(_inline(child, d) for child in node.children)
    if node.tag in ("strong", "b"):
        return _wrap(inner, d.bold)
    if node.tag in ("em", "i"):
        return _wrap(inner, d.italic)
    return inner


def _wrap(text: str, marker: str) -> str:
    """``**x**`` with any surrounding spaces kept outside the markers, where Markdown needs them."""
    core = text.strip()
    if not marker or not core:
        return text
    start = len(text) - len(text.lstrip())
    return f"{text[:start]}{marker}{core}{marker}{text[start + len(core):]}"


def _code(pre: Node, d: Dialect) -> str:
    code = next((child for child in pre.children if child.tag == "code"), pre)
    source = code.text_content().rstrip("\n")
    lines = source.split("\n")
    if d.code == "fence":
        language = code.attrs.get("class", "").removeprefix("language-")
        fence = "```"
        while fence in source:
            fence += "`"
        return f"{fence}{language}\n{source}\n{fence}"
    if d.code == "inline":  # one inline-code span per line keeps code monospaced
        return "\n".join(f"`{line}`" if line.strip() and "`" not in line else line
                         for line in lines)
    if d.code == "quote":
        return "\n".join(_quote(line) for line in lines)
    return source


def _quote(line: str) -> str:
    if not line:
        return ">"
    return f">{line}" if line.startswith(">") else f"> {line}"


def _list(node: Node, d: Dialect, depth: int) -> list[str]:
    ordered = node.tag == "ol"
    start = node.attrs.get("start", "1")
    number = int(start) if start.isdigit() else 1
    indent = d.list_indent * depth
    lines: list[str] = []
    for item in (child for child in node.children if child.tag == "li"):
        marker = f"{number}. " if ordered else d.bullet
        number += 1
        own, nested = _item(item, d, depth)
        first, *more = own or [""]
        lines.append(f"{indent}{marker}{first}")
        lines.extend(f"{indent}{' ' * len(marker)}{line}" for line in more)
        lines.extend(nested)
    return lines


def _item(item: Node, d: Dialect, depth: int) -> tuple[list[str], list[str]]:
    """A list item's own lines, and the lines of the lists nested in it."""
    own: list[str] = []
    nested: list[str] = []
    run: list[Node] = []

    def flush() -> None:
        text = "".join(_inline(node, d) for node in run).strip()
        if text:
            own.extend(text.split("\n"))
        run.clear()

    for child in item.children:
        if child.tag in ("ul", "ol"):
            flush()
            nested.extend(_list(child, d, depth + 1))
        elif child.tag in BLOCK_TAGS:
            flush()
            own.extend(line for block in _blocks(child, d) for line in block.text.split("\n"))
        else:
            run.append(child)
    flush()
    return own, nested


def _table(node: Node, d: Dialect) -> str:
    rows = [[" ".join(_inline(cell, d).split()) for cell in row.children if cell.tag in ("th", "td")]
            for row in _descendants(node, "tr")]
    rows = [row for row in rows if row]
    if not rows:
        return ""
    if d.tables:
        width = max(len(row) for row in rows)
        lines = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row + [""] * (width - len(row)))
                 + " |" for row in rows]
        lines.insert(1, "|" + " --- |" * width)
        return "\n".join(lines)
    header, *body = rows
    return "\n".join([" | ".join(_wrap(cell, d.bold) for cell in header)]
                     + [" | ".join(row) for row in body])


def _descendants(node: Node, tag: str) -> Iterator[Node]:
    for child in node.children:
        if child.tag == tag:
            yield child
        elif child.tag is not None:
            yield from _descendants(child, tag)


def _absolute(url: str) -> bool:
    """Only web links can be opened from a chat; a relative or script link stays plain text."""
    return url.lower().startswith(("https://", "http://"))


def _safe_href(href: str) -> str:
    return href.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
