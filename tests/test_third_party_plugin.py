"""A third-party channel kind is found through its entry point, without touching planner's code.

The example package in ``examples/planner-echo-channel`` is built and installed (no network, no
dependencies) into a scratch folder; planner then runs in subprocesses with that folder on
``PYTHONPATH``: the ``echo`` kind shows up in the API and the pages, a channel of that kind is created
and sent a test message through the HTTP API, and ``planner channels list`` lists it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from planner.channel_api import (
    ChannelContext,
    Message,
    PermanentError,
    PostContent,
    RenderError,
    RetryableError,
    ThrottledError,
)
from tests.fakes.server import json_response

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "planner-echo-channel"
PLANNER = Path(sys.executable).with_name("planner")

# Runs inside the environment that has the plugin: the same app a user would run.
SCENARIO = """
import json, re, sys
from planner import create_app
from planner.services import users
from planner.state import state

receiver = sys.argv[1]
app = create_app()
st = state(app)
with st.sessions() as session, session.begin():
    user = users.create_user(session, email="olga@example.com", role="operator",
                             password="correct horse battery", now=st.clock.now())
    token = users.create_token(session, user, now=st.clock.now())
client = app.test_client()
auth = {"Authorization": f"Bearer {token}"}
kinds = client.get("/api/v1/channel-kinds", headers=auth).json["items"]
created = client.post("/api/v1/channels", headers=auth, json={
    "kind": "echo", "name": "Echo receiver", "tags": ["robots"],
    "settings": {"url": receiver, "token": "echo-secret-token"}})
channel_id = created.json["id"]
check = client.post(f"/api/v1/channels/{channel_id}/test", headers=auth, json={"action": "check"})
message = client.post(f"/api/v1/channels/{channel_id}/test", headers=auth, json={})
login = client.get("/login").get_data(as_text=True)
csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
client.post("/login", data={"email": "olga@example.com", "password": "correct horse battery",
                            "csrf_token": csrf})
page = client.get("/channels/new").get_data(as_text=True)
form = client.get(f"/channels/{channel_id}/edit").get_data(as_text=True)
st.engine.dispose()
print(json.dumps({
    "kinds": {k["name"]: k for k in kinds}, "created": created.status_code,
    "check": check.json, "message": message.json,
    "page_lists_echo": 'href="/channels/new/echo"' in page and "Echo (JSON to a URL)" in page,
    "form_has_settings": all(f'name="setting_{n}"' in form for n in ("url", "token", "format")),
}))
"""

KIND_NAMES = ("from planner.registry import Registry; "
              "print(','.join(Registry.from_entry_points().names()))")


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def plugin_site(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    """The example installed like any package, into a folder of its own."""
    source, site = tmp_path / "planner-echo-channel", tmp_path / "site"
    # Build from a copy, so no build/ or egg-info folder appears in the checkout.
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                   "__pycache__"))
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--disable-pip-version-check", "--target", str(site),
         str(source)], dict(os.environ), tmp_path)
    assert list(site.glob("planner_echo_channel-*.dist-info/entry_points.txt"))
    return site


def test_an_installed_package_adds_a_channel_kind(plugin_site, tmp_path, fake_platform):
    receiver = fake_platform(lambda request: json_response(
        {"id": 41, "url": "https://receiver.example/41"} if request.method == "POST"
        else {"ok": True}))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("PLANNER_") and k != "PYTHONPATH"}
    base |= {"PLANNER_INSTANCE_PATH": str(tmp_path / "instance")}
    with_plugin = base | {"PYTHONPATH": str(plugin_site)}

    # Without the package there is no echo kind; with it there is, and planner's code is the same.
    assert "echo" not in run([sys.executable, "-c", KIND_NAMES], base, scratch).split(",")
    assert "echo" in run([sys.executable, "-c", KIND_NAMES], with_plugin, scratch).strip().split(",")

    run([str(PLANNER), "db", "upgrade"], with_plugin, scratch)
    outcome = json.loads(run([sys.executable, "-c", SCENARIO, f"{receiver.url}/hook"],
                             with_plugin, scratch).splitlines()[-1])
    echo = outcome["kinds"]["echo"]
    assert echo["label"] == "Echo (JSON to a URL)" and echo["can_check"] is True
    assert [(s["name"], s["secret"]) for s in echo["settings"]] == [
        ("url", False), ("token", True), ("format", False)]
    assert outcome["created"] == 201
    assert (outcome["check"]["ok"], outcome["check"]["checked"]) == (True, True)
    assert outcome["message"]["ok"] is True, outcome["message"]
    assert outcome["message"]["remote_url"] == "https://receiver.example/41"
    assert outcome["page_lists_echo"] and outcome["form_has_settings"]

    check, posted = receiver.requests
    assert (check.method, posted.method, posted.path) == ("GET", "POST", "/hook")
    assert posted.headers["Authorization"] == "Bearer echo-secret-token"
    assert posted.headers["Idempotency-Key"].startswith("planner-test-")
    assert posted.json["title"].startswith("planner test message ")
    assert "Echo receiver" in posted.json["text"]

    listed = run([str(PLANNER), "channels", "list"], with_plugin, scratch)
    assert "\techo\tEcho receiver\trobots\tenabled" in listed
    assert not list(EXAMPLE.glob("*.egg-info")) and not (EXAMPLE / "build").exists()


@pytest.fixture
def echo_kind():  # type: ignore[no-untyped-def]
    """The example's module, loaded from its file: the code the docs show is the code that runs."""
    spec = importlib.util.spec_from_file_location("planner_echo", EXAMPLE / "planner_echo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EchoChannel


@pytest.mark.parametrize("status, body, error, message", [
    (401, {"error": "bad token"}, PermanentError, "HTTP 401: bad token"),
    (429, {"error": "slow down"}, ThrottledError, "HTTP 429: slow down"),
    (503, {}, RetryableError, "HTTP 503: {}"),
    (200, {"ok": False, "error": "inbox full"}, PermanentError, "HTTP 200: inbox full"),
])
def test_the_example_maps_refusals_to_the_contracts_errors(echo_kind, fake_platform, http, tmp_path,
                                                           status, body, error, message):
    receiver = fake_platform(lambda request: json_response(body, status))
    kind = echo_kind({"url": receiver.url, "token": "t0ken"}, ChannelContext(instance_path=tmp_path))
    [rendered] = kind.render(PostContent(kind="greeting", title="早上好", body="大家早上好！"))
    with pytest.raises(error) as raised:
        kind.send(rendered, http, "planner-1-2-r1")
    assert raised.value.message == message


def test_the_example_renders_purely_within_its_limit(echo_kind, tmp_path):
    context = ChannelContext(instance_path=tmp_path)
    post = PostContent(kind="tutorial", title="Tip", body="Use **f-strings**.")
    assert echo_kind({"url": "x"}, context).render(post) == [
        Message(text="Use **f-strings**.", title="Tip", format="markdown")]
    [html] = echo_kind({"url": "x", "format": "html"}, context).render(post)
    assert html.text == "<p>Use <strong>f-strings</strong>.</p>"
    with pytest.raises(RenderError, match="at most 4000 characters"):
        echo_kind({"url": "x"}, context).render(PostContent("share", "Long", "长" * 4001))
    assert list(tmp_path.iterdir()) == []
