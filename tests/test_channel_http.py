"""Transport failures and HTTP statuses map to the contract's errors the same way for every kind."""

import socket
import threading

import pytest
from werkzeug.wrappers import Response

from planner.channel_api import OutcomeUnknownError, PermanentError, RetryableError, ThrottledError
from planner.channel_http import call, json_body, raise_for_status
from planner.http import HttpClient


@pytest.mark.parametrize("status, headers, error, retry_after", [
    (429, {"Retry-After": "7"}, ThrottledError, 7.0),
    (503, {}, RetryableError, None),
    (502, {}, OutcomeUnknownError, None),
    (504, {}, OutcomeUnknownError, None),
    (401, {}, PermanentError, None),
    (400, {}, PermanentError, None),
])
def test_statuses(fake_platform, http, status, headers, error, retry_after):
    server = fake_platform(lambda request: Response("nope", status=status, headers=headers))
    response = call(http, "POST", server.url + "/send", json={"a": 1})
    with pytest.raises(error) as raised:
        raise_for_status(response)
    assert raised.value.retry_after == retry_after
    assert server.requests[0].json == {"a": 1}


def test_nothing_listening_is_retryable(http):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RetryableError, match="could not connect"):
        call(http, "POST", f"http://127.0.0.1:{port}/")


def test_a_slow_answer_is_an_unknown_outcome(fake_platform):
    release = threading.Event()

    def slow(request):
        release.wait(5)
        return Response("{}")

    server = fake_platform(slow)
    client = HttpClient(connect_timeout=1, read_timeout=0.3)
    try:
        with pytest.raises(OutcomeUnknownError, match="read timeout"):
            call(client, "POST", server.url + "/")
    finally:
        release.set()
        client.close()


def test_a_body_that_is_not_json_is_an_unknown_outcome(fake_platform, http):
    server = fake_platform(lambda request: Response("<html>gateway</html>"))
    with pytest.raises(OutcomeUnknownError, match="not JSON"):
        json_body(call(http, "GET", server.url))


def test_an_oversized_answer_is_refused(fake_platform):
    server = fake_platform(lambda request: Response("x" * 5000))
    client = HttpClient(max_body=1000)
    try:
        with pytest.raises(OutcomeUnknownError, match="more than 1000 bytes"):
            call(client, "GET", server.url)
    finally:
        client.close()
