"""What the environment decides, read once by the command line and handed to the layers below.

Only mohsedi/cli reads environment variables (tests/test_layers.py holds this): it builds a
``Settings`` from them (mohsedi.cli.config.environment_settings) and installs it with
``configure`` before a command runs. Everything below asks ``current()``, whose defaults depend
on nothing but the home directory, so a library user gets the same answers whatever the
process's environment holds, and sets other values with ``configure`` (or passes them).

Forked workers inherit the settings with the rest of the parent's memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None  # the store; None: SQLite under data_home
    data_home: Path | None = None  # None: ~/.local/share (the XDG default)
    config_home: Path | None = None  # None: ~/.config
    cache_home: Path | None = None  # None: ~/.cache
    # The installation secret itself; "" is kept, to be refused as empty. Never in a repr (tracebacks, logs).
    secret: str | None = field(default=None, repr=False)
    secret_file: Path | None = None  # where the secret is kept; None: config_home/mohsedi/secret
    today: date | None = None  # rules about elapsed time judge as of this day; None: the real today

    @property
    def store_url(self) -> str:
        """The store every command uses unless told otherwise."""
        return self.database_url or self.own_store_url

    @property
    def own_store_url(self) -> str:
        """The store nobody named: SQLite under the data directory, kept by mohsedi like its other files."""
        base = self.data_home or Path.home() / ".local" / "share"
        return f"sqlite:///{base / 'mohsedi' / 'mohsedi.db'}"

    @property
    def config_dir(self) -> Path:
        return (self.config_home or Path.home() / ".config") / "mohsedi"

    @property
    def secret_path(self) -> Path:
        return self.secret_file or self.config_dir / "secret"

    @property
    def policy_path(self) -> Path:
        """The payer policy file read when none is named."""
        return self.config_dir / "policy.toml"

    @property
    def guide_cache_dir(self) -> Path:
        """Where compiled implementation guides are kept between runs."""
        return (self.cache_home or Path.home() / ".cache") / "mohsedi" / "guides"


_current = Settings()


def current() -> Settings:
    return _current


def configure(settings: Settings) -> None:
    """Install the settings every layer reads from now on (the CLI does this once per run)."""
    global _current
    _current = settings
