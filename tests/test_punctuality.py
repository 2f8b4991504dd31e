"""A post goes out at its time, not at the dispatcher's next tick."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from werkzeug.wrappers import Response

from planner.models import Delivery
from planner.registry import Registry
from planner.services.channels import create_channel
from tests.fakes.webhook import SECRET
from tests.processes import start_worker, stop, wait_until, worker_env


def test_a_delivery_due_between_ticks_is_sent_on_time(st, make, database_url, tmp_path,
                                                      fake_platform):
    st.registry = Registry.from_entry_points(only=["outbox", "webhook"])
    arrivals, lock = [], threading.Lock()

    def receiver(request):
        with lock:
            arrivals.append(datetime.now(UTC))
        return Response(status=204)

    server = fake_platform(receiver)
    with st.sessions() as session, session.begin():
        channel = create_channel(session, st.registry, st.secret_box, kind="webhook", name="Bridge",
                                 settings={"url": server.url, "secret": SECRET}, tags=[],
                                 actor="test", now=st.clock.now())
    editor, operator = make.user("editor"), make.user("operator")
    make.post(editor, status="approved", reviewer=operator, channel_ids=[channel.id])
    due = datetime.now(UTC) + timedelta(seconds=2.5)
    with st.sessions() as session, session.begin():
        session.execute(update(Delivery).values(due_at=due, next_attempt_at=due))
    worker = start_worker(worker_env(st, database_url, dispatch_interval_seconds="10"),
                          tmp_path / "worker.log")
    try:
        wait_until(lambda: arrivals, 15, "the post to arrive")
    finally:
        stop(worker)
    lateness = (arrivals[0] - due).total_seconds()
    assert 0 <= lateness < 0.5, lateness  # the tick was 10 s long; the post did not wait for it
