"""The rule families; importing this registers every rule."""

from mohsedi.rules.catalog import caselog, mohs, ncci, payer, x12  # noqa: F401
