"""Helpers channel renderers share: Markdown as a tree, measuring, and splitting long posts safely.

A renderer turns the post's Markdown into its platform's dialect block by block (a paragraph, a list,
a code block…), then :func:`pack` joins the rendered blocks into as few messages as the limit allows,
numbering the parts. Splits fall between blocks; only a block that alone is too long is cut, at a
sentence or word boundary that is never inside a link or other atom the renderer names. A code block is
never cut: one that alone exceeds the limit is a :class:`~planner.channel_api.RenderError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal

import markdown

from planner.channel_api import RenderError
from planner.channel_api import translatable as _l

Unit = Literal["bytes", "characters"]
UNITS = {"bytes": _l("bytes"), "characters": _l("characters")}  # a limit's unit, in the reader's words
FENCE = re.compile(r"^(```|~~~)")
URL = re.compile(r"https?://[^\s<>()\[\]\"'，。！？]+")
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
HTML_ELEMENT = re.compile(r"<(a|b|strong|i|em|code|s|u|pre)\b[^>]*>.*?</\1>", re.S)
BREAK_AFTER = "。！？；!?;.\n"


def measure(text: str, unit: Unit) -> int:
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


# ---- Markdown as a tree ------------------------------------------------------------------------

@dataclass
class Node:
    """An HTML element (``tag``) or a run of text (``tag`` is None)."""

    tag: str | None
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def text_content(self) -> str:
        if self.tag is None:
            return self.text
        return "".join(child.text_content() for child in self.children)


class _TreeBuilder(HTMLParser):
    VOID = {"br", "hr", "img", "input", "meta", "link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node(None, text=data))


def markdown_html(source: str) -> str:
    return markdown.markdown(source, extensions=["fenced_code", "tables", "sane_lists"])


def markdown_tree(source: str) -> Node:
    """The post's Markdown rendered by Python-Markdown, as a tree a renderer can walk."""
    builder = _TreeBuilder()
    builder.feed(markdown_html(source))
    builder.close()
    return builder.root


# ---- blocks and parts --------------------------------------------------------------------------

def blocks(source: str) -> list[str]:
    """Split Markdown at blank lines into blocks; a fenced code block stays one block."""
    found: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in source.replace("\r\n", "\n").split("\n"):
        marker = FENCE.match(line.strip())
        if fence is None and marker:
            fence = marker.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        if fence is None and not line.strip() and not marker:
            if current:
                found.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        found.append("\n".join(current))
    return found


def is_code_block(block: str) -> bool:
    return bool(FENCE.match(block.strip())) or all(
        line.startswith(("    ", "\t")) for line in block.split("\n") if line.strip())


def split_text(text: str, limit: int, unit: Unit, atoms: Iterable[re.Pattern[str]] = (URL,)
               ) -> list[str]:
    """Cut one over-long block into pieces within ``limit``, never inside an atom (a link…).

    Prefers a cut after a sentence end, then after whitespace, then between any two characters
    (Chinese text has no spaces). Works on characters, so a multi-byte character is never split.
    """
    protected = _protected_spans(text, atoms)
    pieces: list[str] = []
    start = 0
    while measure(text[start:], unit) > limit:
        end = _furthest_fit(text, start, limit, unit)
        cut = _best_cut(text, start, end, protected)
        if cut <= start:
            raise RenderError(_l("a link or other unbreakable part is longer than the channel's limit"))
        pieces.append(text[start:cut].rstrip())
        start = cut
        while start < len(text) and text[start] in " \n":
            start += 1
    if text[start:].strip():
        pieces.append(text[start:])
    return pieces


def pack(
    rendered: list[str], *, limit: int | None, unit: Unit, max_parts: int,
    separator: str = "\n\n", numbering: Callable[[int, int], str] = lambda i, n: f"({i}/{n})\n",
    code_blocks: set[int] | None = None, atoms: Iterable[re.Pattern[str]] = (URL,),
) -> list[str]:
    """Join rendered blocks into messages within ``limit``, numbered when there is more than one.

    ``code_blocks`` holds the indexes of blocks that must never be cut.
    """
    whole = separator.join(rendered)
    if limit is None or measure(whole, unit) <= limit:
        return [whole]
    if max_parts <= 1:
        raise RenderError(_l(
            "the post is %(size)s %(unit)s after rendering; this channel takes at most %(limit)s "
            "%(unit)s in one message", size=measure(whole, unit), unit=UNITS[unit], limit=limit))
    room = limit - measure(numbering(max_parts, max_parts), unit)
    pieces: list[str] = []
    for index, block in enumerate(rendered):
        if measure(block, unit) <= room:
            pieces.append(block)
        elif code_blocks and index in code_blocks:
            raise RenderError(_l("a code block is %(size)s %(unit)s, longer than the %(room)s %(unit)s "
                                 "one message can hold; code blocks are never cut",
                                 size=measure(block, unit), unit=UNITS[unit], room=room))
        else:
            pieces.extend(split_text(block, room, unit, atoms))
    parts: list[str] = []
    for piece in pieces:
        candidate = parts[-1] + separator + piece if parts else piece
        if parts and measure(candidate, unit) <= room:
            parts[-1] = candidate
        else:
            parts.append(piece)
    if len(parts) > max_parts:
        raise RenderError(_l("the post needs %(parts)s messages on this channel; at most %(limit)s "
                             "are allowed", parts=len(parts), limit=max_parts))
    return [numbering(i, len(parts)) + part for i, part in enumerate(parts, start=1)]


def _protected_spans(text: str, atoms: Iterable[re.Pattern[str]]) -> list[tuple[int, int]]:
    spans = []
    for pattern in atoms:
        spans.extend(match.span() for match in pattern.finditer(text))
    return spans


def _furthest_fit(text: str, start: int, limit: int, unit: Unit) -> int:
    if unit == "characters":
        return min(len(text), start + limit)
    used, end = 0, start
    while end < len(text):
        size = len(text[end].encode("utf-8"))
        if used + size > limit:
            break
        used += size
        end += 1
    return end


def _best_cut(text: str, start: int, end: int, protected: list[tuple[int, int]]) -> int:
    def allowed(position: int) -> bool:
        return all(not (lo < position < hi) for lo, hi in protected)

    floor = start + max(1, (end - start) // 3)  # do not make tiny pieces to honour a preference
    for accept in (lambda p: text[p - 1] in BREAK_AFTER, lambda p: text[p - 1].isspace(),
                   lambda p: True):
        for position in range(end, floor - 1, -1):
            if position < len(text) + 1 and allowed(position) and accept(position):
                return position
    for position in range(end, start, -1):
        if allowed(position):
            return position
    return start
