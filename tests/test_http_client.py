"""The channels' HTTP client reads proxy settings from the environment once per host, not per request."""

from werkzeug.wrappers import Response

from planner.http import HttpClient


def test_a_proxy_from_the_environment_is_used_unless_the_host_is_exempt(fake_platform, monkeypatch):
    proxy = fake_platform(lambda request: Response("via proxy", status=200))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    direct = fake_platform(lambda request: Response("direct", status=200))
    client = HttpClient(connect_timeout=2, read_timeout=2)
    try:
        # A host that does not exist is reached only through the proxy, which answers for it.
        answer = client.post("http://robot.planner-test.invalid/send?key=1", data=b"{}")
        assert answer.text == "via proxy"
        assert proxy.requests[0].headers["Host"] == "robot.planner-test.invalid"
        assert client.get(direct.url + "/ping").text == "direct"  # NO_PROXY: straight there
        assert len(proxy.requests) == 1
        client.post("http://robot.planner-test.invalid/send?key=2", data=b"{}")
        assert len(proxy.requests) == 2  # the same host again: the proxy worked out once is kept
    finally:
        client.close()


def test_the_environment_is_not_read_for_every_request(fake_platform, monkeypatch):
    server = fake_platform(lambda request: Response(status=204))
    client = HttpClient(connect_timeout=2, read_timeout=2)
    try:
        client.post(server.url + "/a", data=b"{}")
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert client.post(server.url + "/b", data=b"{}").status_code == 204
    finally:
        client.close()
