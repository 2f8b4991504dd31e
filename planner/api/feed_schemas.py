"""Request and response shapes of the feed and inbox endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from planner.api.schemas import Id, Patch, Strict, Tag, Text
from planner.models import FeedItemState

Rule = Annotated[Text, StringConstraints(min_length=1, max_length=200)]


class FeedIn(Strict):
    url: Text = Field(min_length=1, max_length=2000, description="a feed, or a page that announces one")
    title_override: Text = Field(default="", max_length=200)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    enabled: bool = True
    keep_rules: list[Rule] = Field(default_factory=list, max_length=50,
                                   description="keywords, or /regular expressions/")
    block_rules: list[Rule] = Field(default_factory=list, max_length=50)
    channel_ids: list[Id] = Field(default_factory=list, max_length=500,
                                   description="default target channels of shares")
    auto_draft: bool = False


class FeedPatch(Patch):
    title_override: Text | None = Field(default=None, max_length=200)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    keep_rules: list[Rule] | None = Field(default=None, max_length=50)
    block_rules: list[Rule] | None = Field(default=None, max_length=50)
    channel_ids: list[Id] | None = Field(default=None, max_length=500)
    auto_draft: bool | None = None
    paused: bool | None = Field(default=None, description="false resumes a paused feed")


class FeedOut(BaseModel):
    id: int
    url: str
    site_url: str
    title: str
    title_override: str
    name: str
    tags: list[str]
    enabled: bool
    keep_rules: list[str]
    block_rules: list[str]
    channel_ids: list[int]
    auto_draft: bool
    owner_id: int
    paused: bool
    consecutive_failures: int
    last_error: str | None = Field(description="why the last polls failed, while they fail")
    warning: str | None = Field(description="what the last successful poll had to recover from in a "
                                            "malformed feed")
    interval_seconds: int
    next_check_at: AwareDatetime
    last_polled_at: AwareDatetime | None


class FeedList(BaseModel):
    items: list[FeedOut]


class FeedQuery(Strict):
    tag: Tag | None = None


class PollOut(BaseModel):
    feed: FeedOut
    new: int
    drafted: int
    not_modified: bool
    error: str | None


class FeedItemOut(BaseModel):
    id: int
    feed_id: int
    guid: str | None
    link: str
    title: str
    author: str
    summary: str = Field(description="sanitised HTML")
    published_at: AwareDatetime | None
    found_at: AwareDatetime
    state: FeedItemState
    post_id: int | None


class FeedItemList(BaseModel):
    items: list[FeedItemOut]
    next_cursor: str | None = Field(description="pass it as cursor for the next, older page; null on "
                                                "the last page")


class FeedItemQuery(Strict):
    state: FeedItemState | None = FeedItemState.new
    feed_id: Id | None = None
    tag: Tag | None = None
    q: Text | None = Field(default=None, max_length=200,
                           description="words that must all appear in the title or the summary's text")
    cursor: Text | None = Field(default=None, max_length=200,
                                description="next_cursor of the previous page; items come newest first")
    limit: int = Field(default=100, ge=1, le=200, description="items per page")


class BulkDismissIn(Strict):
    item_ids: list[Id] = Field(min_length=1, max_length=500)


class BulkDismissOut(BaseModel):
    dismissed: int
