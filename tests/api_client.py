"""Calling the JSON API as a given user, with a real bearer token made for them once."""

from __future__ import annotations

from planner.services import users


class ApiClient:
    def __init__(self, st, client) -> None:  # type: ignore[no-untyped-def]
        self.st, self.client, self.tokens = st, client, {}

    def token_for(self, user) -> str:  # type: ignore[no-untyped-def]
        if user.id not in self.tokens:
            with self.st.sessions() as session, session.begin():
                self.tokens[user.id] = users.create_token(session, session.merge(user),
                                                          now=self.st.clock.now())
        return self.tokens[user.id]

    def call(self, method, path, user=None, token=None, **kwargs):  # type: ignore[no-untyped-def]
        """``/api/v1{path}`` as ``user`` (anonymous without one); ``token`` overrides theirs."""
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {token or self.token_for(user)}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    __call__ = call
