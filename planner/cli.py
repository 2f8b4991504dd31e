"""The ``planner`` command."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask

from planner.app import create_app
from planner.errors import PlannerError
from planner.logs import configure as configure_logging
from planner.state import PlannerState, state


@contextmanager
def _app() -> Iterator[Flask]:
    """The app for one command; its connections are closed when the command ends."""
    app = create_app()
    try:
        yield app
    finally:
        state(app).engine.dispose()


@contextmanager
def _state() -> Iterator[PlannerState]:
    with _app() as app:
        yield state(app)


@click.group()
def main() -> None:
    """Plan, review and publish community content on time."""
    configure_logging()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Serve the web app without the embedded dispatcher.")
def serve(host: str, port: int, no_worker: bool) -> None:
    """Serve the web app, with the dispatcher embedded unless --no-worker."""
    from werkzeug.serving import make_server

    from planner.worker.runner import DispatcherAlreadyRunning, DispatcherService

    with _app() as app:
        service = None
        if not no_worker:
            service = DispatcherService(state(app))
            try:
                service.start()
            except DispatcherAlreadyRunning as error:
                raise click.ClickException(f"{error} (or use --no-worker)") from None
        server = make_server(host, port, app, threaded=True)
        # SIGTERM stops serving like Ctrl-C; the dispatcher then finishes its send and stops.
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        click.echo(f"planner is serving on http://{host}:{server.port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            if service is not None:
                service.stop()


@main.command()
def worker() -> None:
    """Run the dispatcher alone (production: beside gunicorn web processes)."""
    from planner.worker.runner import DispatcherAlreadyRunning, DispatcherService

    with _state() as st:
        service = DispatcherService(st)
        click.echo(f"dispatcher {service.dispatcher.worker_id} starting")
        try:
            service.run_forever()
        except DispatcherAlreadyRunning as error:
            raise click.ClickException(str(error)) from None


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to date."""
    from planner.migrate import upgrade

    with _state() as st:
        upgrade(st.config["DATABASE_URL"], revision)
    click.echo("database is up to date")


@main.group()
def user() -> None:
    """People who sign in."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "operator", "editor"]), required=True)
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a user. Without --password-stdin it prompts, or prints a generated password."""
    from planner.services import users

    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password, generated = users.generate_password(), True
    with _state() as st, st.sessions() as session, session.begin():
        try:
            created = users.create_user(session, email=email, role=role, password=password,
                                        name=name, now=st.clock.now())
        except PlannerError as error:
            details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
            raise click.ClickException(
                str(error.message) + (f" ({details})" if details else "")
            ) from None
    click.echo(f"created {role} {created.email}")
    if generated:
        click.echo(f"password: {password}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="cli", help="A label to recognise the token by.")
def token_create(email: str, name: str) -> None:
    """Create an API bearer token; it is printed once, as the last line."""
    from planner.services import users

    with _state() as st, st.sessions() as session, session.begin():
        try:
            person = users.user_by_email(session, email)
        except PlannerError as error:
            raise click.ClickException(str(error.message)) from None
        value = users.create_token(session, person, now=st.clock.now(), name=name)
    click.echo(f"token for {person.email} (store it now; it is not shown again):")
    click.echo(value)


@main.command()
def demo() -> None:
    """Create the demo workspace once: users, outbox channels, a week of posts."""
    from planner.demo import create_demo

    with _state() as st:
        for line in create_demo(st):
            click.echo(line)


@main.group()
def channels() -> None:
    """Publishing channels."""


@channels.command("list")
def channels_list() -> None:
    """List channels with their kind, tags and state."""
    from planner.services import channels as channel_service

    with _state() as st, st.sessions() as session:
        rows = channel_service.list_channels(session)
        if not rows:
            click.echo("no channels")
        for c in rows:
            tags = ",".join(c.tags) or "-"
            status = "enabled" if c.enabled else "disabled"
            click.echo(f"{c.id}\t{c.kind}\t{c.name}\t{tags}\t{status}")
