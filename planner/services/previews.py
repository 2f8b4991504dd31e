"""How a post will look on each of its target channels, rendered by that channel kind's own renderer.

Rendering is pure (no I/O): the editor's unsaved input can be previewed on every keystroke. Only a
channel's plain settings reach the renderer; its secrets are never opened for a preview.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.channel_api import ChannelContext, Limits, Message, PostContent, RenderError
from planner.channel_text import measure
from planner.models import Channel, ChannelTag, Post
from planner.registry import Registry


@dataclass(frozen=True)
class Draft:
    """What previews and checks look at: a saved post, or the editor's input before it is saved."""

    kind: str
    title: str
    body: str
    scheduled_at: datetime | None
    targets: list[Channel]
    post_id: int | None = None

    @classmethod
    def of(cls, post: Post, targets: list[Channel]) -> Draft:
        return cls(post.kind, post.title, post.body, post.scheduled_at, targets, post.id)


@dataclass
class Rendering:
    """One target's preview: the messages the platform will get, and how full they are."""

    channel: Channel
    kind_label: str
    limits: Limits | None  # None when the channel's kind is not installed
    titles: bool = False
    messages: list[Message] = field(default_factory=list)
    refusal: str | None = None  # why the kind cannot take the post, in its own words

    @property
    def length(self) -> int | None:
        """The longest message, in the kind's unit."""
        if self.limits is None or not self.messages:
            return None
        return max(measure(m.text, self.limits.unit) for m in self.messages)


def targets_for(session: Session, channel_ids: list[int], tags: list[str]) -> list[Channel]:
    """The enabled channels unsaved input would go to: chosen ones plus every channel with its tags."""
    found: dict[int, Channel] = {}
    if channel_ids:
        for channel in session.scalars(select(Channel).where(Channel.id.in_(channel_ids),
                                                             Channel.enabled.is_(True))):
            found[channel.id] = channel
    if tags:
        tagged = session.scalars(select(Channel).join(ChannelTag)
                                 .where(ChannelTag.tag.in_(tags), Channel.enabled.is_(True)))
        for channel in tagged:
            found.setdefault(channel.id, channel)
    return sorted(found.values(), key=lambda c: c.id)


def render(draft: Draft, channel: Channel, registry: Registry, context: ChannelContext) -> Rendering:
    if channel.kind not in registry:
        return Rendering(channel, channel.kind, None)
    kind_class = registry.get(channel.kind)
    settings = dict(channel.settings)
    rendering = Rendering(channel, str(kind_class.label), kind_class.limits_for(settings),
                          kind_class.capabilities_for(settings).titles)
    try:
        rendering.messages = kind_class(settings, context).render(
            PostContent(kind=draft.kind, title=draft.title, body=draft.body))
    except RenderError as error:
        rendering.refusal = str(error)
    return rendering


def render_all(draft: Draft, registry: Registry, context: ChannelContext) -> list[Rendering]:
    """Each target's rendering. Rendering is pure, so channels of one kind with the same settings
    (two hundred WeCom groups, say) share one rendering instead of parsing the post two hundred times."""
    done: dict[tuple[str, str], Rendering] = {}
    renderings = []
    for channel in draft.targets:
        key = (channel.kind, json.dumps(channel.settings, sort_keys=True, default=str))
        if key not in done:
            done[key] = render(draft, channel, registry, context)
        renderings.append(replace(done[key], channel=channel))
    return renderings
