"""Pre-publish checks: what would go wrong if this post went out, per target channel.

Each finding names its target (or none, for the whole post), a code, a severity and a message in plain
words. An ``error`` blocks approval; a ``warning`` only informs. The editor shows them as the post is
written; ``approve`` refuses a post while an error remains.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.channel_api import ChannelContext
from planner.channel_text import Node, markdown_tree
from planner.errors import ValidationFailed
from planner.models import Channel, Delivery, DeliveryStatus, Post
from planner.registry import Registry
from planner.services import workspace
from planner.services.previews import Draft, Rendering, render_all
from planner.services.workspace import PostingRules

if TYPE_CHECKING:
    from planner.state import PlannerState

Severity = Literal["error", "warning"]
# Deliveries that stand for a post really going (or gone) out to a channel.
GOING_OUT = (DeliveryStatus.pending, DeliveryStatus.sending, DeliveryStatus.sent,
             DeliveryStatus.retrying, DeliveryStatus.unconfirmed)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# Chinese text runs straight into an address: only a Latin letter or digit before it hides one, and
# full-width punctuation ends it.
LINK_LIKE = re.compile(r"(?<![A-Za-z0-9/])(?:https?:|[a-z][a-z0-9+.-]*://)[^\s<>\"，。！？；：、「」『』（）《》【】]*",
                       re.I)
BROKEN_MARKDOWN_LINK = re.compile(r"\[[^\]\n]+\]\(([^)\n]*)\)?")
TRAILING = ".,;:!?)]}'\"。，！？；：、」』）》"
LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    channel_id: int | None = None

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    @property
    def field(self) -> str:
        """The key this finding has among an error's ``fields``."""
        return f"checks.{self.code}" + ("" if self.channel_id is None else f".{self.channel_id}")


@dataclass(frozen=True)
class Checker:
    """Everything the checks need besides the database: the channel kinds and the default timezone."""

    registry: Registry
    context: ChannelContext
    default_timezone: str

    def timezone(self, session: Session) -> ZoneInfo:
        return ZoneInfo(workspace.get(session, "timezone", self.default_timezone))

    def run(self, session: Session, draft: Draft) -> list[Finding]:
        return self.preview(session, draft)[1]

    def preview(self, session: Session, draft: Draft) -> tuple[list[Rendering], list[Finding]]:
        """Every target's rendering, and every finding: the post's own, then each target's."""
        rules = workspace.posting_rules(session)
        renderings = render_all(draft, self.registry, self.context)
        findings = post_findings(draft, rules)
        for rendering in renderings:
            findings.extend(target_findings(draft, rendering))
        findings.extend(schedule_findings(session, draft, rules, self.timezone(session)))
        return renderings, findings

    def require_clear(self, session: Session, post: Post, targets: list[Channel]) -> None:
        """Refuse (422) when an error remains; each finding becomes one of the error's fields."""
        errors = [f for f in self.run(session, Draft.of(post, targets)) if f.blocking]
        if errors:
            raise ChecksFailed(errors)

    def require_schedule_clear(self, session: Session, post: Post, targets: list[Channel],
                               scheduled_at: datetime) -> None:
        """Refuse (422) moving ``post`` to ``scheduled_at`` when that breaks the posting rules
        (posts a day, minutes between posts): the checks a move re-runs, as only the time changes."""
        draft = replace(Draft.of(post, targets), scheduled_at=scheduled_at)
        errors = [f for f in schedule_findings(session, draft, workspace.posting_rules(session),
                                               self.timezone(session)) if f.blocking]
        if errors:
            raise ChecksFailed(errors, _("the new time breaks the community's posting rules"))


class ChecksFailed(ValidationFailed):
    """Approval refused by the pre-publish checks; ``findings`` are the blocking ones."""

    def __init__(self, findings: list[Finding], message: str | None = None) -> None:
        super().__init__(message or _("the post did not pass its pre-publish checks"),
                         {f.field: f.message for f in findings})
        self.findings = findings


def checker_for(st: PlannerState, session: Session) -> Checker:
    """The checks with this installation's channel kinds and the workspace's community name, for
    work done outside a request (the dispatcher materialising series, the demo)."""
    community = workspace.community_name(session, st.config)
    return Checker(st.registry, ChannelContext(instance_path=st.instance_path,
                                               community_name=community), st.config["TIMEZONE"])


# ---- the post as a whole -----------------------------------------------------------------------

def post_findings(draft: Draft, rules: PostingRules) -> list[Finding]:
    findings = []
    words = banned_words_in(f"{draft.title}\n{draft.body}", rules.banned_words)
    if words:
        findings.append(Finding("banned_words", "error", _(
            "the post contains words the community's rules forbid: %(words)s",
            words=", ".join(f"“{w}”" for w in words))))
    bad = broken_links(draft.body)
    if bad:
        findings.append(Finding("bad_links", "error", _(
            "these links are not valid http(s) addresses: %(links)s",
            links=", ".join(f"“{link}”" for link in bad))))
    return findings


def banned_words_in(text: str, banned: tuple[str, ...] | list[str]) -> list[str]:
    """The banned words that occur: whole words for spaced scripts, anywhere for Chinese and Japanese."""
    found = []
    folded = text.casefold()
    for word in banned:
        if word.casefold() not in folded:  # most words are not there at all: skip them cheaply
            continue
        if CJK.search(word):
            hit = True
        else:
            hit = any(_stands_alone(text, m.start(), m.end())
                      for m in re.finditer(re.escape(word), text, re.I))
        if hit:
            found.append(word)
    return found


