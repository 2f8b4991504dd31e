"""The wheel carries everything a non-editable install needs: templates, static files, migrations.

Build a wheel from a clean copy of the tree, install it (no dependencies, no network) into a fresh
plain venv that borrows the development venv's dependencies through a ``.pth`` file, then run
``planner db upgrade`` and ``planner serve`` from that venv in a scratch folder and fetch the login
page (in English, and in Chinese from the compiled catalog), its stylesheet and the vendored calendar
widget.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
    "instance", "node_modules")
PROBE = """
import json, channels, planner
from planner import create_app
app = create_app()
print(json.dumps({"planner": planner.__file__, "channels": channels.__file__,
                  "templates": list(app.jinja_loader.searchpath), "static": app.static_folder}))
"""


def run(command: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **options)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    asked = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(asked, timeout=5) as response:
            body = response.read().decode()
            return response.status, response.headers.get("Content-Type", ""), body
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def first_answer(url: str, server: subprocess.Popen[bytes], log: Path,
                 seconds: float = 20.0) -> tuple[int, str, str]:
    """Poll ``url`` every 0.2 s until the server answers (bounded), failing early if it exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"planner serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            return fetch(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"planner serve did not answer within {seconds:.0f} s:\n{log.read_text()}")


def test_wheel_installs_and_serves_without_the_checkout(tmp_path):  # type: ignore[no-untyped-def]
    source, dist, env_dir, scratch = (tmp_path / n for n in ("src", "dist", "venv", "scratch"))
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)  # no stale build/ or egg-info leaks in
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                            "--outdir", str(dist), str(source)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, (
        "building the wheel failed; with --no-isolation the development venv must hold the "
        "[build-system] requires of pyproject.toml (e.g. the pinned setuptools):\n"
        + built.stdout[-3000:] + built.stderr[-3000:])
    (wheel,) = dist.glob("planner-*.whl")

    venv.EnvBuilder(with_pip=False).create(env_dir)
    python, planner = env_dir / "bin" / "python", env_dir / "bin" / "planner"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", "--disable-pip-version-check", str(wheel)])
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(run([str(python), "-c", purelib]).stdout.strip())
    dev_paths = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "zz_dev_dependencies.pth").write_text("".join(f"{p}\n" for p in dev_paths))

    scratch.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PLANNER_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env |= {"PLANNER_INSTANCE_PATH": str(tmp_path / "instance"),
            "PATH": f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"}

    probe = json.loads(run([str(python), "-I", "-c", PROBE], cwd=scratch, env=env).stdout)
    for name, where in probe.items():
        for path in where if isinstance(where, list) else [where]:
            assert Path(path).resolve().is_relative_to(site_packages.resolve()), (name, path)

    upgraded = run([str(planner), "db", "upgrade"], cwd=scratch, env=env)
    assert "database is up to date" in upgraded.stdout
    assert (tmp_path / "instance" / "planner.sqlite3").is_file()

    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen([str(planner), "serve", "--no-worker", "--port", str(port)],
                                  cwd=scratch, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        status, _, page = first_answer(f"{base}/login", server, log)
        assert status == 200, page
        assert re.search(r'<form method="post"', page) and 'name="email"' in page
        assert 'name="password"' in page and 'name="csrf_token"' in page
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert stylesheet, page
        status, content_type, css = fetch(base + stylesheet.group(1))
        assert status == 200 and content_type.startswith("text/css")
        assert css == (Path(probe["static"]) / "style.css").read_text()
        status, _, chinese = fetch(f"{base}/login", {"Accept-Language": "zh-CN,zh;q=0.9"})
        assert status == 200 and '<html lang="zh-CN">' in chinese and "登录 planner" in chinese
        widget = "vendor/fullcalendar/index.global.min.js"
        status, content_type, script = fetch(f"{base}/static/{widget}")
        assert status == 200 and "javascript" in content_type
        assert script == (Path(probe["static"]) / widget).read_text()
        status, _, locale = fetch(f"{base}/static/vendor/fullcalendar/locales/zh-cn.global.min.js")
        assert status == 200 and 'code:"zh-cn"' in locale
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert not list(scratch.iterdir()), "planner wrote into the working directory"
