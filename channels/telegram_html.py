"""How a post becomes Telegram messages in HTML parse mode. Telegram counts a message's length after
parsing the markup: at most 4096 characters of visible text. A longer post is split into numbered parts
between blocks (a paragraph, a list, a quote…), and a block that alone is too long is cut between its
lines or words; every part is balanced HTML because a cut closes the formatting that is open and the
next part reopens it. Links and inline code are never cut, code blocks never at all. Only the tags
Telegram accepts are produced; headings become bold lines, lists get bullets, a table becomes one line
per row and an image a link to it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape

from planner.channel_api import PostContent, RenderError
from planner.channel_api import translatable as _l
from planner.channel_text import Node, markdown_tree

MAX_TEXT = 4096
MAX_PARTS = 10
LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")
STYLE = {"strong": "b", "b": "b", "em": "i", "i": "i", "u": "u", "ins": "u", "s": "s", "del": "s",
         "strike": "s", "tg-spoiler": "tg-spoiler"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
DROPPED = {"script", "style"}
BREAK_AFTER = "。！？；!?;.,，、:：)）"


def units(text: str) -> int:
    """Length as Telegram measures entities: UTF-16 code units (an emoji outside the BMP counts 2).

    Whether the 4096 limit counts code points or UTF-16 units is not documented; UTF-16 is never
    less, so a message within it is within either.
    """
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


@dataclass(frozen=True)
class Run:
    """Visible text with the formatting tags around it (outermost first)."""

    text: str
    tags: tuple[str, ...] = ()
    atom: bool = False  # a link or inline code: never cut


Line = list[Run]


@dataclass
class Block:
    lines: list[Line]
    wrap: tuple[str, ...] = ()  # <blockquote>, or <pre><code …> for a code block
    code: bool = False

    def size(self) -> int:
        return sum(units(run.text) for line in self.lines for run in line) + len(self.lines) - 1

    def html(self) -> str:
        body = "\n".join(_line_html(line) for line in self.lines)
        return "".join(self.wrap) + body + _closing(self.wrap)


def _closing(tags: tuple[str, ...]) -> str:
    return "".join(f"</{tag[1:].split(' ', 1)[0].rstrip('>')}>" for tag in reversed(tags))


def _line_html(line: Line) -> str:
    html: list[str] = []
    index = 0
    while index < len(line):
        run = line[index]
        text = run.text
        index += 1
        while (not run.atom and index < len(line) and not line[index].atom
               and line[index].tags == run.tags):  # merge neighbours with the same formatting
            text += line[index].text
            index += 1
        html.append("".join(run.tags) + escape(text, quote=False) + _closing(run.tags))
    return "".join(html)


def _href(url: str) -> str | None:
    url = url.strip()
    if not url.lower().startswith(LINK_SCHEMES):
        return None  # a relative or script link cannot be followed from a chat
    return f'<a href="{escape(url, quote=True)}">'


def _inline(node: Node, tags: tuple[str, ...] = ()) -> list[Run]:
    if node.tag is None:
        return [Run(node.text, tags)] if node.text else []
    if node.tag in DROPPED:
        return []
    if node.tag == "br":
        return [Run("\n", tags)]
    if node.tag == "code":
        return [Run(node.text_content(), (*tags, "<code>"), atom=True)]
    if node.tag == "a":
        link = _href(node.attrs.get("href", ""))
        text = node.text_content().strip() or node.attrs.get("href", "")
        return [Run(text, (*tags, link), atom=True)] if link else [Run(text, tags)]
    if node.tag == "img":
        alt = node.attrs.get("alt", "").strip() or "image"
        link = _href(node.attrs.get("src", ""))
        return [Run(alt, (*tags, link), atom=True)] if link else [Run(alt, tags)]
    style = STYLE.get(node.tag)
    if node.tag == "span" and "tg-spoiler" in node.attrs.get("class", ""):
        style = "tg-spoiler"
    inner = (*tags, f"<{style}>") if style else tags
    return [run for child in node.children for run in _inline(child, inner)]


def _lines(runs: list[Run]) -> list[Line]:
    """Break runs into lines at newlines, trimmed, without empty lines."""
    lines: list[Line] = [[]]
    for run in runs:
        if run.atom or "\n" not in run.text:
            lines[-1].append(run)
            continue
        first, *rest = run.text.split("\n")
        lines[-1].append(replace(run, text=first))
        for piece in rest:
            lines.append([replace(run, text=piece)])
    return [trimmed for line in lines if (trimmed := _trim(line))]


def _trim(line: Line) -> Line:
    line = [run for run in line if run.text]
    if line and not line[0].atom:
        line[0] = replace(line[0], text=line[0].text.lstrip())
    if line and not line[-1].atom:
        line[-1] = replace(line[-1], text=line[-1].text.rstrip())
    return [run for run in line if run.text]


def _list_lines(node: Node, depth: int = 0) -> list[Line]:
    lines: list[Line] = []
    number = int(node.attrs.get("start", "1") or 1) if node.tag == "ol" else 0
    for item in (child for child in node.children if child.tag == "li"):
        marker = f"{number}. " if node.tag == "ol" else "• "
        number += 1
        runs: list[Run] = []  # the item's own text, up to a nested list
        nested: list[Line] = []
        for child in item.children:
            if child.tag in ("ul", "ol"):
                nested.extend(_list_lines(child, depth + 1))
            elif child.tag == "p":  # a loose list: one line per paragraph
                runs.extend([*_inline(child), Run("\n")])
            else:
                runs.extend(_inline(child))
        own = _lines(runs) or [[]]
        lines.append([Run("  " * depth + marker), *own[0]])
        lines.extend([Run("  " * (depth + 1)), *line] for line in own[1:])
        lines.extend(nested)
    return lines


def _table_lines(node: Node) -> list[Line]:
    lines: list[Line] = []
    for row in _find(node, "tr"):
        line: Line = []
        for cell in (c for c in row.children if c.tag in ("th", "td")):
            if line:
                line.append(Run(" | "))
            tags = ("<b>",) if cell.tag == "th" else ()
            line.extend(run for part in _lines(_inline(cell, tags)) for run in part)
        if line:
            lines.append(line)
    return lines


def _find(node: Node, tag: str) -> list[Node]:
    if node.tag == tag:
        return [node]
    return [found for child in node.children for found in _find(child, tag)]


def _blocks(node: Node) -> list[Block]:
    found: list[Block] = []
    for child in node.children:
        if child.tag is None and not child.text.strip():
            continue
        if child.tag == "pre":
            found.append(_code_block(child))
        elif child.tag in HEADINGS:
            found.append(Block(_lines(_inline(child, ("<b>",)))))
        elif child.tag in ("ul", "ol"):
            found.append(Block(_list_lines(child)))
        elif child.tag == "table":
            found.append(Block(_table_lines(child)))
        elif child.tag == "hr":
            found.append(Block([[Run("———")]]))
        elif child.tag == "blockquote":
            # Telegram does not nest a code block or another quote inside a quote: flatten them.
            inner = [line for block in _blocks(child) for line in block.lines]
            found.append(Block(inner, ("<blockquote>",)))
        elif child.tag in ("div", "section", "details"):
            found.extend(_blocks(child))
        else:
            found.append(Block(_lines(_inline(child))))
    return [block for block in found if block.lines]


def _code_block(pre: Node) -> Block:
    code = next((c for c in pre.children if c.tag == "code"), pre)
    language = code.attrs.get("class", "")
    opening = f'<code class="{escape(language)}">' if language.startswith("language-") else "<code>"
    text = code.text_content().rstrip("\n")
    return Block([[Run(line)] for line in text.split("\n")], ("<pre>", opening), code=True)


def numbering(part: int, parts: int) -> str:
    return f"({part}/{parts})\n"


def split(blocks: list[Block], limit: int = MAX_TEXT, max_parts: int = MAX_PARTS) -> list[str]:
    """The messages for these blocks: one if it fits, else numbered parts, each within ``limit``."""
    if sum(block.size() for block in blocks) + 2 * (len(blocks) - 1) <= limit:
        return ["\n\n".join(block.html() for block in blocks)]
    room = limit - units(numbering(max_parts, max_parts))
    pieces: list[Block] = []
    for block in blocks:
        if block.size() <= room:
            pieces.append(block)
        elif block.code:
            raise RenderError(_l("a code block is %(size)s characters, longer than the %(room)s one "
                                 "Telegram message can hold; code blocks are never cut",
                                 size=block.size(), room=room))
        else:
            pieces.extend(_split_block(block, room))
    parts: list[list[Block]] = []
    for piece in pieces:
        if parts and sum(b.size() + 2 for b in parts[-1]) + piece.size() <= room:
            parts[-1].append(piece)
        else:
            parts.append([piece])
    if len(parts) > max_parts:
        raise RenderError(_l("the post needs %(parts)s Telegram messages; at most %(limit)s are "
                             "allowed", parts=len(parts), limit=max_parts))
    return [numbering(number, len(parts)) + "\n\n".join(b.html() for b in part)
            for number, part in enumerate(parts, start=1)]


def _split_block(block: Block, room: int) -> list[Block]:
    lines = [piece for line in block.lines for piece in _split_line(line, room)]
    pieces = [Block([lines[0]], block.wrap)]
    for line in lines[1:]:
        candidate = Block([*pieces[-1].lines, line], block.wrap)
        if candidate.size() <= room:
            pieces[-1] = candidate
        else:
            pieces.append(Block([line], block.wrap))
    return pieces


def _split_line(line: Line, room: int) -> list[Line]:
    text = "".join(run.text for run in line)
    if units(text) <= room:
        return [line]
    atoms, offset = [], 0
    for run in line:
        if run.atom:
            atoms.append((offset, offset + len(run.text)))
        offset += len(run.text)
    pieces: list[Line] = []
    start = 0
    while units(text[start:]) > room:
        end, used = start, 0
        while end < len(text) and used + units(text[end]) <= room:
            used += units(text[end])
            end += 1
        cut = _cut(text, start, end, atoms)
        if cut <= start:
            raise RenderError(_l("a link or inline code is longer than the %(room)s characters one "
                                 "Telegram message can hold", room=room))
        pieces.append(_trim(_slice(line, start, cut)))
        start = cut
    pieces.append(_trim(_slice(line, start, len(text))))
    return [piece for piece in pieces if piece]


def _cut(text: str, start: int, end: int, atoms: list[tuple[int, int]]) -> int:
    """The best place to cut ``text`` at or before ``end``: after a sentence, a space, anywhere."""
    def allowed(position: int) -> bool:
        return all(not lo < position < hi for lo, hi in atoms)

    floor = start + max(1, (end - start) // 3)  # a much earlier sentence end makes tiny parts
    for accept in (lambda p: text[p - 1] in BREAK_AFTER, lambda p: text[p - 1].isspace(),
                   lambda p: True):
        for position in range(end, floor - 1, -1):
            if allowed(position) and accept(position):
                return position
    return next((p for p in range(end, start, -1) if allowed(p)), start)


def _slice(line: Line, lo: int, hi: int) -> Line:
    pieces: Line = []
    offset = 0
    for run in line:
        start, end = max(lo, offset), min(hi, offset + len(run.text))
        if start < end:
            pieces.append(replace(run, text=run.text[start - offset:end - offset]))
        offset += len(run.text)
    return pieces


def render_html(post: PostContent, max_parts: int = MAX_PARTS) -> list[str]:
    blocks = _blocks(markdown_tree(post.body))
    if post.title.strip():
        blocks.insert(0, Block([[Run(post.title.strip(), ("<b>",))]]))
    if not blocks:
        raise RenderError(_l("the post has no text to send"))
    return split(blocks, MAX_TEXT, max_parts)
