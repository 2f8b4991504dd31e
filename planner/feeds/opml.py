"""OPML: the subscription lists other feed readers import and export."""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree import ElementTree

MAX_OUTLINES = 1000


class OpmlError(Exception):
    pass


@dataclass(frozen=True)
class Outline:
    url: str
    title: str
    tags: list[str] = field(default_factory=list)


def read(document: bytes) -> list[Outline]:
    """Every feed outline; a folder outline's name and a ``category`` attribute become tags."""
    if b"<!DOCTYPE" in document.upper() or b"<!ENTITY" in document.upper():
        raise OpmlError("OPML files with a DOCTYPE or entities are not accepted")
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as error:
        raise OpmlError(f"not an OPML file: {error}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise OpmlError("not an OPML file: no <opml><body>")
    found: list[Outline] = []

    def walk(node: ElementTree.Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            name = (outline.get("title") or outline.get("text") or "").strip()
            url = (outline.get("xmlUrl") or "").strip()
            if url:
                categories = [c.strip().strip("/") for c in (outline.get("category") or "").split(",")]
                found.append(Outline(url=url, title=name[:200],
                                     tags=list(dict.fromkeys(folders + [c for c in categories if c]))))
            else:
                walk(outline, folders + ([name] if name else []))
            if len(found) > MAX_OUTLINES:
                raise OpmlError(f"more than {MAX_OUTLINES} feeds in one file")

    walk(body, [])
    return found


def write(outlines: list[Outline], title: str) -> bytes:
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    for outline in outlines:
        attributes = {"type": "rss", "text": outline.title, "title": outline.title, "xmlUrl": outline.url}
        if outline.tags:
            attributes["category"] = ",".join(outline.tags)
        ElementTree.SubElement(body, "outline", attributes)
    ElementTree.indent(root)
    text = ElementTree.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode()
