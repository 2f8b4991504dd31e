"""``planner backup``, ``planner restore`` and ``planner keys``: keeping an instance's data safe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from planner import backup as backups
from planner import config as configuration

PG_DUMP_HINT = ("the database is PostgreSQL: back it up with\n"
                "  pg_dump --format=custom --file=planner.dump \"$PLANNER_DATABASE_URL\"\n"
                "and keep this archive with it (docs/deployment.md, \"Backups\")")


def _instance() -> tuple[Path, dict[str, object]]:
    instance_path = configuration.instance_path_from_env(Path.cwd() / "instance")
    return instance_path, configuration.load(instance_path)


@click.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path | None) -> None:
    """Write a backup archive (database snapshot on SQLite, keys, config); never overwrites."""
    instance_path, settings = _instance()
    now = datetime.now(UTC)
    target = path or Path(f"planner-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz")
    try:
        manifest = backups.create(target, instance_path, str(settings["DATABASE_URL"]), now)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup written to {target} ({', '.join(manifest.files)})")
    if manifest.database == "postgresql":
        click.echo(PG_DUMP_HINT)
    for key in ("ENCRYPTION_KEY", "SECRET_KEY"):
        if settings.get(key):
            click.echo(f"note: {key} comes from the environment (PLANNER_{key}) and is not in the "
                       "archive: keep it with the backup")


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
def restore(path: Path, force: bool) -> None:
    """Restore a backup archive into this instance, then bring its schema up to date."""
    from planner.migrate import revisions, upgrade

    instance_path, settings = _instance()
    url = str(settings["DATABASE_URL"])
    known = {script.revision for script in revisions(url)}
    try:
        manifest = backups.restore(path, instance_path, url, known_revisions=known, force=force)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored {', '.join(manifest.files)} from the backup of {manifest.created_at}")
    if (instance_path / backups.KEPT_CONFIG).is_file():
        click.echo(f"kept this instance's config.toml; the backup's is {backups.KEPT_CONFIG}")
    if manifest.database == "postgresql":
        click.echo("the database itself comes back with pg_restore (docs/deployment.md, \"Backups\")")
        return
    upgrade(url)
    click.echo("database is up to date")


@click.group()
def keys() -> None:
    """The key that encrypts channel secrets at rest."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every secret with a new key in one transaction, then retire the old key."""
    from planner.cli import planner_state
    from planner.errors import PlannerError
    from planner.services.keys import rotate

    with planner_state() as st:
        try:
            rotation = rotate(st)
        except PlannerError as error:
            raise click.ClickException(error.message) from None
    click.echo(f"re-encrypted {rotation.rewritten} secret(s) with the new key")
    if rotation.from_environment:
        click.echo("now drop the old key from PLANNER_ENCRYPTION_KEY on every process and restart them")
    else:
        click.echo("the new key is in encryption_key (0600); the old key is gone: back it up again "
                   "(planner backup)")


@keys.command("generate")
def keys_generate() -> None:
    """Print a new encryption key (for PLANNER_ENCRYPTION_KEY); nothing is changed."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())
