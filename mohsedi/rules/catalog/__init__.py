"""The rule families; importing this registers every rule."""

from mohsedi.rules.catalog import mohs, x12  # noqa: F401
