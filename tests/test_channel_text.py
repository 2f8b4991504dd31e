"""Splitting and measuring shared by channel renderers."""

import pytest

from planner.channel_api import RenderError
from planner.channel_text import blocks, markdown_tree, measure, pack, split_text


def test_measure_counts_bytes_or_characters():
    assert measure("早上好👋", "characters") == 4
    assert measure("早上好👋", "bytes") == 13


def test_blocks_keep_code_fences_whole():
    source = "Intro para\nsecond line\n\n```python\nx = 1\n\ny = 2\n```\n\n- a\n- b\n"
    assert blocks(source) == ["Intro para\nsecond line", "```python\nx = 1\n\ny = 2\n```", "- a\n- b"]


def test_markdown_tree_walks_elements():
    tree = markdown_tree("Hello **world** [docs](https://docs.python.org)")
    [paragraph] = tree.children
    assert paragraph.tag == "p"
    assert [c.tag for c in paragraph.children] == [None, "strong", None, "a"]
    assert paragraph.children[3].attrs["href"] == "https://docs.python.org"
    assert paragraph.text_content() == "Hello world docs"


def test_split_never_cuts_a_link_or_a_character():
    text = "学习" * 30 + " https://example.com/a-rather-long-path?x=1 " + "加油" * 30
    for unit, limit in (("characters", 50), ("bytes", 100)):
        pieces = split_text(text, limit, unit)
        assert all(measure(p, unit) <= limit for p in pieces)
        assert any("https://example.com/a-rather-long-path?x=1" in p for p in pieces)
        assert "".join(p.replace(" ", "") for p in pieces) == text.replace(" ", "")


def test_split_prefers_sentence_ends():
    text = "第一句话。" * 6 + "第二段的句子。" * 6
    pieces = split_text(text, 40, "characters")
    assert all(piece.endswith("。") for piece in pieces)


def test_pack_numbers_parts_and_respects_the_limit():
    rendered = [f"Paragraph {i} " + "x" * 60 for i in range(6)]
    parts = pack(rendered, limit=160, unit="characters", max_parts=10)
    assert len(parts) == 3
    assert [p.split("\n", 1)[0] for p in parts] == ["(1/3)", "(2/3)", "(3/3)"]
    assert all(len(p) <= 160 for p in parts)
    assert "Paragraph 0" in parts[0] and "Paragraph 5" in parts[2]


def test_pack_refuses_when_one_message_is_allowed_or_a_code_block_is_too_long():
    with pytest.raises(RenderError, match="at most 20 characters in one message"):
        pack(["x" * 30], limit=20, unit="characters", max_parts=1)
    with pytest.raises(RenderError, match="code blocks are never cut"):
        pack(["intro", "```\n" + "y" * 100 + "\n```"], limit=60, unit="characters",
             max_parts=5, code_blocks={1})


def test_pack_leaves_a_short_post_alone():
    assert pack(["one", "two"], limit=100, unit="bytes", max_parts=3) == ["one\n\ntwo"]
