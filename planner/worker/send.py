"""Sending one claimed delivery: load in a short transaction, send with none open, record the outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from planner.channel_api import (
    Capabilities,
    ChannelContext,
    ChannelError,
    ChannelKind,
    Message,
    OutcomeUnknownError,
    PermanentError,
    PostContent,
    Receipt,
    RenderError,
    RetryableError,
    ThrottledError,
)
from planner.db import reading
from planner.http import HttpClient
from planner.models import Delivery, DeliveryStatus, Post
from planner.services import delivery_outcomes
from planner.services.channel_trials import redact, secret_fragments
from planner.services.channels import build_kind, rate_per_minute
from planner.services.delivery_outcomes import Outcome
from planner.state import PlannerState
from planner.worker import failpoints

log = logging.getLogger(__name__)


@dataclass
class Job:
    delivery_id: int
    key: str
    parts_sent: int
    attempt: int
    gap: float  # seconds between two messages to this target
    secrets: list[str]  # this channel's secret values, kept out of every stored message
    kind: ChannelKind
    content: PostContent


def send_claimed(state: PlannerState, delivery_id: int, worker_id: str, http: HttpClient) -> Outcome:
    job_or_outcome = _prepare(state, delivery_id)
    if isinstance(job_or_outcome, Outcome):
        outcome = job_or_outcome
    else:
        outcome = _send(state, job_or_outcome, worker_id, http)
        if outcome.message:
            outcome = replace(outcome, message=redact(outcome.message, job_or_outcome.secrets))
    with state.sessions() as session, session.begin():
        recorded = delivery_outcomes.record_outcome(
            session, delivery_id, worker_id, outcome, now=state.clock.now(),
            max_attempts=state.config["MAX_ATTEMPTS"],
        )
        failpoints.hit("while_recording")  # the outcome is written but not committed
    if not recorded:
        log.warning("delivery %s: lease lost before the outcome (%s) was recorded",
                    delivery_id, outcome.status)
    return outcome


def _prepare(state: PlannerState, delivery_id: int) -> Job | Outcome:
    # Only reads: on SQLite it must not take the write lock the other senders are waiting for.
    with state.sessions(bind=reading(state.engine)) as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        post = session.get(Post, delivery.post_id)
        assert post is not None
        context = ChannelContext(instance_path=state.instance_path,
                                 community_name=state.config["COMMUNITY_NAME"])
        try:
            kind = build_kind(delivery.channel, state.registry, state.secret_box, context)
        except KeyError:
            return Outcome(DeliveryStatus.failed,
                           f"channel kind {delivery.channel.kind!r} is not installed")
        content = PostContent(kind=post.kind, title=post.title, body=post.body)
        gap = 60 / rate_per_minute(delivery.channel, state.registry)
        secrets = secret_fragments(state.secret_box.open(delivery.channel.secrets_encrypted))
        return Job(delivery.id, delivery.idempotency_key, delivery.parts_sent,
                   delivery.attempt_count, gap, secrets, kind, content)


def _send(state: PlannerState, job: Job, worker_id: str, http: HttpClient) -> Outcome:
    try:
        messages = job.kind.render(job.content)
    except RenderError as error:
        return Outcome(DeliveryStatus.failed, f"cannot be shown on this channel: {error}")
    receipt = Receipt()
    sent_now = 0
    for number, message in enumerate(messages, start=1):
        if number <= job.parts_sent:
            continue
        key = job.key if len(messages) == 1 else f"{job.key}-p{number}"
        try:
            published = _already_published(job, message, http, key)
            receipt = _first_receipt(receipt, published or job.kind.send(message, http, key))
            failpoints.hit("after_response")
        except ChannelError as error:
            return _outcome_of(error, job.kind)
        except Exception as error:  # a plugin bug: whether it posted is unknown
            log.exception("channel %s raised an unexpected error", job.kind.name)
            return _outcome_of(OutcomeUnknownError(f"unexpected error: {error!r}"), job.kind)
        sent_now += 1
        if len(messages) > 1:
            with state.sessions() as session, session.begin():
                if not delivery_outcomes.record_part_sent(session, job.delivery_id, worker_id, number):
                    return Outcome(DeliveryStatus.unconfirmed, "lease lost between parts")
    # Every part counts against the target's rate: hold it for the time that many messages take.
    hold = job.gap * sent_now if sent_now > 1 else None
    return Outcome(DeliveryStatus.sent, remote_id=receipt.remote_id, remote_url=receipt.remote_url,
                   cool_down=hold)


def _already_published(job: Job, message: Message, http: HttpClient, key: str) -> Receipt | None:
    """Before resending where the platform can be asked, ask whether the last try got through."""
    if job.attempt > 1 and _capabilities(job.kind).confirmable:
        return job.kind.confirm(message, http, key)
    return None


def _first_receipt(current: Receipt, new: Receipt) -> Receipt:
    """A split post is identified by its first message."""
    return current if current.remote_id or current.remote_url else new


def _capabilities(kind: ChannelKind) -> Capabilities:
    return type(kind).capabilities_for(kind.settings)


def _outcome_of(error: ChannelError, kind: ChannelKind) -> Outcome:
    capabilities = _capabilities(kind)
    if isinstance(error, ThrottledError):
        return Outcome(DeliveryStatus.retrying, f"throttled: {error.message}",
                       retry_after=error.retry_after, cool_down=error.retry_after)
    if isinstance(error, RetryableError):
        return Outcome(DeliveryStatus.retrying, error.message, retry_after=error.retry_after,
                       target_trouble=True)
    if isinstance(error, PermanentError):
        return Outcome(DeliveryStatus.failed, error.message)
    if isinstance(error, OutcomeUnknownError) and capabilities.idempotency_key:
        return Outcome(DeliveryStatus.retrying,
                       f"{error.message}; resending with the same idempotency key",
                       target_trouble=True)
    if isinstance(error, OutcomeUnknownError) and capabilities.confirmable:
        return Outcome(DeliveryStatus.retrying,
                       f"{error.message}; the platform will be asked before resending",
                       target_trouble=True)
    return Outcome(DeliveryStatus.unconfirmed, error.message, target_trouble=True)

