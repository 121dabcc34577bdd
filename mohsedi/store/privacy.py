"""Keyed hashes for the only person-related values the store keeps (member id, patient key).

The key is a per-installation secret kept outside the database ($MOHSEDI_SECRET, else a file
created once with mode 0600), so a copy of the database alone does not let anyone test
guessed member ids against it. Installations sharing one database share the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def secret_path() -> Path:
    configured = os.environ.get("MOHSEDI_SECRET_FILE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mohsedi" / "secret"


def installation_secret() -> bytes:
    env = os.environ.get("MOHSEDI_SECRET")
    if env:
        return env.encode()
    path = secret_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def keyed_hash(value: str, secret: bytes) -> str:
    return hmac.new(secret, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
