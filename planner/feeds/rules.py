"""Keep and block rules: a keyword, or a /regular expression/, matched on title, summary, author, link."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

from planner.feeds.parse import ParsedItem, plain_text

RULE_MAX = 200


class Matchable(Protocol):
    """A parsed item or a stored one: both have these."""

    title: str
    summary: str
    author: str
    link: str


def compile_rule(rule: str) -> re.Pattern[str]:
    """The rule as a case-insensitive pattern; ``re.error`` for a broken regular expression."""
    rule = rule.strip()
    if len(rule) > 2 and rule.startswith("/") and rule.endswith("/"):
        return re.compile(rule[1:-1], re.IGNORECASE)
    return re.compile(re.escape(rule), re.IGNORECASE)


@lru_cache(maxsize=512)
def _compiled(rule: str) -> re.Pattern[str] | None:
    try:
        return compile_rule(rule)
    except re.error:
        return None


def rule_problem(rule: str) -> str | None:
    """Why a rule cannot be used, or None."""
    if not rule.strip():
        return "empty rule"
    if len(rule) > RULE_MAX:
        return f"longer than {RULE_MAX} characters"
    try:
        compile_rule(rule)
    except re.error as error:
        return f"not a regular expression: {error}"
    return None


def matches(rules: Iterable[str], item: Matchable) -> bool:
    haystack = "\n".join((item.title, plain_text(item.summary), item.author, item.link))
    return any((pattern := _compiled(rule)) is not None and pattern.search(haystack)
               for rule in rules)


def admitted(item: ParsedItem, keep: list[str], block: list[str]) -> bool:
    """Blocked items never enter the inbox; with keep rules, only items matching one do."""
    if block and matches(block, item):
        return False
    return not keep or matches(keep, item)
