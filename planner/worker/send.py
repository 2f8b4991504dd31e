"""Sending one claimed delivery with no transaction open: its messages, in order, to the platform.

The outcome is recorded afterwards by the dispatcher (``delivery_outcomes.record_outcomes``), only
while it still holds the lease. A post split into several messages records each part as it goes, so
a resend never repeats a part that was delivered.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from planner.channel_api import (
    Capabilities,
    ChannelError,
    ChannelKind,
    Message,
    OutcomeUnknownError,
    PermanentError,
    Receipt,
    RetryableError,
    ThrottledError,
)
from planner.http import HttpClient
from planner.models import DeliveryStatus
from planner.services import delivery_outcomes
from planner.services.channel_trials import redact
from planner.services.delivery_outcomes import Outcome
from planner.state import PlannerState
from planner.worker import failpoints
from planner.worker.jobs import Job

log = logging.getLogger(__name__)


def send_job(state: PlannerState, job: Job, worker_id: str, http: HttpClient) -> Outcome:
    """Send ``job`` and say what came of it, with every secret of its channel redacted."""
    try:
        outcome = job.ready or _send(state, job, worker_id, http)
    except Exception as error:  # the dispatcher's own failure (its database) part-way through
        log.error("delivery %s: sending failed: %s", job.delivery_id, redact(repr(error), job.secrets))
        unknown = OutcomeUnknownError(f"the dispatcher failed while sending: {error!r}")
        outcome = _outcome_of(unknown, job.kind) if job.kind is not None else \
            Outcome(DeliveryStatus.unconfirmed, unknown.message)
    if outcome.message:
        outcome = replace(outcome, message=redact(outcome.message, job.secrets))
    return outcome


def _send(state: PlannerState, job: Job, worker_id: str, http: HttpClient) -> Outcome:
    assert job.kind is not None
    messages = job.messages
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
            # Never the traceback: its frames and the error may carry a URL with the channel's key.
            log.error("delivery %s: channel kind %s raised an unexpected error: %s",
                      job.delivery_id, job.kind.name, redact(repr(error), job.secrets))
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
    assert job.kind is not None
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
