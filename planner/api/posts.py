"""Posts, their review actions and their deliveries."""

from __future__ import annotations

from flask import jsonify

from planner.api.bp import bp
from planner.api.schemas import (
    CommentIn,
    DeliveryList,
    DeliveryOut,
    PostIn,
    PostList,
    PostOut,
    PostPatch,
    PostQuery,
    ResolveIn,
)
from planner.api.spec import endpoint
from planner.models import Delivery, Post, Role, User
from planner.services import deliveries
from planner.services import posts as post_service
from planner.services.posts import PostInput
from planner.state import state
from planner.web.context import allow_self_approval, checker, db


def post_out(post: Post) -> dict:
    return PostOut(
        id=post.id, kind=post.kind, title=post.title, body=post.body, status=post.status,
        scheduled_at=post.scheduled_at, expires_at=post.expires_at,
        channel_ids=[c.id for c in post.channels], tags=post.tags, author_id=post.author_id,
        revision=post.revision, submitted_at=post.submitted_at, published_at=post.published_at,
        series_id=post.series_id, occurrence_at=post.occurrence_at, detached=post.detached,
        created_at=post.created_at, updated_at=post.updated_at,
    ).model_dump(mode="json")


def delivery_out(delivery: Delivery) -> dict:
    return DeliveryOut.model_validate(delivery, from_attributes=True).model_dump(mode="json")


@endpoint(bp, "/posts", "GET", summary="List posts", query=PostQuery, response=PostList)
def list_posts(user: User, query: PostQuery):  # type: ignore[no-untyped-def]
    found = post_service.list_posts(db(), **query.model_dump())
    return jsonify({"items": [post_out(p) for p in found]})


@endpoint(bp, "/posts", "POST", summary="Create a draft post", body=PostIn, response=PostOut,
          status=201)
def create_post(user: User, body: PostIn):  # type: ignore[no-untyped-def]
    post = post_service.create_post(db(), user, PostInput(**body.model_dump()), now=_now())
    db().commit()
    return jsonify(post_out(post)), 201


@endpoint(bp, "/posts/<int:post_id>", "GET", summary="One post", response=PostOut)
def get_post(user: User, post_id: int):  # type: ignore[no-untyped-def]
    return jsonify(post_out(post_service.get_post(db(), post_id)))


@endpoint(bp, "/posts/<int:post_id>", "PATCH", summary="Change a post", body=PostPatch,
          response=PostOut)
def patch_post(user: User, post_id: int, body: PostPatch):  # type: ignore[no-untyped-def]
    post = post_service.get_post(db(), post_id, for_change=True)
    current = PostInput(kind=post.kind, title=post.title, body=post.body,
                        scheduled_at=post.scheduled_at, expires_at=post.expires_at,
                        channel_ids=[c.id for c in post.channels], tags=post.tags)
    changes = body.model_dump(exclude_unset=True)
    merged = PostInput(**{**current.__dict__, **changes})
    post_service.update_post(db(), user, post, merged, now=_now(), checker=checker())
    db().commit()
    return jsonify(post_out(post))


@endpoint(bp, "/posts/<int:post_id>", "DELETE", summary="Delete a draft", status=204)
def delete_post(user: User, post_id: int):  # type: ignore[no-untyped-def]
    post_service.delete(db(), user, post_service.get_post(db(), post_id, for_change=True),
                        now=_now())
    db().commit()
    return "", 204


def _action(name: str, summary: str, role: Role) -> None:
    def view(user: User, post_id: int, body: CommentIn):  # type: ignore[no-untyped-def]
        post = post_service.get_post(db(), post_id, for_change=True)
        extra = {"allow_self_approval": allow_self_approval()} if name in ("approve", "reject") else {}
        if name == "approve":
            extra["checker"] = checker()
        getattr(post_service, name)(db(), user, post, now=_now(), comment=body.comment, **extra)
        db().commit()
        return jsonify(post_out(post))

    view.__name__ = f"{name}_post"
    endpoint(bp, f"/posts/<int:post_id>/{name}", "POST", summary=summary, role=role,
             body=CommentIn, response=PostOut)(view)


_action("submit", "Submit a draft for review", Role.editor)
_action("approve", "Approve a post (writes its deliveries)", Role.operator)
_action("reject", "Return a post to its author as a draft, with a comment", Role.operator)
_action("cancel", "Cancel a post and its deliveries that have not started", Role.editor)


@endpoint(bp, "/posts/<int:post_id>/deliveries", "GET", summary="A post's deliveries",
          response=DeliveryList)
def post_deliveries(user: User, post_id: int):  # type: ignore[no-untyped-def]
    post_service.get_post(db(), post_id)
    return jsonify({"items": [delivery_out(d) for d in deliveries.deliveries_of(db(), post_id)]})


@endpoint(bp, "/deliveries/<int:delivery_id>/retry", "POST", summary="Send a delivery again",
          role=Role.operator, response=DeliveryOut)
def retry_delivery(user: User, delivery_id: int):  # type: ignore[no-untyped-def]
    delivery = deliveries.retry(db(), user, deliveries.get_delivery(db(), delivery_id), now=_now())
    db().commit()
    return jsonify(delivery_out(delivery))


@endpoint(bp, "/deliveries/<int:delivery_id>/resolve", "POST",
          summary="Record what really happened to a delivery", role=Role.operator, body=ResolveIn,
          response=DeliveryOut)
def resolve_delivery(user: User, delivery_id: int, body: ResolveIn):  # type: ignore[no-untyped-def]
    delivery = deliveries.get_delivery(db(), delivery_id)
    deliveries.resolve(db(), user, delivery, body.outcome, now=_now())
    db().commit()
    return jsonify(delivery_out(delivery))


@endpoint(bp, "/deliveries/<int:delivery_id>/cancel", "POST",
          summary="Give up on a delivery that has not gone out", role=Role.operator,
          response=DeliveryOut)
def cancel_delivery(user: User, delivery_id: int):  # type: ignore[no-untyped-def]
    delivery = deliveries.get_delivery(db(), delivery_id)
    deliveries.cancel_delivery(db(), user, delivery, now=_now())
    db().commit()
    return jsonify(delivery_out(delivery))


def _now():  # type: ignore[no-untyped-def]
    return state().clock.now()
