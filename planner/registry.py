"""Loads channel kinds from the ``planner.channels`` entry-point group, built-ins included."""

from __future__ import annotations

from importlib.metadata import entry_points

from planner.channel_api import ChannelKind

GROUP = "planner.channels"


class UnknownKind(KeyError):
    pass


class Registry:
    def __init__(self, kinds: dict[str, type[ChannelKind]]) -> None:
        self._kinds = dict(sorted(kinds.items()))

    @classmethod
    def from_entry_points(cls, only: list[str] | None = None) -> Registry:
        """Load the kinds installed in this environment; ``only`` restricts which ones load."""
        kinds: dict[str, type[ChannelKind]] = {}
        for entry in entry_points(group=GROUP):
            if only is not None and entry.name not in only:
                continue
            kind = entry.load()
            if not (isinstance(kind, type) and issubclass(kind, ChannelKind)):
                raise TypeError(f"entry point {entry.name!r} is not a ChannelKind subclass")
            kinds[entry.name] = kind
        return cls(kinds)

    def get(self, name: str) -> type[ChannelKind]:
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownKind(name) from None

    def names(self) -> list[str]:
        return list(self._kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._kinds.values())
