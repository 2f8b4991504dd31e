"""`webhook` channel kind (being written)."""

from planner.channel_api import ChannelKind


class WebhookChannel(ChannelKind):
    name = "webhook"
    label = "webhook"
