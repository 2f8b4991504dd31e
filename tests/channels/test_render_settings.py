"""A kind's ``render_settings`` names every setting its rendering reads.

The dispatcher renders a post once for all the channels of a kind that agree on those settings, so a
kind that read another one would send some channels a message rendered for a different channel.
"""

from pathlib import Path

import pytest

from planner.channel_api import ChannelContext, ChannelKind, RenderError, Setting
from planner.registry import Registry
from tests.channels.samples import TUTORIAL

KINDS = Registry.from_entry_points()


def value(setting: Setting, variant: int) -> str:
    """Two different values for a setting; an optional one is left empty in the second."""
    if setting.choices:
        return setting.choices[variant % len(setting.choices)]
    if variant and not setting.required:
        return ""
    if setting.name.endswith("url"):
        return f"https://robot-{variant}.example.test/send?key=k{variant}-1234567890"
    return f"{12345 + variant}" if setting.name.endswith("_id") else f"value-{variant}"


def rendered(kind: type[ChannelKind], settings: dict[str, str]) -> object:
    context = ChannelContext(instance_path=Path("."), community_name="Python learners")
    try:
        return kind(settings, context).render(TUTORIAL)
    except RenderError as error:  # refusing is an outcome of rendering too
        return str(error)


@pytest.mark.parametrize("name", KINDS.names())
def test_rendering_reads_only_the_settings_the_kind_names(name):
    kind = KINDS.get(name)
    if kind.render_settings is None:
        pytest.skip("renders per channel")
    fixed = {s.name: value(s, 0) for s in kind.settings_schema if s.name in kind.render_settings}
    first = {s.name: value(s, 0) for s in kind.settings_schema} | fixed
    other = {s.name: value(s, 1) for s in kind.settings_schema} | fixed
    assert rendered(kind, first) == rendered(kind, other)
