"""Autogenerate a migration against the models: `python -m mohsedi.store.revision "message"`."""

from __future__ import annotations

import sys
import tempfile

from alembic import command

from mohsedi.store.db import alembic_config, upgrade


def main() -> None:
    message = " ".join(sys.argv[1:]) or "schema change"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/rev.db"
        upgrade(url)  # the current head, to diff the models against
        command.revision(alembic_config(url), message=message, autogenerate=True)


if __name__ == "__main__":
    main()
