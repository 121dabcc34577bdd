"""The rule families; importing this registers every rule."""

from mohsedi.rules.catalog import mohs, ncci, x12  # noqa: F401
