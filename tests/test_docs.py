"""The README keeps up with the code: every CLI command, setting and channel kind is documented."""

from pathlib import Path

import click

from planner import config
from planner.cli import main
from planner.registry import Registry

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "planner"):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}"


def test_every_command_is_in_the_readme():
    missing = [c for c in commands(main) if f"`{c}" not in README]
    assert missing == []


def test_every_setting_is_in_the_readme():
    settings = [k for k in config.DEFAULTS if k not in {"BABEL_DEFAULT_LOCALE", "LANGUAGES",
                                                        "SESSION_COOKIE_HTTPONLY",
                                                        "SESSION_COOKIE_SAMESITE",
                                                        "WTF_CSRF_TIME_LIMIT", "MAX_CONTENT_LENGTH"}]
    assert [k for k in settings if f"`{k}`" not in README] == []


def test_every_channel_kind_is_in_the_readme():
    assert [k for k in Registry.from_entry_points().names() if f"| `{k}` |" not in README] == []
