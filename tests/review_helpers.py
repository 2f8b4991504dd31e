"""What the review tests share: real channel kinds with settings, the checker, posting rules."""

from __future__ import annotations

from channels.discourse import DiscourseChannel
from channels.mastodon import MastodonChannel
from channels.outbox import OutboxChannel
from channels.wecom import WeComChannel
from planner.channel_api import ChannelContext
from planner.registry import Registry
from planner.services import channels as channel_service
from planner.services import workspace
from planner.services.checks import Checker

KINDS = {"outbox": OutboxChannel, "mastodon": MastodonChannel, "wecom": WeComChannel,
         "discourse": DiscourseChannel}
SETTINGS = {
    "outbox": {},
    "mastodon": {"base_url": "https://mastodon.example", "access_token": "token"},
    "wecom": {"webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
    "discourse": {"base_url": "https://forum.example", "api_key": "key"},
}


def enable_kinds(st) -> Registry:  # type: ignore[no-untyped-def]
    st.registry = Registry(KINDS)
    return st.registry


def channel(st, kind: str, name: str, tags: list[str] | None = None, **settings):  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        return channel_service.create_channel(
            session, st.registry, st.secret_box, kind=kind, name=name,
            settings=SETTINGS[kind] | settings, tags=tags or [], actor="test", now=st.clock.now())


def checker(st) -> Checker:  # type: ignore[no-untyped-def]
    return Checker(st.registry, ChannelContext(instance_path=st.instance_path), "Asia/Shanghai")


def set_rules(st, banned=(), per_day=0, gap=0) -> None:  # type: ignore[no-untyped-def]
    with st.sessions() as session, session.begin():
        workspace.put_posting_rules(session, workspace.PostingRules(tuple(banned), per_day, gap),
                                    actor="test", now=st.clock.now())

