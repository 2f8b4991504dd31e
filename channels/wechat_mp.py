"""`wechat_mp` channel kind (being written)."""

from planner.channel_api import ChannelKind


class WeChatOfficialAccountChannel(ChannelKind):
    name = "wechat_mp"
    label = "wechat_mp"
