"""Request and response shapes of the HTTP API. They validate requests and generate the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from planner.models import DeliveryStatus, PostKind, PostStatus

# The largest id a row can have: PostgreSQL's integer columns hold no more (SQLite's hold 2**63 - 1).
# A larger number cannot name anything, and must not reach the database, which would refuse it.
MAX_ID = 2**31 - 1


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store a NUL character in text: refuse it here with the field's name.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


def _no_nul_inside(value: Any) -> Any:
    """The same rule for every string inside a free-form value (channel settings)."""
    if isinstance(value, str):
        return _no_nul(value)
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul_inside(key)
            _no_nul_inside(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul_inside(item)
    return value


# Every string and id the API accepts is one of these.
Text = Annotated[str, AfterValidator(_no_nul)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Settings = Annotated[dict[Text, object], AfterValidator(_no_nul_inside)]
Tag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _drop_null_alternatives(schema: dict[str, Any], model: type[Patch]) -> None:
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [])
        if name in model.nullable or {"type": "null"} not in options:
            continue
        rest = [option for option in options if option != {"type": "null"}]
        del prop["anyOf"]
        prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        prop.pop("default", None)


class Patch(Strict):
    """Changes to an object: a field left out keeps its value. ``null`` is accepted only where it
    means something (``nullable``: clearing a post's expiry, say); elsewhere it is refused by name."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_drop_null_alternatives)  # type: ignore[typeddict-item]
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null: leave the field out to keep its value")
        return value


class PostIn(Strict):
    kind: PostKind
    title: Text = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1, max_length=20_000, description="Markdown")
    scheduled_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    channel_ids: list[Id] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class PostPatch(Patch):
    nullable = frozenset({"scheduled_at", "expires_at"})  # null unschedules, or clears the expiry

    kind: PostKind | None = None
    title: Text | None = Field(default=None, min_length=1, max_length=200)
    body: Text | None = Field(default=None, min_length=1, max_length=20_000)
    scheduled_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    channel_ids: list[Id] | None = Field(default=None, max_length=500)
    tags: list[Tag] | None = Field(default=None, max_length=50)


class PostQuery(Strict):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    kind: PostKind | None = None
    status: PostStatus | None = None
    channel_id: Id | None = None


class ImportQuery(Strict):
    submit: bool = Field(default=False, description="submit every imported post for review")


class ExportQuery(Strict):
    start: AwareDatetime
    end: AwareDatetime


class CommentIn(Strict):
    comment: Text = Field(default="", max_length=2000)


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
    series_id: int | None = Field(default=None, description="the series this post is an occurrence of")
    occurrence_at: AwareDatetime | None = Field(default=None,
                                                description="the occurrence's time in the series' rule")
    detached: bool = Field(default=False, description="an occurrence edited on its own")
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


SettingValue = str | int | float | bool | None


class ChannelIn(Strict):
    kind: Text = Field(min_length=1, max_length=40, description="one of GET /channel-kinds")
    name: Text = Field(min_length=1, max_length=100)
    settings: Settings = Field(
        default_factory=dict, description="per the kind's settings schema, each a single value; "
        "secret settings are write-only: stored encrypted and never returned")
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    enabled: bool = True
    rate_per_minute: int | None = Field(default=None, ge=1, le=6000,
                                        description="overrides the kind's messages per minute")


class ChannelPatch(Strict):
    kind: Text | None = Field(default=None, description="fixed once the channel exists; only its "
                             "current kind is accepted")
    name: Text | None = Field(default=None, min_length=1, max_length=100)
    settings: Settings | None = Field(
        default=None, description="settings to change, each a single value; a secret setting "
        "left out, null or empty keeps its saved value")
    clear_secrets: list[Text] = Field(default_factory=list, max_length=50,
                                     description="optional secret settings whose saved value to remove")
    tags: list[Tag] | None = Field(default=None, max_length=50)
    enabled: bool | None = None
    rate_per_minute: int | None = Field(default=None, ge=1, le=6000,
                                        description="null goes back to the kind's limit")


class ChannelSuccess(BaseModel):
    delivery_id: int
    post_id: int
    at: AwareDatetime | None
    remote_id: str | None
    remote_url: str | None


class ChannelFailure(BaseModel):
    delivery_id: int
    post_id: int
    at: AwareDatetime
    status: DeliveryStatus
    message: str | None = Field(description="the platform's own words where it gave some")


class ChannelOut(BaseModel):
    id: int
    kind: str
    kind_installed: bool
    name: str
    settings: dict[str, object] = Field(description="secret settings are never returned")
    saved_secrets: list[str] = Field(description="names of the secret settings that have a value")
    tags: list[str]
    enabled: bool
    rate_per_minute: int = Field(description="in effect: the override, else the kind's limit")
    rate_per_minute_override: int | None
    created_at: AwareDatetime
    last_success: ChannelSuccess | None = Field(description="the latest sent delivery")
    last_failure: ChannelFailure | None = Field(
        description="the latest failed or unconfirmed delivery")


class ChannelList(BaseModel):
    items: list[ChannelOut]


class ChannelTestIn(Strict):
    action: Literal["message", "check"] = Field(
        default="message", description="message: post a visible test message; check: validate "
        "the credentials without posting, where the platform allows it")


class ChannelTestError(BaseModel):
    type: Literal["retryable", "throttled", "permanent", "outcome_unknown"]
    message: str = Field(description="the platform's own words where it gave some")
    retry_after: float | None


class ChannelTestOut(BaseModel):
    action: Literal["message", "check"]
    ok: bool = Field(description="false when the platform refused or could not be reached")
    checked: bool = Field(description="false when this kind cannot check without posting")
    message: str
    remote_id: str | None = None
    remote_url: str | None = None
    error: ChannelTestError | None = None


class SettingOut(BaseModel):
    name: str
    label: str
    secret: bool
    required: bool
    default: SettingValue
    choices: list[str]
    help: str


class LimitsOut(BaseModel):
    max_length: int | None
    unit: Literal["bytes", "characters"]
    per_minute: int
    max_parts: int


class CapabilitiesOut(BaseModel):
    idempotency_key: bool
    confirmable: bool
    remote_url: bool
    titles: bool


class ChannelKindOut(BaseModel):
    name: str
    label: str
    settings: list[SettingOut]
    limits: LimitsOut
    capabilities: CapabilitiesOut
    can_check: bool = Field(description="whether credentials can be checked without posting")


class ChannelKindList(BaseModel):
    items: list[ChannelKindOut]


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    role: Literal["admin", "operator", "editor"]
    timezone: str | None = Field(default=None, description="the user's own timezone, if set")
    locale: str | None = Field(default=None, description="the user's interface language (en or "
                               "zh_Hans_CN); null: the browser's Accept-Language decides")
    calendar_url: str | None = Field(description="the private, read-only iCalendar link; null "
                                     "until one is made (POST /me/calendar-link) or after revoking")


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody
