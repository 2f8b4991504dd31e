"""Request and response shapes of the HTTP API. They validate requests and generate the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from planner.models import DeliveryStatus, PostKind, PostStatus

Tag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostIn(Strict):
    kind: PostKind
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000, description="Markdown")
    scheduled_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    channel_ids: list[int] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class PostPatch(Strict):
    kind: PostKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=20_000)
    scheduled_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    channel_ids: list[int] | None = Field(default=None, max_length=500)
    tags: list[Tag] | None = Field(default=None, max_length=50)


class PostQuery(Strict):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    kind: PostKind | None = None
    status: PostStatus | None = None
    channel_id: int | None = None


class CommentIn(Strict):
    comment: str = Field(default="", max_length=2000)


class ResolveIn(Strict):
    outcome: Literal["sent", "failed"]


class PostOut(BaseModel):
    id: int
    kind: PostKind
    title: str
    body: str
    status: PostStatus
    scheduled_at: AwareDatetime | None
    expires_at: AwareDatetime | None
    channel_ids: list[int]
    tags: list[str]
    author_id: int
    revision: int
    submitted_at: AwareDatetime | None
    published_at: AwareDatetime | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class PostList(BaseModel):
    items: list[PostOut]


class DeliveryOut(BaseModel):
    id: int
    post_id: int
    channel_id: int
    status: DeliveryStatus
    due_at: AwareDatetime
    next_attempt_at: AwareDatetime
    expires_at: AwareDatetime | None
    attempt_count: int
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    sent_at: AwareDatetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class ChannelOut(BaseModel):
    id: int
    kind: str
    name: str
    settings: dict[str, object] = Field(description="secret settings are never returned")
    tags: list[str]
    enabled: bool
    rate_per_minute: int


class ChannelList(BaseModel):
    items: list[ChannelOut]


class ChannelKindList(BaseModel):
    items: list[dict[str, object]]


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    role: Literal["admin", "operator", "editor"]


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody
