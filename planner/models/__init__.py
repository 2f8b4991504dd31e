"""Models, one aggregate per module; importing this package registers every table."""

from planner.models.alert import Alert
from planner.models.audit import AuditEntry
from planner.models.base import Base
from planner.models.booking import Booking, BookingStatus
from planner.models.channel import Channel, ChannelTag
from planner.models.comment import Comment
from planner.models.delivery import Delivery, DeliveryAttempt, DeliveryStatus
from planner.models.feed import Feed, FeedItem, FeedItemState, feed_channels
from planner.models.login_failure import LoginFailure
from planner.models.post import Post, PostKind, PostStatus, PostTag, post_channels
from planner.models.rate_limit import RateLimitWindow
from planner.models.review import Review
from planner.models.series import Series, SeriesStatus, SeriesTag, series_channels
from planner.models.slot import Slot, SlotState
from planner.models.user import ApiToken, Role, User
from planner.models.workspace import WorkerHeartbeat, WorkspaceSetting

__all__ = [
    "Alert",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Booking",
    "BookingStatus",
    "Channel",
    "ChannelTag",
    "Comment",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Feed",
    "FeedItem",
    "FeedItemState",
    "LoginFailure",
    "Post",
    "PostKind",
    "PostStatus",
    "PostTag",
    "RateLimitWindow",
    "Review",
    "Series",
    "SeriesStatus",
    "SeriesTag",
    "Role",
    "Slot",
    "SlotState",
    "User",
    "WorkerHeartbeat",
    "WorkspaceSetting",
    "feed_channels",
    "post_channels",
    "series_channels",
]
