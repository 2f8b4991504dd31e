"""Feeds: fetch (politely and safely), parse (sanitised), store (deduplicated)."""
