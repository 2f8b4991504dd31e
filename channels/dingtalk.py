"""`dingtalk` channel kind (being written)."""

from planner.channel_api import ChannelKind


class DingTalkChannel(ChannelKind):
    name = "dingtalk"
    label = "dingtalk"
