"""Built-in channel kinds; each is registered through the ``planner.channels`` entry points."""
