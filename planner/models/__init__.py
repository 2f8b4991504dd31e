"""Models, one aggregate per module; importing this package registers every table."""

from planner.models.alert import Alert
from planner.models.audit import AuditEntry
from planner.models.base import Base
from planner.models.channel import Channel, ChannelTag
from planner.models.delivery import Delivery, DeliveryAttempt, DeliveryStatus
from planner.models.post import Post, PostKind, PostStatus, PostTag, post_channels
from planner.models.review import Review
from planner.models.user import ApiToken, Role, User
from planner.models.workspace import WorkerHeartbeat, WorkspaceSetting

__all__ = [
    "Alert",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Channel",
    "ChannelTag",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Post",
    "PostKind",
    "PostStatus",
    "PostTag",
    "Review",
    "Role",
    "User",
    "WorkerHeartbeat",
    "WorkspaceSetting",
    "post_channels",
]
