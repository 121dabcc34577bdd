"""Build the shipped dermatology subset of an NCCI release: `make data-subset`.

Keeps PTP pairs whose two codes both fall in the Mohs, biopsy, excision, destruction, repair,
adjacent tissue transfer, graft and flap, surgical pathology and office E/M ranges, and the
MUE rows of those codes. Reads the CSV form of a release from the folder given.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

DERM_RANGES = (
    (11102, 11107),  # biopsy
    (11400, 11471),  # excision, benign
    (11600, 11646),  # excision, malignant
    (12001, 13160),  # repair
    (14000, 14350),  # adjacent tissue transfer
    (15002, 15770),  # grafts and flaps
    (17000, 17286),  # destruction
    (17311, 17315),  # Mohs
    (88300, 88399),  # surgical pathology, stains, frozen sections, IHC
    (99202, 99215),  # office E/M
)


def in_derm_ranges(code: str) -> bool:
    return code.isdigit() and len(code) == 5 and any(lo <= int(code) <= hi for lo, hi in DERM_RANGES)


def build(source: Path, target: Path) -> tuple[int, int]:
    ptp_in = source / "ncci_ptp_practitioner_2024Q3_col1_11000-17999.csv"
    mue_in = source / "ncci_mue_practitioner_2024Q3.csv"
    with open(ptp_in, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if in_derm_ranges(r["column_1"]) and in_derm_ranges(r["column_2"])]
    fields = ["column_1", "column_2", "modifier_indicator", "deletion_date", "ptp_edit_rationale"]
    with open(target / "ptp_practitioner_2024Q3_derm.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: r[k] for k in fields} for r in rows)
    with open(mue_in, newline="", encoding="utf-8") as fh:
        mues = [r for r in csv.DictReader(fh) if in_derm_ranges(r["hcpcs_code"])]
    fields = ["hcpcs_code", "mue_units", "mue_mai", "mue_rationale"]
    with open(target / "mue_practitioner_2024Q3_derm.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: r[k] for k in fields} for r in mues)
    return len(rows), len(mues)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m mohsedi.codes.ncci_subset DIR (the folder holding the release's CSV form)")
    source = Path(sys.argv[1])
    target = Path(__file__).resolve().parent.parent / "data" / "ncci"
    pairs, mues = build(source, target)
    print(f"PTP pairs {pairs}, MUE rows {mues}")