def _stands_alone(text: str, start: int, end: int) -> bool:
    def joins(position: int) -> bool:
        return 0 <= position < len(text) and text[position].isalnum() and not CJK.match(text[position])
    return not joins(start - 1) and not joins(end)


def broken_links(markdown: str) -> list[str]:
    """Link targets and bare addresses in the post that are not valid http or https URLs."""
    bad: list[str] = []

    def walk(node: Node) -> None:
        if node.tag in ("code", "pre"):
            return
        if node.tag == "a":
            href = node.attrs.get("href", "")
            if not (valid_url(href) or _mail_link(href)):
                bad.append(href or node.text_content())
            return
        if node.tag is None:
            for match in BROKEN_MARKDOWN_LINK.finditer(node.text):
                bad.append(match.group(1) or match.group(0))
            text = BROKEN_MARKDOWN_LINK.sub(" ", node.text)
            for match in LINK_LIKE.finditer(text):
                token = match.group(0).rstrip(TRAILING)
                if not valid_url(token):
                    bad.append(token)
        for child in node.children:
            walk(child)

    walk(markdown_tree(markdown))
    return list(dict.fromkeys(bad))


def valid_url(url: str) -> bool:
    if not url or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or labels[-1].isdigit():
        return False
    try:
        return all(LABEL.match(label.encode("idna").decode("ascii")) for label in labels)
    except UnicodeError:
        return False


def _mail_link(href: str) -> bool:
    return href.lower().startswith("mailto:") and "@" in href


# ---- per target ----------------------------------------------------------------------------------

def target_findings(draft: Draft, rendering: Rendering) -> list[Finding]:
    channel = rendering.channel
    name = channel.name
    if rendering.limits is None:
        return [Finding("kind_missing", "error", _(
            "%(channel)s: its channel kind “%(kind)s” is not installed, so nothing can be sent there",
            channel=name, kind=channel.kind), channel.id)]
    if rendering.titles and not draft.title.strip():
        return [Finding("missing_title", "error", _(
            "%(channel)s: %(kind)s shows a title, and the title is empty",
            channel=name, kind=rendering.kind_label), channel.id)]
    limits = rendering.limits
    if rendering.refusal is not None:
        code = "too_long" if limits.max_length is not None else "cannot_render"
        return [Finding(code, "error", _("%(channel)s (%(kind)s) cannot take this post: %(why)s",
                                         channel=name, kind=rendering.kind_label,
                                         why=rendering.refusal), channel.id)]
    parts = len(rendering.messages)
    length = rendering.length or 0
    if parts > limits.max_parts or (limits.max_length is not None and length > limits.max_length):
        return [Finding("too_long", "error", _(
            "%(channel)s: the post needs %(parts)d message(s) of up to %(length)d %(unit)s; this "
            "channel takes %(max_parts)d of at most %(limit)s %(unit)s",
            channel=name, parts=parts, length=length, unit=limits.unit, max_parts=limits.max_parts,
            limit=limits.max_length), channel.id)]
    if parts > 1:
        return [Finding("split", "warning", _(
            "%(channel)s: the post is too long for one message and goes out as %(parts)d numbered "
            "messages", channel=name, parts=parts), channel.id)]
    return []


# ---- the schedule --------------------------------------------------------------------------------

def schedule_findings(session: Session, draft: Draft, rules: PostingRules,
                      tz: ZoneInfo) -> list[Finding]:
    """Too many posts to one channel that (local) day, or another post too close in time."""
    per_day, gap_minutes = rules.max_posts_per_channel_per_day, rules.min_minutes_between_posts
    when = draft.scheduled_at
    if when is None or not draft.targets or not (per_day or gap_minutes):
        return []
    day = when.astimezone(tz).date()
    day_start = datetime.combine(day, time(), tz)
    day_end = datetime.combine(day + timedelta(days=1), time(), tz)
    gap = timedelta(minutes=gap_minutes)
    query = (select(Delivery.channel_id, Delivery.post_id, Delivery.due_at, Post.title)
             .join(Post, Post.id == Delivery.post_id)
             .where(Delivery.channel_id.in_([c.id for c in draft.targets]),
                    Delivery.status.in_(GOING_OUT),
                    Delivery.due_at >= min(day_start, when - gap),
                    Delivery.due_at < max(day_end, when + gap)))
    if draft.post_id is not None:
        query = query.where(Delivery.post_id != draft.post_id)
    rows = session.execute(query).all()
    findings = []
    for channel in draft.targets:
        mine = [row for row in rows if row.channel_id == channel.id]
        that_day = {row.post_id for row in mine if day_start <= row.due_at < day_end}
        if per_day and len(that_day) + 1 > per_day:
            findings.append(Finding("too_many_that_day", "error", _(
                "%(channel)s already has %(count)d post(s) on %(day)s (%(tz)s); the community's "
                "rules allow at most %(limit)d a day", channel=channel.name, count=len(that_day),
                day=day.isoformat(), tz=tz.key, limit=per_day), channel.id))
        close = [row for row in mine if gap_minutes and abs(row.due_at - when) < gap]
        if close:
            row = min(close, key=lambda r: abs(r.due_at - when))
            distance = abs(row.due_at - when)
            findings.append(Finding("too_close", "error", _(
                "%(channel)s: “%(title)s” goes out at %(at)s, %(minutes)d minutes from this post; "
                "the community's rules ask for at least %(gap)d minutes between posts",
                channel=channel.name, title=row.title,
                at=row.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                minutes=distance // timedelta(minutes=1), gap=gap_minutes), channel.id))
    return findings
