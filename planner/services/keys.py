"""Rotating the key that encrypts secrets at rest: every secret re-encrypted in one transaction."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from planner.crypto import KEY_FILE, NEXT_KEY_FILE, parse_keys, write_key_file
from planner.errors import Conflict
from planner.models import Channel, User
from planner.services import audit
from planner.state import PlannerState
from planner.worker import failpoints

# Every column that holds a token sealed by the instance's SecretBox.
ENCRYPTED = ((Channel, Channel.secrets_encrypted), (User, User.calendar_token_sealed))


@dataclass
class Rotation:
    rewritten: int
    from_environment: bool


def reencrypt(session: Session, new: bytes, old: list[bytes], *, now: datetime,
              audit_only_changes: bool = False) -> int:
    """Re-encrypt with ``new`` every secret it cannot read yet, in the caller's transaction."""
    current = Fernet(new)
    rotator = MultiFernet([current, *(Fernet(k) for k in old)])
    rewritten = 0
    for model, column in ENCRYPTED:
        rows = session.execute(select(model.id, column).where(column.is_not(None))
                               .order_by(model.id).with_for_update())
        for row_id, token in rows.all():
            try:
                current.decrypt(token.encode())
                continue
            except InvalidToken:
                pass
            try:
                sealed = rotator.rotate(token.encode()).decode()
            except InvalidToken:
                raise Conflict(_("the secrets of %(table)s %(id)s cannot be decrypted with the "
                                 "instance's keys: nothing was changed", table=model.__tablename__,
                                 id=row_id)) from None
            session.execute(update(model).where(model.id == row_id).values({column: sealed}))
            rewritten += 1
    if rewritten or not audit_only_changes:
        audit.record(session, at=now, actor="system", action="keys.rotate",
                     subject_type="workspace", subject_id=None, rewritten=rewritten)
    return rewritten


def rotate(st: PlannerState) -> Rotation:
    """Move every secret to a new key; the old key stays usable until the database has committed."""
    env_key = st.config.get("ENCRYPTION_KEY")
    if env_key:
        keys = parse_keys(env_key)
        if len(keys) < 2:
            raise Conflict(_("the key comes from PLANNER_ENCRYPTION_KEY: set it to 'NEW,OLD' on every "
                             "process (planner keys generate makes a key), restart them, then run "
                             "planner keys rotate again"))
        with st.sessions() as session, session.begin():
            rewritten = reencrypt(session, keys[0], keys[1:], now=st.clock.now())
        return Rotation(rewritten, from_environment=True)

    current_path = st.instance_path / KEY_FILE
    next_path = st.instance_path / NEXT_KEY_FILE
    old = [current_path.read_bytes().strip()]
    resuming = next_path.exists()  # an earlier rotation stopped before it could finish
    if resuming:
        new = next_path.read_bytes().strip()
    else:
        new = Fernet.generate_key()
        write_key_file(next_path, new)
    try:
        with st.sessions() as session, session.begin():
            rewritten = reencrypt(session, new, old, now=st.clock.now())
    except BaseException:
        if not resuming:  # nothing was sealed with the new key: forget it
            next_path.unlink(missing_ok=True)
        raise
    failpoints.hit("after_key_rotation_commit")
    os.replace(next_path, current_path)
    # A process may have sealed a secret with the old key while the transaction ran: catch it up.
    with st.sessions() as session, session.begin():
        rewritten += reencrypt(session, new, old, now=st.clock.now(), audit_only_changes=True)
    return Rotation(rewritten, from_environment=False)
