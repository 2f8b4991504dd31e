"""Every registered channel kind keeps the plugin contract, has its own contract tests and is documented."""

from pathlib import Path

import pytest

from planner.channel_api import ChannelContext, ChannelKind, Message, PostContent, RenderError
from planner.channel_text import measure
from planner.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = Registry.from_entry_points()
KINDS = REGISTRY.names()
SAMPLES = [
    PostContent(kind="greeting", title="早上好", body="大家早上好！☀️ 今天也要加油 💪"),
    PostContent(kind="tutorial", title="Tip of the week: f-strings",
                body="## f-strings\n\nUse **f-strings** and read [the docs](https://docs.python.org/3/).\n\n"
                     "```python\nname = '世界'\nprint(f'你好, {name}')\n```\n\n- one\n- two\n\n"
                     "| a | b |\n|---|---|\n| 1 | 2 |\n\n![diagram](https://example.com/d.png)"),
    PostContent(kind="share", title="A long read", body="\n\n".join(
        f"第{i}段：社区运营的每周节奏，包括问候、教程、分享和嘉宾活动。" * 8 for i in range(40))),
]


def example_settings(kind: type[ChannelKind]) -> dict:
    values = {}
    for setting in kind.settings_schema:
        values[setting.name] = setting.default if setting.default is not None else (
            setting.choices[0] if setting.choices else "https://example.test/x")
    return values


@pytest.mark.parametrize("name", KINDS)
def test_kind_declares_the_contract(name):
    kind = REGISTRY.get(name)
    assert issubclass(kind, ChannelKind) and kind.name == name and kind.label
    assert kind.limits.unit in ("bytes", "characters")
    assert kind.limits.per_minute > 0 and kind.limits.max_parts >= 1
    names = [s.name for s in kind.settings_schema]
    assert len(names) == len(set(names))
    if kind.capabilities.confirmable:
        assert kind.confirm is not ChannelKind.confirm


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("post", SAMPLES, ids=["greeting", "tutorial", "long"])
def test_render_is_pure_and_within_limits(name, post, tmp_path):
    kind_class = REGISTRY.get(name)
    kind = kind_class(example_settings(kind_class), ChannelContext(instance_path=tmp_path))
    try:
        messages = kind.render(post)
    except RenderError:
        assert kind_class.limits.max_parts == 1 or kind_class.limits.max_length is not None
        return
    assert messages and all(isinstance(m, Message) for m in messages)
    limits = kind_class.limits_for(kind.settings)
    assert len(messages) <= limits.max_parts
    if limits.max_length is not None:
        for message in messages:
            assert measure(message.text, limits.unit) <= limits.max_length
    assert kind.render(post) == messages  # the same post renders the same way every time
    assert list(tmp_path.iterdir()) == []  # rendering does no I/O


@pytest.mark.parametrize("name", KINDS)
def test_kind_has_its_own_contract_tests(name):
    assert (ROOT / "tests" / "channels" / f"test_{name}.py").exists()


@pytest.mark.parametrize("name", KINDS)
def test_kind_is_documented(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"| `{name}` |" in readme
    for setting in REGISTRY.get(name).settings_schema:
        assert f"`{setting.name}`" in readme, f"{name}.{setting.name} is not documented"
