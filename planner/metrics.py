"""Prometheus figures computed from the database, so they are true whichever process serves them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.models import Channel, Delivery, DeliveryAttempt, DeliveryStatus, Post
from planner.models.delivery import WAITING

WINDOW = timedelta(hours=24)
LATENESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class DatabaseCollector(Collector):
    def __init__(self, session: Session, now: datetime, worker_alive: bool) -> None:
        self.session = session
        self.now = now
        self.worker_alive = worker_alive

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        deliveries = GaugeMetricFamily("planner_deliveries", "Deliveries by status and channel kind",
                                       labels=["status", "channel_kind"])
        for status, kind, count in self.session.execute(
            select(Delivery.status, Channel.kind, func.count())
            .join(Channel, Channel.id == Delivery.channel_id).group_by(Delivery.status, Channel.kind)
        ):
            deliveries.add_metric([status, kind], count)
        yield deliveries

        posts = GaugeMetricFamily("planner_posts", "Posts by status and kind", labels=["status", "kind"])
        for status, kind, count in self.session.execute(
            select(Post.status, Post.kind, func.count()).group_by(Post.status, Post.kind)
        ):
            posts.add_metric([status, kind], count)
        yield posts

        depth = self.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.status.in_(WAITING), Delivery.next_attempt_at <= self.now)) or 0
        yield GaugeMetricFamily("planner_delivery_queue_depth",
                                "Deliveries due now and not yet sent", value=depth)

        since = self.now - WINDOW
        lateness = [
            (sent - due).total_seconds() for sent, due in self.session.execute(
                select(Delivery.sent_at, Delivery.due_at).where(
                    Delivery.status == DeliveryStatus.sent, Delivery.sent_at >= since))
        ]
        yield _histogram("planner_delivery_lateness_seconds",
                         "Sent time minus due time, deliveries sent in the last 24 hours",
                         lateness, LATENESS_BUCKETS)
        latency = [
            (finished - started).total_seconds() for started, finished in self.session.execute(
                select(DeliveryAttempt.started_at, DeliveryAttempt.finished_at).where(
                    DeliveryAttempt.finished_at >= since))
        ]
        yield _histogram("planner_delivery_attempt_seconds",
                         "Duration of delivery attempts finished in the last 24 hours",
                         latency, LATENCY_BUCKETS)
        yield GaugeMetricFamily("planner_worker_alive", "1 when a dispatcher heartbeat is fresh",
                                value=1 if self.worker_alive else 0)


def _histogram(name: str, documentation: str, values: Iterable[float],
               bounds: tuple[float, ...]) -> HistogramMetricFamily:
    values = sorted(max(0.0, v) for v in values)
    buckets = [(str(bound), sum(1 for v in values if v <= bound)) for bound in bounds]
    buckets.append(("+Inf", len(values)))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=sum(values))


def render(session: Session, now: datetime, worker_alive: bool) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(session, now, worker_alive))
    return generate_latest(registry)
