"""Feeds and the inbox: subscribe, change, poll now; list, share, star and dismiss feed items."""

from __future__ import annotations

from flask import jsonify

from planner.api.bp import bp
from planner.api.feed_schemas import (
    BulkDismissIn,
    BulkDismissOut,
    FeedIn,
    FeedItemList,
    FeedItemOut,
    FeedItemQuery,
    FeedList,
    FeedOut,
    FeedPatch,
    FeedQuery,
    PollOut,
)
from planner.api.posts import post_out
from planner.api.schemas import PostOut
from planner.api.spec import endpoint
from planner.feeds.poller import find_feed, poll_one
from planner.models import Feed, FeedItem, User
from planner.services import feed_items, feed_polls
from planner.services import feeds as feed_service
from planner.services.feeds import FeedInput
from planner.state import state
from planner.web.context import db, now


def feed_out(feed: Feed) -> dict:
    return FeedOut(
        id=feed.id, url=feed.url, site_url=feed.site_url, title=feed.title,
        title_override=feed.title_override, name=feed.name, tags=feed.tags, enabled=feed.enabled,
        keep_rules=feed.keep_rules, block_rules=feed.block_rules,
        channel_ids=[c.id for c in feed.channels], auto_draft=feed.auto_draft, owner_id=feed.owner_id,
        paused=feed.paused, consecutive_failures=feed.consecutive_failures,
        last_error=feed_polls.error_of(feed), warning=feed_polls.warning_of(feed),
        interval_seconds=feed.interval_seconds, next_check_at=feed.next_check_at,
        last_polled_at=feed.last_polled_at,
    ).model_dump(mode="json")


def item_out(item: FeedItem) -> dict:
    return FeedItemOut.model_validate(item, from_attributes=True).model_dump(mode="json")


@endpoint(bp, "/feeds", "GET", summary="List feeds", query=FeedQuery, response=FeedList)
def list_feeds(user: User, query: FeedQuery):  # type: ignore[no-untyped-def]
    return jsonify({"items": [feed_out(f) for f in feed_service.list_feeds(db(), tag=query.tag)]})


@endpoint(bp, "/feeds", "POST", summary="Subscribe to a feed (or the feed a page announces)",
          body=FeedIn, response=FeedOut, status=201)
def create_feed(user: User, body: FeedIn):  # type: ignore[no-untyped-def]
    data = FeedInput(**body.model_dump())
    data.url = feed_service.check_new(db(), user, data)
    db().rollback()  # hold no database lock while fetching
    found = find_feed(state(), data.url)
    feed = feed_service.subscribe(db(), user, data, found, now=now(), config=state().config)
    db().commit()
    return jsonify(feed_out(feed)), 201


@endpoint(bp, "/feeds/<int:feed_id>", "GET", summary="One feed", response=FeedOut)
def get_feed(user: User, feed_id: int):  # type: ignore[no-untyped-def]
    return jsonify(feed_out(feed_service.get_feed(db(), feed_id)))


@endpoint(bp, "/feeds/<int:feed_id>", "PATCH", summary="Change a feed; paused=false resumes it",
          body=FeedPatch, response=FeedOut)
def patch_feed(user: User, feed_id: int, body: FeedPatch):  # type: ignore[no-untyped-def]
    feed = feed_service.get_feed(db(), feed_id)
    changes = body.model_dump(exclude_unset=True)
    resume = changes.pop("paused", None) is False
    merged = FeedInput(**{**FeedInput.of(feed).__dict__, **changes})
    feed_service.update_feed(db(), user, feed, merged, now=now())
    if resume:
        feed_service.resume(feed, now=now())
    db().commit()
    return jsonify(feed_out(feed))


@endpoint(bp, "/feeds/<int:feed_id>", "DELETE", summary="Unsubscribe (its items go too)", status=204)
def delete_feed(user: User, feed_id: int):  # type: ignore[no-untyped-def]
    feed_service.delete_feed(db(), user, feed_service.get_feed(db(), feed_id), now=now())
    db().commit()
    return "", 204


@endpoint(bp, "/feeds/<int:feed_id>/poll", "POST", summary="Poll a feed now", response=PollOut)
def poll_feed(user: User, feed_id: int):  # type: ignore[no-untyped-def]
    feed_service.get_feed(db(), feed_id)
    db().rollback()
    result = poll_one(state(), feed_id)
    feed = feed_service.get_feed(db(), feed_id)
    return jsonify({"feed": feed_out(feed), "new": result.new, "drafted": result.drafted,
                    "not_modified": result.not_modified, "error": result.error})


@endpoint(bp, "/feed-items", "GET", summary="The inbox", query=FeedItemQuery, response=FeedItemList)
def list_items(user: User, query: FeedItemQuery):  # type: ignore[no-untyped-def]
    page = feed_items.list_items(db(), state=query.state, feed_id=query.feed_id, tag=query.tag,
                                 search=query.q, cursor=query.cursor, limit=query.limit)
    return jsonify({"items": [item_out(i) for i in page.items], "next_cursor": page.next_cursor})


@endpoint(bp, "/feed-items/<int:item_id>/share", "POST",
          summary="Make a draft share post of a feed item", response=PostOut, status=201)
def share_item(user: User, item_id: int):  # type: ignore[no-untyped-def]
    post = feed_items.share(db(), user, feed_items.get_item(db(), item_id), now=now())
    db().commit()
    return jsonify(post_out(post)), 201


def _state_action(name: str, state_name: str, summary: str) -> None:
    def view(user: User, item_id: int):  # type: ignore[no-untyped-def]
        item = feed_items.get_item(db(), item_id)
        feed_items.set_state(db(), user, item, state_name, now=now())
        db().commit()
        return jsonify(item_out(item))

    view.__name__ = f"{name}_item"
    endpoint(bp, f"/feed-items/<int:item_id>/{name}", "POST", summary=summary,
             response=FeedItemOut)(view)


_state_action("dismiss", "dismissed", "Dismiss a feed item; it never comes back")
_state_action("star", "starred", "Star a feed item to share later")
_state_action("unstar", "new", "Put a starred feed item back among the new ones")


@endpoint(bp, "/feed-items/dismiss", "POST", summary="Dismiss several feed items",
          body=BulkDismissIn, response=BulkDismissOut)
def dismiss_items(user: User, body: BulkDismissIn):  # type: ignore[no-untyped-def]
    count = feed_items.dismiss_many(db(), user, body.item_ids, now=now())
    db().commit()
    return jsonify({"dismissed": count})
