"""Workers share each target's rate limit: measured where it matters, at the platform."""

import threading
import time

from werkzeug.wrappers import Response

from planner.registry import Registry
from planner.services.channels import create_channel
from tests.fakes.webhook import SECRET
from tests.processes import due_now, start_worker, stop, wait_until, worker_env

RATE = 120  # per minute: one message every half second


def test_a_targets_rate_holds_across_worker_processes(st, make, database_url, tmp_path,
                                                      fake_platform):
    st.registry = Registry.from_entry_points(only=["outbox", "webhook"])
    arrivals, lock = [], threading.Lock()

    def receiver(request):
        with lock:
            arrivals.append(time.monotonic())
        return Response(status=204)

    server = fake_platform(receiver)
    with st.sessions() as session, session.begin():
        channel = create_channel(session, st.registry, st.secret_box, kind="webhook", name="Bridge",
                                 settings={"url": server.url, "secret": SECRET}, tags=[],
                                 actor="test", now=st.clock.now(), rate_per_minute=RATE)
    editor, operator = make.user("editor"), make.user("operator")
    for n in range(14):
        make.post(editor, status="approved", reviewer=operator, title=f"Share {n}",
                  channel_ids=[channel.id])
    due_now(st)
    workers = 3 if database_url.startswith("postgres") else 1  # SQLite allows exactly one
    env = worker_env(st, database_url, dispatch_interval_seconds="1")
    processes = [start_worker(env, tmp_path / f"worker{n}.log") for n in range(workers)]
    try:
        wait_until(lambda: len(arrivals) >= 14, 40, "every share to arrive")
    finally:
        for process in processes:
            stop(process)
    gap = 60 / RATE
    arrivals.sort()
    assert len(arrivals) == 14
    # However the workers interleave, k messages never arrive faster than k - 1 gaps allow
    # (with a tenth of a gap for scheduling noise between claiming and sending).
    for k in range(2, 15):
        for first in range(0, 14 - k + 1):
            span = arrivals[first + k - 1] - arrivals[first]
            assert span >= (k - 1) * gap - 0.1 * gap - 0.25, (k, span)
