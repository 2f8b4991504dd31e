"""Request ids and the access log: every request gets an id, echoed in ``X-Request-ID`` and logged.

An incoming ``X-Request-ID`` (from a proxy or a client) is kept when it is a short plain token, so one
id follows a request through every tier; otherwise planner makes one. Every log line written while
the request runs carries it, and one access line per request says what happened — the path without
its query string, which can carry tokens. An unexpected error is logged with its traceback by Flask,
under the same id, and the error page shows the id so the person who met it can report it.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from planner.logs import request_id

access_log = logging.getLogger("planner.access")
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEADER = "X-Request-ID"


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)


def current_request_id() -> str:
    return g.get("request_id", "-")


def _start() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if SAFE_ID.match(incoming) else secrets.token_hex(8)
    g.request_started = time.perf_counter()
    g.request_id_token = request_id.set(g.request_id)


def _finish(response: Response) -> Response:
    if "request_id" not in g:  # a request refused before it started (e.g. too large to read)
        return response
    response.headers[HEADER] = g.request_id
    duration_ms = round((time.perf_counter() - g.request_started) * 1000, 1)
    user = g.get("_login_user")  # the signed-in user, when the request loaded one
    user_id = getattr(user, "id", None) or g.get("api_user_id")
    access_log.info("%s %s %s %sms user=%s", request.method, request.path, response.status_code,
                    duration_ms, user_id or "-",
                    extra={"method": request.method, "path": request.path,
                           "status": response.status_code, "duration_ms": duration_ms,
                           "user_id": user_id})
    return response


def _forget(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        request_id.reset(token)
