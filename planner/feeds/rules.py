"""Keep and block rules: a keyword, or a /regular expression/, matched on title, summary, author, link."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from planner.feeds.parse import ParsedItem

RULE_MAX = 200


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


def matches(rules: Iterable[str], haystack: str) -> bool:
    return any((pattern := _compiled(rule)) is not None and pattern.search(haystack)
               for rule in rules)


def admitted(item: ParsedItem, keep: list[str], block: list[str]) -> bool:
    """Blocked items never enter the inbox; with keep rules, only items matching one do."""
    if not (keep or block):
        return True
    haystack = "\n".join((item.title, item.text, item.author, item.link))
    if block and matches(block, haystack):
        return False
    return not keep or matches(keep, haystack)
