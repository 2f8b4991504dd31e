"""Every route needs a signed-in user unless it is on the short public list (built from the URL map)."""

import re

# /calendar.ics is authenticated by the secret token in its link (a wrong one is a 404).
PUBLIC = {"/login", "/healthz", "/metrics", "/api/v1/openapi.json", "/static/<path:filename>",
          "/calendar.ics",
          "/book", "/book/<int:slot_id>", "/book/manage/<token>", "/book/manage/<token>/booking.ics",
          "/api/v1/public/slots", "/api/v1/public/slots/<int:slot_id>/bookings",
          "/api/v1/public/bookings/<token>"}


def concrete(rule: str) -> str:
    rule = rule.replace("<any(submit, approve, reject, cancel, delete):action>", "submit")
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule)


def test_every_route_refuses_anonymous_callers(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC:
            continue
        path = concrete(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            checked += 1
            if path.startswith("/api/"):
                assert response.status_code == 401, (method, path, response.status_code)
            elif method == "GET":
                assert response.status_code == 302 and "/login" in response.headers["Location"], (
                    method, path)
            else:  # a change without a session has no CSRF token either: refused before anything
                assert response.status_code in (302, 400), (method, path, response.status_code)
    assert checked > 25


def test_public_routes_answer_anonymously(client):
    for path in ("/login", "/healthz", "/metrics", "/api/v1/openapi.json", "/static/style.css",
                 "/book", "/api/v1/public/slots", "/static/book.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
