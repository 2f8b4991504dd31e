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

from planner.api.schemas import MAX_ID, ErrorOut
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
    upload: dict[str, Any] | None = None  # a request body that is not JSON, as OpenAPI content


ENDPOINTS: list[Endpoint] = []


def endpoint(
    bp: Blueprint, rule: str, method: str, *, summary: str, role: Role | None = Role.editor,
    body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None, status: int = 200, upload: dict[str, Any] | None = None,
    before: Callable[[], None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view; it receives ``body=`` and ``query=`` already validated. ``upload`` documents
    a body the view reads itself (a file), as the OpenAPI ``content`` of its request body."""
    spec = Endpoint(rule, method, summary, role, body, query, response, status, upload)
    ENDPOINTS.append(spec)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            from planner.api.auth import authenticate

            if before is not None:  # e.g. a public endpoint's rate limit: before any input is read
                before()
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

    def schema_of(model: type[BaseModel]) -> dict[str, Any]:
        """The model's schema, its nested models hoisted into components/schemas."""
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        return schema

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schemas[model.__name__] = schema_of(model)
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
            {"name": name, "in": "path", "required": True, "schema": _path_schema(converter)}
            for converter, name in _path_params(spec.rule)
        ]
        if spec.query is not None:
            query = schema_of(spec.query)
            required = set(query.get("required", []))
            for name, prop in query.get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": name in required,
                                   "schema": _query_schema(prop)})
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(spec.body)}},
            }
        elif spec.upload is not None:
            operation["requestBody"] = {"required": True, "content": spec.upload}
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


def _path_schema(converter: str) -> dict[str, Any]:
    if converter == "int":  # planner.web.converters.IdConverter
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"type": "string"}


def _query_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: drop the null alternative pydantic adds."""
    prop = dict(prop)
    options = [option for option in prop.get("anyOf", []) if option != {"type": "null"}]
    if "anyOf" in prop:
        del prop["anyOf"]
        prop.update(options[0] if len(options) == 1 else {"anyOf": options})
    if prop.get("default", ...) is None:
        del prop["default"]
    return prop


def _path_params(rule: str) -> list[tuple[str, str]]:
    return re.findall(r"<(?:(\w+):)?(\w+)>", rule)
