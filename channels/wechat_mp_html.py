"""How a post becomes WeChat Official Account article HTML. The platform keeps inline styles only (no
classes, ids or scripts) and strips external links and images from articles, so each element gets its
style attribute here, an external link or image is shown as visible text, and the result is sanitised
with nh3 down to the tags and attributes an article may carry.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import nh3

from planner.channel_text import Node, markdown_tree

GREY = "color:#888"
STYLES = {
    "h1": "margin:1.2em 0 .6em;font-size:22px;font-weight:bold",
    "h2": "margin:1.2em 0 .6em;font-size:20px;font-weight:bold",
    "h3": "margin:1em 0 .5em;font-size:18px;font-weight:bold",
    "h4": "margin:1em 0 .5em;font-size:16px;font-weight:bold",
    "p": "margin:0 0 1em;line-height:1.75",
    "blockquote": "margin:0 0 1em;padding:.5em 1em;border-left:3px solid #dcdcdc;color:#666",
    "ul": "margin:0 0 1em;padding-left:2em",
    "li": "margin:.25em 0;line-height:1.75",
    "pre": "margin:0 0 1em;padding:1em;background:#f6f8fa;border-radius:4px;overflow-x:auto;"
           "white-space:pre-wrap;word-break:break-all;font-size:13px;line-height:1.6",
    "code": "padding:2px 4px;background:#f6f8fa;border-radius:3px;font-size:90%",
    "table": "margin:0 0 1em;border-collapse:collapse;width:100%",
    "th": "padding:6px 10px;border:1px solid #dcdcdc;background:#f6f8fa;font-weight:bold",
    "td": "padding:6px 10px;border:1px solid #dcdcdc",
    "hr": "margin:1.5em 0;border:0;border-top:1px solid #dcdcdc",
}
STYLES |= {"h5": STYLES["h4"], "h6": STYLES["h4"], "ol": STYLES["ul"]}
PLAIN = {"strong", "b", "em", "i", "del", "s", "sup", "sub", "thead", "tbody", "tr", "span"}
VOID = {"hr", "br"}
DROPPED = {"script", "style", "iframe", "frame", "object", "embed", "applet", "form", "input",
           "button", "textarea", "select", "noscript", "template", "svg", "math", "link", "meta",
           "head", "title", "audio", "video"}
CONTAINERS = {"root", "ul", "ol", "table", "thead", "tbody", "tr", "blockquote"}
ALLOWED = set(STYLES) | PLAIN | VOID | {"a", "code"}


def article_html(markdown_source: str) -> str:
    """Official Account article HTML: inline styles only (no classes, ids or scripts); external
    links and images become visible text, since the platform strips them from articles."""
    built = _children(markdown_tree(markdown_source))
    return nh3.clean(built, tags=ALLOWED, attributes={"*": {"style"}, "a": {"href"}},
                     url_schemes={"https"}, link_rel=None, strip_comments=True).strip()


def _children(node: Node) -> str:
    return "".join(_node(child, node) for child in node.children)


def _node(node: Node, parent: Node) -> str:
    if node.tag is None:
        if parent.tag in CONTAINERS and not node.text.strip():
            return ""  # the newlines between blocks
        return html.escape(node.text, quote=False)
    tag = node.tag
    if tag in DROPPED:
        return ""
    if tag == "pre":
        return f'<pre style="{STYLES["pre"]}"><code>{html.escape(node.text_content(), quote=False)}' \
               f"</code></pre>"
    if tag == "a":
        return _link(node)
    if tag == "img":
        return _image(node)
    if tag in VOID:
        return f'<{tag} style="{STYLES[tag]}">' if tag in STYLES else f"<{tag}>"
    if tag in STYLES:
        return f'<{tag} style="{STYLES[tag]}">{_children(node)}</{tag}>'
    if tag in PLAIN:
        return f"<{tag}>{_children(node)}</{tag}>"
    return _children(node)  # an unknown wrapper (div, section…): keep what it holds


def _link(node: Node) -> str:
    href = node.attrs.get("href", "").strip()
    label = _children(node)
    parts = urlsplit(href)
    if parts.scheme == "https" and parts.hostname == "mp.weixin.qq.com":
        return f'<a href="{html.escape(href)}">{label}</a>'  # links to other articles stay links
    if parts.scheme not in ("http", "https") or node.text_content().strip() == href:
        return label
    return f'{label}<span style="{GREY}"> ({html.escape(href, quote=False)})</span>'


def _image(node: Node) -> str:
    alt = node.attrs.get("alt", "").strip()
    src = node.attrs.get("src", "").strip()
    label = f"[图片: {alt}]" if alt else "[图片]"
    shown = f"{label} {src}" if urlsplit(src).scheme in ("http", "https") else label
    return f'<span style="{GREY}">{html.escape(shown, quote=False)}</span>'
