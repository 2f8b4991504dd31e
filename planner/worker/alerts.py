"""Sending queued alerts through the alerts channel's own kind, after the deliveries of a tick."""

from __future__ import annotations

import logging

from planner.channel_api import ChannelContext, ChannelError, PostContent
from planner.db import reading
from planner.http import HttpClient
from planner.models import Alert, Channel
from planner.services import alerts
from planner.services.channel_trials import redact, secret_fragments
from planner.services.channels import build_kind
from planner.state import PlannerState

log = logging.getLogger(__name__)


def send_due_alerts(state: PlannerState, http: HttpClient) -> int:
    with state.sessions() as session, session.begin():
        claimed = alerts.claim_due(session, now=state.clock.now())
    for alert_id in claimed:
        error = _send(state, alert_id, http)
        with state.sessions() as session, session.begin():
            alerts.record(session, alert_id, now=state.clock.now(), error=error)
    return len(claimed)


def _send(state: PlannerState, alert_id: int, http: HttpClient) -> str | None:
    with state.sessions(bind=reading(state.engine)) as session:
        alert = session.get(Alert, alert_id)
        channel = session.get(Channel, alert.channel_id) if alert is not None else None
        if alert is None or channel is None:
            return "the alerts channel no longer exists"
        context = ChannelContext(instance_path=state.instance_path,
                                 community_name=state.config["COMMUNITY_NAME"])
        try:
            kind = build_kind(channel, state.registry, state.secret_box, context)
        except KeyError:
            return f"channel kind {channel.kind!r} is not installed"
        secrets = secret_fragments(state.secret_box.open(channel.secrets_encrypted))
        content = PostContent(kind="announcement", title="planner alert", body=alert.text)
    try:
        for number, message in enumerate(kind.render(content), start=1):
            kind.send(message, http, f"planner-alert-{alert_id}-p{number}")
    except ChannelError as error:
        problem = redact(error.message, secrets)
        log.warning("alert %s could not be sent: %s", alert_id, problem)
        return problem
    except Exception as error:  # a broken alerts channel must not stop the dispatcher
        # Never the traceback: it may carry the channel's URL with its key.
        problem = redact(f"unexpected error: {error!r}", secrets)
        log.error("alert %s could not be sent: %s", alert_id, problem)
        return problem
    return None
