"""API shapes of previews, pre-publish checks and comments."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from planner.api.schemas import Id, Strict, Tag, Text
from planner.models import PostKind


class PreviewIn(Strict):
    """The editor's input, saved or not; empty fields are allowed so a preview shows while typing."""

    kind: PostKind = PostKind.tutorial
    title: Text = Field(default="", max_length=200)
    body: Text = Field(default="", max_length=20_000, description="Markdown")
    scheduled_at: AwareDatetime | None = None
    channel_ids: list[Id] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    post_id: Id | None = Field(default=None, description="the post being edited, so its own "
                                "deliveries do not count against the schedule checks")


class PreviewQuery(Strict):
    channel_id: Id | None = None


class FindingOut(BaseModel):
    code: str
    severity: Literal["error", "warning"] = Field(description="an error blocks approval")
    message: str
    channel_id: int | None = Field(description="the target it is about; null for the whole post")


class MessageOut(BaseModel):
    part: int
    parts: int
    title: str | None
    text: str = Field(description="exactly what the platform receives, in its own format")
    format: str


class TargetPreviewOut(BaseModel):
    channel_id: int
    channel_name: str
    kind: str
    kind_label: str
    shows_title: bool = Field(description="the platform shows the title apart from the text")
    messages: list[MessageOut]
    parts: int
    length: int | None = Field(description="the longest message, in `unit`; null when the channel "
                               "cannot take the post")
    limit: int | None = Field(description="the most one message may hold; null for no limit")
    unit: Literal["bytes", "characters"] | None
    max_parts: int | None
    refusal: str | None = Field(description="why the channel kind cannot take the post")
    findings: list[FindingOut]


class PreviewOut(BaseModel):
    targets: list[TargetPreviewOut]
    findings: list[FindingOut] = Field(description="every finding, for the post and each target")
    blocking: bool = Field(description="an error remains: the post cannot be approved like this")


class NewComment(Strict):
    body: Text = Field(max_length=20_000, description="at most 2000 characters once trimmed")


class ThreadEntryOut(BaseModel):
    type: Literal["comment", "review"]
    id: int
    author_id: int
    author_name: str
    body: str
    decision: Literal["approved", "rejected"] | None
    created_at: AwareDatetime


class ThreadOut(BaseModel):
    items: list[ThreadEntryOut]
