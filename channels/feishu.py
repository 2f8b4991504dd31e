"""`feishu` channel kind (being written)."""

from planner.channel_api import ChannelKind


class FeishuChannel(ChannelKind):
    name = "feishu"
    label = "feishu"
