"""The rule families; importing this registers every rule."""

from mohsedi.rules.catalog import caselog, codes, mohs, ncci, payer, tr3, x12  # noqa: F401
