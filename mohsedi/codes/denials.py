"""What counts as a denial (mohs-rules.md section 3).

An adjustment (one CAS triplet) is a denial when its group is CO, OA or PI and its CARC is not
a payment adjustment. The payment adjustments are data (data/codes/payment_adjustments.csv) a
practice extends in its policy file (``[denials] payment_adjustments``). Group PR is the
patient's share: never a denial of the practice's claim, shown apart (PR-204 and PR-96, not
covered, are worth a look of their own).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from importlib import resources

DENIAL_GROUPS = frozenset({"CO", "OA", "PI"})
PATIENT_GROUP = "PR"
NOT_COVERED_FOR_PATIENT = frozenset({"204", "96"})


@functools.cache
def default_payment_adjustments() -> frozenset[str]:
    text = resources.files("mohsedi.data").joinpath("codes", "payment_adjustments.csv").read_text(encoding="utf-8")
    return frozenset(row["carc"].strip().upper() for row in csv.DictReader(text.splitlines()))


def payment_adjustments(extra: Iterable[str] = ()) -> frozenset[str]:
    """The defaults plus the practice's own additions."""
    return default_payment_adjustments() | {c.strip().upper() for c in extra}


def is_denial(group: str, carc: str, payment: frozenset[str] | None = None) -> bool:
    """CO/OA/PI with a CARC that is not a payment adjustment."""
    if group.strip().upper() not in DENIAL_GROUPS:
        return False
    return carc.strip().upper() not in (payment if payment is not None else default_payment_adjustments())
