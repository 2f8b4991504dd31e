"""Fuzzing the API from its own OpenAPI document: whatever comes in, never a 5xx, and every error in
the documented shape ``{"error": {"code", "message", "fields"}}``.

Schemathesis generates valid requests (positive) and invalid ones (negative) for every operation,
signed in as an admin over a workspace with one of everything. The budget is fixed and the
generation derandomised: a run is reproducible, and no example database is written.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, configuration, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from planner.api.schemas import MAX_ID
from tests.seed_helpers import seed, token

EXAMPLES = 10  # per operation and generation mode
BUDGET = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate, Phase.shrink])


@pytest.fixture(autouse=True)
def hypothesis_home(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Hypothesis caches what it learns in .hypothesis/ of the working directory: keep it out."""
    configuration.set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    configuration.set_hypothesis_home_dir(None)


def documented_error(ctx, response, case) -> bool | None:  # type: ignore[no-untyped-def]
    """A schemathesis check: a 4xx answer carries the API's error object."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"a {response.status_code} without an error object: {response.text[:200]}"
    assert isinstance(error.get("code"), str) and error["code"], error
    assert isinstance(error.get("message"), str) and error["message"], error
    assert isinstance(error.get("fields", {}), dict), error
    return True


def describe(error: BaseException) -> str:
    """What went wrong, each distinct failure of a group on its own, with Hypothesis's example."""
    if isinstance(error, BaseExceptionGroup):
        return "\n".join(describe(inner) for inner in error.exceptions)
    notes = "\n".join(getattr(error, "__notes__", []))
    return f"{type(error).__name__}: {str(error)[:1500]}\n{notes[:1500]}"


def seeded_parameters(world) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ids = world.ids
    return {"post_id": ids["draft"], "channel_id": ids["channel"], "delivery_id": ids["delivery"],
            "feed_id": ids["feed"], "item_id": ids["feed_item"], "comment_id": ids["comment"],
            "series_id": ids["series"], "slot_id": ids["slot"], "booking_id": ids["booking"],
            "token": world.booking_token}


def test_the_api_answers_any_input_without_a_server_error(app, client, st, make, database_url,
                                                          record_property):
    world = seed(st, make, client)
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    seeded = seeded_parameters(world)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tried: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: dict[str, str] = {}

    def fuzz(operation, mode: GenerationMode, examples: int, path: dict | None) -> None:  # type: ignore[no-untyped-def,type-arg]
        @settings(BUDGET, max_examples=examples)
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path))
        def run(case):  # type: ignore[no-untyped-def]
            tried[mode.value] += 1
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error, documented_error])

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (no parameters and no body)
            pass
        except Exception as error:  # noqa: BLE001  (every failing operation is reported below)
            failures[f"{operation.label} ({mode.value}, {'seeded' if path else 'any'} ids)"] = (
                describe(error))

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60
    # Deleting comes last, so the other operations meet the seeded objects.
    for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
        names = [parameter.name for parameter in operation.path_parameters]
        if names:  # the seeded objects, then any id at all
            path = {name: seeded[name] for name in names}
            fuzz(operation, GenerationMode.POSITIVE, EXAMPLES, path)
            fuzz(operation, GenerationMode.NEGATIVE, EXAMPLES, path)
            fuzz(operation, GenerationMode.POSITIVE, EXAMPLES // 3, None)
        else:
            fuzz(operation, GenerationMode.POSITIVE, EXAMPLES, None)
            fuzz(operation, GenerationMode.NEGATIVE, EXAMPLES, None)
    total = sum(tried.values())
    database = database_url.split(":", 1)[0]
    print(f"\nAPI fuzzing on {database}: {total} cases over {len(operations)} operations "
          f"({dict(tried)}); statuses {dict(sorted(statuses.items()))}")
    record_property("fuzz_cases", total)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert total >= len(operations) * EXAMPLES
    assert not any(status >= 500 for status in statuses)


@pytest.mark.parametrize("path", ["/api/v1/posts/99999999999999999999",
                                  "/api/v1/posts?channel_id=100000000000000000000",
                                  "/api/v1/posts?channel_id=1e20",
                                  "/api/v1/public/bookings/a%00b"])
def test_numbers_and_characters_the_database_cannot_hold_are_refused(client, st, make, path):
    admin = token(st, make.user("admin"))
    response = client.get(path, headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code in (404, 422), response.get_data(as_text=True)
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_the_openapi_document_is_whole(client):
    """Every reference resolves, every body is described, and no query parameter offers null."""
    document = client.get("/api/v1/openapi.json").get_json()
    text = json.dumps(document)
    references = set(re.findall(r'"\$ref": "([^"]+)"', text))
    defined = {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}
    assert references and references <= defined, references - defined
    upload = document["paths"]["/api/v1/posts/import"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data", "text/csv"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                assert "null" not in json.dumps(parameter["schema"]), (method, path, parameter)
                if parameter["in"] == "path" and parameter["schema"]["type"] == "integer":
                    assert parameter["schema"]["maximum"] == MAX_ID


def test_bad_input_is_refused_by_name(client, st, make):
    world = seed(st, make, client)
    headers = {"Authorization": f"Bearer {world.tokens['editor']}"}
    nul = client.post(f"/api/v1/posts/{world.ids['draft']}/comments", headers=headers,
                      json={"body": "a\x00b"})
    assert nul.status_code == 422
    assert nul.get_json()["error"]["fields"] == {"body": "must not contain NUL characters (\\u0000)"}
    nulled = client.patch(f"/api/v1/posts/{world.ids['draft']}", headers=headers,
                          json={"title": None, "expires_at": None})
    assert nulled.status_code == 422
    assert nulled.get_json()["error"]["fields"] == {
        "title": "may not be null: leave the field out to keep its value"}
    unscheduled = client.patch(f"/api/v1/posts/{world.ids['draft']}", headers=headers,
                               json={"scheduled_at": None})
    assert unscheduled.status_code == 200 and unscheduled.get_json()["scheduled_at"] is None
    wrong_method = client.put("/api/v1/posts", headers=headers, json={})
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    too_big = client.get(f"/api/v1/series/{MAX_ID + 1}", headers=headers)
    assert too_big.status_code == 404 and too_big.get_json()["error"]["code"] == "not_found"
    unsupported = client.post("/api/v1/posts/import", headers=headers | {"Content-Type": "image/png"},
                              data=b"\x89PNG")
    assert unsupported.status_code == 400 and unsupported.get_json()["error"]["message"]
