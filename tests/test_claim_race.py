"""Two dispatchers claiming at the same moment never both get a delivery (and the naive way would)."""

import threading

import pytest

from planner.worker.claim import claim_due
from tests.naive_claim import naive_claim_due


@pytest.fixture
def due_deliveries(st, make, clock):
    editor, operator = make.user("editor"), make.user("operator")
    channels = [make.channel() for _ in range(12)]
    for _ in range(3):
        make.post(editor, status="approved", reviewer=operator, channel_ids=[c.id for c in channels])
    clock.advance(hours=1)
    return 36


def claim_concurrently(claim, st, clock, rounds=1):
    claimed = {"a": [], "b": []}
    errors = []
    start = threading.Barrier(2)

    def work(name):
        try:
            start.wait(timeout=10)
            for _ in range(rounds):
                claimed[name].extend(claim(name))
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return claimed


def overlap(claimed):
    return set(claimed["a"]) & set(claimed["b"])


def test_the_real_claim_never_hands_one_delivery_to_two_dispatchers(st, clock, due_deliveries):
    claimed = claim_concurrently(lambda name: claim_due(st, name, clock.now(), 50), st, clock,
                                 rounds=3)
    assert overlap(claimed) == set()
    assert len(claimed["a"]) + len(claimed["b"]) == 12  # one per channel until time moves on


def test_the_naive_claim_is_caught_by_the_same_check(st, clock, due_deliveries):
    between = threading.Barrier(2)
    claimed = claim_concurrently(
        lambda name: naive_claim_due(st, name, clock.now(), 50, between=between), st, clock)
    assert overlap(claimed), "the control should have double-claimed"
