"""Alerts to the operators' alerts channel (a workspace setting) about deliveries that need a person."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from planner.models import Alert, Channel, Delivery, Post
from planner.services import workspace

MAX_ATTEMPTS = 5
CLAIM_FOR = timedelta(minutes=5)


def raise_for(session: Session, delivery: Delivery, *, now: datetime) -> Alert | None:
    """Queue an alert about ``delivery`` when the workspace has an alerts channel."""
    channel_id = workspace.get(session, "alerts_channel_id", None)
    if not channel_id or channel_id == delivery.channel_id:
        return None
    alerts_channel = session.get(Channel, channel_id)
    if alerts_channel is None or not alerts_channel.enabled:
        return None
    post = session.get(Post, delivery.post_id)
    title = post.title if post is not None else f"post {delivery.post_id}"
    text = (f"Delivery {delivery.id} of “{title}” to {delivery.channel.name} is {delivery.status}: "
            f"{delivery.last_error or 'no message from the platform'}. "
            "Retry it, or record what happened, on the Deliveries page.")
    alert = Alert(delivery_id=delivery.id, channel_id=channel_id, text=text, status="pending",
                  next_attempt_at=now, created_at=now)
    session.add(alert)
    return alert


def claim_due(session: Session, *, now: datetime, limit: int = 20) -> list[int]:
    """Take due alerts for a while so that two dispatchers do not send the same one."""
    due = session.scalars(
        select(Alert.id).where(Alert.status == "pending", Alert.next_attempt_at <= now)
        .order_by(Alert.id).limit(limit)
    ).all()
    taken = []
    for alert_id in due:
        claimed = session.execute(
            update(Alert).where(Alert.id == alert_id, Alert.status == "pending",
                                Alert.next_attempt_at <= now)
            .values(next_attempt_at=now + CLAIM_FOR, attempt_count=Alert.attempt_count + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            taken.append(alert_id)
    return taken


def record(session: Session, alert_id: int, *, now: datetime, error: str | None) -> None:
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    if error is None:
        alert.status, alert.sent_at, alert.last_error = "sent", now, None
        return
    alert.last_error = error
    if alert.attempt_count >= MAX_ATTEMPTS:
        alert.status = "failed"
    else:
        alert.next_attempt_at = now + timedelta(minutes=2 ** alert.attempt_count)
