"""planner: plan, review and publish community content on time."""

from planner.app import create_app

__all__ = ["create_app"]
