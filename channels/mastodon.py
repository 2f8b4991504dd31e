"""`mastodon` channel kind (being written)."""

from planner.channel_api import ChannelKind


class MastodonChannel(ChannelKind):
    name = "mastodon"
    label = "mastodon"
