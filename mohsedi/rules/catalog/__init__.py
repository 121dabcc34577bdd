"""The rule families; importing this registers every rule."""

from mohsedi.rules.catalog import caselog, mohs, ncci, payer, tr3, x12  # noqa: F401
