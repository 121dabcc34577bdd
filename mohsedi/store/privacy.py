"""Keyed hashes for the only person-related values the store keeps (member id, patient key).

The key is a per-installation secret kept outside the database ($MOHSEDI_SECRET, else a file
created once with mode 0600), so a copy of the database alone does not let anyone test
guessed member ids against it. Installations sharing one database share the secret.

The secret is treated like an ssh key: created atomically (processes starting together get
one secret), refused when empty or readable by anyone but its owner. The store keeps the
secret's fingerprint, so a changed or lost secret is told instead of silently giving one
patient two keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

from mohsedi.settings import Settings, current
from mohsedi.store.db import StoreError


class SecretError(StoreError):
    """The installation secret cannot be used (empty, too open, missing, or not the store's)."""


def secret_path(settings: Settings | None = None) -> Path:
    """$MOHSEDI_SECRET_FILE, else ~/.config/mohsedi/secret (under $XDG_CONFIG_HOME when set)."""
    return (settings or current()).secret_path


def secret_configured(settings: Settings | None = None) -> bool:
    """Whether a secret exists already ($MOHSEDI_SECRET set, or the file there)."""
    settings = settings or current()
    return settings.secret is not None or settings.secret_path.exists()


def _create(path: Path) -> None:
    """Write a new secret whole under a temporary name, then link it into place: the link fails
    when another process got there first, and then its secret is the one used."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".secret.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process's secret is in place: use it
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def installation_secret(*, create: bool = True, settings: Settings | None = None) -> bytes:
    """The secret: $MOHSEDI_SECRET, else the file (made on first use when ``create``)."""
    settings = settings or current()
    given = settings.secret
    if given is not None:
        if not given.strip():
            raise SecretError("$MOHSEDI_SECRET is set but empty; unset it or give the installation's secret")
        return given.encode()
    path = settings.secret_path
    if not path.exists():
        if not create:
            raise SecretError(
                f"the installation secret {path} is missing, and this store was filled with one: restore it "
                "(or set $MOHSEDI_SECRET); a new secret would give every patient a second key"
            )
        _create(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"the installation secret {path} can be read by others (mode {stat.S_IMODE(mode):04o}): "
            f"run `chmod 600 {path}`"
        )
    value = path.read_text().strip()
    if not value:
        raise SecretError(f"the installation secret {path} is empty: restore it, or delete it on a new installation")
    return value.encode()


def keyed_hash(value: str, secret: bytes) -> str:
    return hmac.new(secret, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def fingerprint(secret: bytes) -> str:
    """Names the secret without revealing it (a keyed hash of a fixed text, shortened)."""
    return keyed_hash("mohsedi installation secret fingerprint", secret)[:32]
