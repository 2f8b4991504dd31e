"""`telegram` channel kind (being written)."""

from planner.channel_api import ChannelKind


class TelegramChannel(ChannelKind):
    name = "telegram"
    label = "telegram"
