"""`wecom` channel kind (being written)."""

from planner.channel_api import ChannelKind


class WeComChannel(ChannelKind):
    name = "wecom"
    label = "wecom"
