"""`discourse` channel kind (being written)."""

from planner.channel_api import ChannelKind


class DiscourseChannel(ChannelKind):
    name = "discourse"
    label = "discourse"
