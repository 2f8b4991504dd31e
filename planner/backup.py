"""Backups of an instance: a consistent SQLite snapshot, the instance keys and config, in one archive.

The archive is a ``.tar.gz`` holding ``manifest.json``, the instance files an installation cannot do
without (``encryption_key`` — without it channel secrets are lost —, ``secret_key``, ``config.toml``)
and, on SQLite, ``planner.sqlite3``: a snapshot taken with SQLite's online backup API, so the web app
and the dispatcher keep writing while it is taken. On PostgreSQL the database is backed up with
``pg_dump`` (docs/deployment.md); the archive then holds the instance files only.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from planner.db import SQLITE_BUSY_TIMEOUT_MS, normalise_url

FORMAT = 1
INSTANCE_FILES = ("encryption_key", "encryption_key.next", "secret_key", "config.toml")
DATABASE_MEMBER = "planner.sqlite3"
CONFIG = "config.toml"
KEPT_CONFIG = "config.toml.from-backup"


class BackupError(Exception):
    """The backup or restore cannot go ahead; the message says why and what to do."""


@dataclass
class Manifest:
    created_at: str
    database: str  # "sqlite" or "postgresql"
    files: list[str]
    revisions: list[str] = field(default_factory=list)
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data: dict[str, Any] = json.loads(raw)
        if data.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {data.get('format')!r}")
        return cls(**data)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database URL, or None for any other database."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def create(target: Path, instance_path: Path, database_url: str, now: datetime) -> Manifest:
    """Write the archive to ``target``, which must not exist yet."""
    if target.exists():
        raise BackupError(f"{target} already exists: choose another name (a backup never overwrites)")
    database = sqlite_path(database_url)
    with tempfile.TemporaryDirectory(prefix="planner-backup-") as work:
        files: dict[str, Path] = {name: instance_path / name for name in INSTANCE_FILES
                                  if (instance_path / name).is_file()}
        revisions: list[str] = []
        if database is not None:
            snapshot = Path(work) / DATABASE_MEMBER
            _snapshot(database, snapshot)
            revisions = _revisions(snapshot)
            files[DATABASE_MEMBER] = snapshot
        manifest = Manifest(created_at=now.isoformat(), database="sqlite" if database else "postgresql",
                            files=sorted(files), revisions=revisions)
        # The archive holds the keys: only its owner may read it, and "x" refuses to overwrite.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as archive:
                _add_bytes(archive, "manifest.json", manifest.to_json())
                for name, path in sorted(files.items()):
                    archive.add(path, arcname=name, recursive=False)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return manifest


def _snapshot(database: Path, snapshot: Path) -> None:
    if not database.is_file():
        raise BackupError(f"there is no database at {database}: nothing to back up")
    source = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    copy = sqlite3.connect(snapshot)
    try:
        source.backup(copy)  # one step: a consistent snapshot while other connections write
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if verdict != "ok":
        raise BackupError(f"the snapshot failed SQLite's integrity check: {verdict}")


def _revisions(database: Path) -> list[str]:
    connection = sqlite3.connect(database)
    try:
        return sorted(row[0] for row in connection.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def read_manifest(archive_path: Path) -> Manifest:
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            member = archive.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            return Manifest.from_json(member.read())
    except FileNotFoundError:
        raise BackupError(f"there is no backup at {archive_path}") from None
    except (tarfile.TarError, KeyError, OSError, ValueError) as error:
        raise BackupError(f"{archive_path} is not a planner backup ({error})") from None


def restore(archive_path: Path, instance_path: Path, database_url: str, *, known_revisions: set[str],
            force: bool = False) -> Manifest:
    """Put the archive's database and instance files in place; the caller then upgrades the schema.

    ``known_revisions`` are this version's migrations: a backup from a newer version is refused.

    The keys always come from the backup (the database's secrets need them). A ``config.toml`` the
    instance already has is kept unless ``force``; the backup's is then written beside it.
    """
    manifest = read_manifest(archive_path)
    newer = sorted(set(manifest.revisions) - known_revisions)
    if newer:
        raise BackupError(f"this backup comes from a newer planner (schema revision {', '.join(newer)}): "
                          "install that version or a later one, then restore")
    database = sqlite_path(database_url)
    if manifest.database == "sqlite" and database is None:
        raise BackupError("this backup holds a SQLite database but the instance uses PostgreSQL: "
                          "restore into a SQLite instance, or move the data as docs/deployment.md says")
    if database is not None and not force and not is_empty(database):
        raise BackupError(f"the database {database} already holds data: restore into a fresh "
                          "instance, or pass --force to replace it")
    instance_path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="planner-restore-") as work, \
            tarfile.open(archive_path, "r:gz") as archive:
        archive.extractall(work, members=[archive.getmember(n) for n in manifest.files], filter="data")
        if manifest.database == "sqlite" and database is not None:
            _copy_database(Path(work) / DATABASE_MEMBER, database)
        for name in INSTANCE_FILES:
            if name in manifest.files:
                data = (Path(work) / name).read_bytes()
                target = instance_path / name
                if name == CONFIG and target.is_file() and target.read_bytes() != data and not force:
                    target = instance_path / KEPT_CONFIG  # this instance's own settings stay
                _write_owner_only(target, data)
    return manifest


def is_empty(database: Path) -> bool:
    """True when the database file is missing or none of its tables (but the schema version) has a row."""
    if not database.is_file():
        return True
    connection = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version'")]
        return not any(connection.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() for t in tables)
    finally:
        connection.close()


def _copy_database(snapshot: Path, database: Path) -> None:
    """Copy through SQLite's backup API: it replaces every page, write-ahead log included."""
    database.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(snapshot)
    target = sqlite3.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _write_owner_only(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".restoring")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
