"""Declaring API endpoints once: the same declaration validates requests and writes the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, request
from flask_babel import gettext as _
from pydantic import BaseModel

from planner.api.schemas import ErrorOut
from planner.errors import BadRequest, ValidationFailed
from planner.models import Role


@dataclass(frozen=True)
class Endpoint:
    rule: str
    method: str
    summary: str
    role: Role | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int


ENDPOINTS: list[Endpoint] = []


def endpoint(
    bp: Blueprint, rule: str, method: str, *, summary: str, role: Role | None = Role.editor,
    body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None, status: int = 200,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view; it receives ``body=`` and ``query=`` already validated."""
    spec = Endpoint(rule, method, summary, role, body, query, response, status)
    ENDPOINTS.append(spec)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            from planner.api.auth import authenticate

            kwargs["user"] = authenticate(role)
            if body is not None:
                kwargs["body"] = parse(body, _json_object())
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict())
            return view(**kwargs)

        wrapped.api_endpoint = spec  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=f"{view.__name__}_{method.lower()}", view_func=wrapped,
                        methods=[method])
        return wrapped

    return decorator


def _json_object() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise BadRequest(_("the request body is not valid JSON"))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed(_("send a JSON object"), {"body": _("expected a JSON object")})
    return data


def parse(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = {}
        for problem in error.errors(include_url=False):
            name = ".".join(str(part) for part in problem["loc"]) or "body"
            fields.setdefault(name, problem["msg"].removeprefix("Value error, "))
        raise ValidationFailed(_("the request has invalid fields"), fields) from None


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error = {"content": {"application/json": {"schema": ref(ErrorOut)}}}
    paths: dict[str, Any] = {}
    for spec in ENDPOINTS:
        path = "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", spec.rule)
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": f"{spec.method.lower()}_{spec.rule.strip('/').replace('/', '_')}"
            .replace("<int:", "").replace("<", "").replace(">", ""),
            "responses": {
                str(spec.status): {"description": "success"} | (
                    {"content": {"application/json": {"schema": ref(spec.response)}}}
                    if spec.response else {}),
                "4XX": {"description": "error", **error},
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True,
             "schema": {"type": "integer" if converter == "int" else "string"}}
            for converter, name in _path_params(spec.rule)
        ]
        if spec.query is not None:
            for name, prop in spec.query.model_json_schema().get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": False, "schema": prop})
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(spec.body)}},
            }
        if spec.role is not None:
            operation["security"] = [{"bearer": []}, {"session": []}]
        paths.setdefault(path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "planner API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


def _path_params(rule: str) -> list[tuple[str, str]]:
    return re.findall(r"<(?:(\w+):)?(\w+)>", rule)
