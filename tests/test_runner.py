"""The dispatcher's clock: windows between ticks, and stopping while a tick runs."""

import threading
from datetime import timedelta

from planner.worker.runner import DispatcherService


def test_the_tick_window_is_worked_out_without_the_schedulers_lock(st, clock):
    """``shutdown`` holds the job store lock while it waits for the running tick, so a tick that
    asked the scheduler for its next run time could wait for ever and the worker never stop."""
    service = DispatcherService(st)
    service.start()
    try:
        windows = []
        with service.scheduler._jobstores_lock:  # what shutdown holds while it waits for a tick
            asker = threading.Thread(target=lambda: windows.append(service._window_end()), daemon=True)
            asker.start()
            asker.join(timeout=5)
        assert windows, "working out the tick window waited for the scheduler's lock"
        interval = timedelta(seconds=st.config["DISPATCH_INTERVAL_SECONDS"])
        assert windows[0] == clock.now() + interval - timedelta(milliseconds=50)
        clock.advance(seconds=interval.total_seconds() * 2.5)
        assert service._window_end() == clock.now() + interval / 2 - timedelta(milliseconds=50)
    finally:
        service.stop()
