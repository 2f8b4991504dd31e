"""The app factory: it wires things together and never touches the database or the network."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

from planner import config as configuration
from planner import logs, request_log
from planner.clock import SystemClock
from planner.crypto import SecretBox
from planner.db import make_engine, make_session_factory
from planner.extensions import babel, csrf, login_manager
from planner.registry import Registry
from planner.state import PlannerState

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = configuration.instance_path_from_env(Path.cwd() / "instance")
    if test_config and test_config.get("INSTANCE_PATH"):
        instance_path = Path(test_config["INSTANCE_PATH"]).resolve()
    instance_path.mkdir(parents=True, exist_ok=True)

    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(_templates_folder()),
        static_folder="static",
    )
    settings = configuration.load(instance_path)
    settings.update(test_config or {})
    app.config.update(settings)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = configuration.secret_key(instance_path)

    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["planner"] = PlannerState(
        config=app.config,
        instance_path=instance_path,
        engine=engine,
        sessions=make_session_factory(engine),
        registry=Registry.from_entry_points(only=app.config.get("CHANNEL_KINDS")),
        clock=app.config.get("CLOCK") or SystemClock(),
        secret_box=SecretBox.for_instance(instance_path, app.config.get("ENCRYPTION_KEY")),
    )

    logs.keep_out(app.config["SECRET_KEY"], app.config.get("SMTP_PASSWORD"),
                  *app.extensions["planner"].secret_box.keys)
    request_log.init_app(app)  # first, so even a request refused by CSRF checks has its id
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))

    from flask_babel import get_locale

    from planner import api, web

    app.jinja_env.globals["get_locale"] = get_locale
    web.init_app(app)
    api.init_app(app)
    if not logging.getLogger().handlers:  # under gunicorn: nobody has set up planner's logging yet
        logs.configure(app.config)

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # the client's address and scheme come from the proxies' X-Forwarded-* headers
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    app.teardown_appcontext(_close_session)
    app.after_request(_security_headers)
    return app


def _templates_folder() -> Path:
    """Templates ship inside the wheel as ``planner.templates``; in a checkout they are ``templates/``."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "templates").is_dir():
        return checkout / "templates"
    spec = importlib.util.find_spec("planner.templates")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return checkout / "templates"


def _select_locale() -> str | None:
    """The signed-in user's chosen language, else the browser's; English outside a request."""
    from flask_login import current_user

    if not has_request_context():
        return None
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    from flask import session

    if session.get("visitor_locale") in ("en", "zh_Hans_CN"):  # chosen on the public booking pages
        return str(session["visitor_locale"])
    match = request.accept_languages.best_match(["en", "zh-CN", "zh-Hans", "zh"])
    return "zh_Hans_CN" if match and match.startswith("zh") else "en"


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _security_headers(response):  # type: ignore[no-untyped-def]
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
