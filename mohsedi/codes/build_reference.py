"""Build the reference data shipped in the package: `make reference-data`.

Writes mohsedi/data/reference.sqlite from
- the CSV form of the CMS NCCI practitioner release in ../shared/data/ncci: every PTP row of
  both files (column 1 11000-17999, and the Mohs file, which it contains), deletion dates kept,
  and the whole MUE table;
- the ICD-10-CM code list of the `simple-icd-10-cm` package (its billable flag from the
  package's own is_leaf, paid once here so that a check never parses its 10 MB XML).

A prebuilt SQLite file rather than gzip CSV, by measurement: reading the 106k PTP rows from
gzip CSV took about 430 ms, more than the 50 ms a one-claim check may spend on data; an
indexed SQLite query for one column 1 code takes well under 1 ms and the file adds about
1 MB to the (deflated) wheel. Rows are written in key order so the file is reproducible.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "data" / "reference.sqlite"

PTP_FILES = (
    "ncci_ptp_practitioner_2024Q3_col1_11000-17999.csv",
    "ncci_ptp_practitioner_2024Q3_mohs_17311-17315.csv",
)
MUE_FILE = "ncci_mue_practitioner_2024Q3.csv"
NCCI_EFFECTIVE = "2024-07-01"
# Column 1 codes the shipped PTP table holds every edit of (the source file's selection).
PTP_COLUMN1_RANGES = (("11000", "17999"),)

SCHEMA = """
CREATE TABLE meta (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE rationale (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE ptp (
    column1 TEXT NOT NULL, column2 TEXT NOT NULL, deletion TEXT NOT NULL,  -- '' when in force
    indicator TEXT NOT NULL, rationale INTEGER NOT NULL,
    PRIMARY KEY (column1, column2, deletion)
) WITHOUT ROWID;
CREATE TABLE mue (
    code TEXT PRIMARY KEY, units INTEGER NOT NULL, mai TEXT NOT NULL, rationale INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE icd10cm (code TEXT PRIMARY KEY, billable INTEGER NOT NULL) WITHOUT ROWID;
"""


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def ptp_rows(ncci: Path) -> list[dict[str, str]]:
    """Every PTP row of the two files, once (the Mohs file's rows are also in the column 1 file)."""
    seen: dict[tuple[str, str, str], dict[str, str]] = {}
    for name in PTP_FILES:
        for r in _csv(ncci / name):
            seen.setdefault((r["column_1"], r["column_2"], r["deletion_date"]), r)
    return [seen[k] for k in sorted(seen)]


def mue_rows(ncci: Path) -> list[dict[str, str]]:
    return sorted(_csv(ncci / MUE_FILE), key=lambda r: r["hcpcs_code"])


def icd10cm_codes() -> tuple[list[tuple[str, int]], str]:
    """(code without dot, 1 when billable) for every ICD-10-CM code, and the release's name."""
    import importlib.metadata

    import simple_icd_10_cm as cm  # slow import (XML parse): build time only

    # Chapters ("1".."22") and blocks ("A00-A09") are not codes; a block named like its only
    # category ("B10") is listed twice, and is_leaf answers for the category.
    codes = {c for c in cm.get_all_codes(False) if re.fullmatch(r"[A-Z][0-9][0-9A-Z]{1,5}", c)}
    rows = sorted((c, 1 if cm.is_leaf(c) else 0) for c in codes)
    version = importlib.metadata.version("simple-icd-10-cm")
    return rows, f"ICD-10-CM April 2026 (CMS, via simple-icd-10-cm {version})"


def build(shared_data: Path, target: Path = TARGET) -> dict[str, int]:
    ncci = shared_data / "ncci"
    ptp, mue = ptp_rows(ncci), mue_rows(ncci)
    icd, icd_name = icd10cm_codes()
    texts = sorted({r["ptp_edit_rationale"] for r in ptp} | {r["mue_rationale"] for r in mue})
    text_id = {t: i for i, t in enumerate(texts)}
    tmp = target.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.executescript(SCHEMA)
    db.executemany("INSERT INTO rationale VALUES (?, ?)", [(i, t) for t, i in text_id.items()])
    db.executemany(
        "INSERT INTO ptp VALUES (?, ?, ?, ?, ?)",
        [
            (
                r["column_1"],
                r["column_2"],
                r["deletion_date"],
                r["modifier_indicator"],
                text_id[r["ptp_edit_rationale"]],
            )
            for r in ptp
        ],
    )
    db.executemany(
        "INSERT INTO mue VALUES (?, ?, ?, ?)",
        [(r["hcpcs_code"], int(r["mue_units"]), r["mue_mai"], text_id[r["mue_rationale"]]) for r in mue],
    )
    db.executemany("INSERT INTO icd10cm VALUES (?, ?)", icd)
    deleted = [r["deletion_date"] for r in ptp if r["deletion_date"]]
    meta = {
        ("ptp", "source"): f"CMS NCCI practitioner PTP, release effective {NCCI_EFFECTIVE}: {', '.join(PTP_FILES)}",
        ("ptp", "effective"): NCCI_EFFECTIVE,
        ("ptp", "rows"): str(len(ptp)),
        ("ptp", "in_force"): str(len(ptp) - len(deleted)),
        ("ptp", "deleted"): str(len(deleted)),
        ("ptp", "last_deletion"): max(deleted, default=""),
        ("ptp", "column1_ranges"): " ".join(f"{lo}-{hi}" for lo, hi in PTP_COLUMN1_RANGES),
        ("mue", "source"): f"CMS NCCI practitioner MUE, release effective {NCCI_EFFECTIVE}: {MUE_FILE}",
        ("mue", "effective"): NCCI_EFFECTIVE,
        ("mue", "rows"): str(len(mue)),
        ("icd10cm", "source"): icd_name,
        ("icd10cm", "effective"): "2026-04-01",
        ("icd10cm", "rows"): str(len(icd)),
        ("icd10cm", "billable"): str(sum(b for _, b in icd)),
    }
    db.executemany("INSERT INTO meta VALUES (?, ?, ?)", [(k, key, v) for (k, key), v in sorted(meta.items())])
    db.commit()
    db.execute("VACUUM")
    db.close()
    tmp.replace(target)
    return {"ptp": len(ptp), "mue": len(mue), "icd10cm": len(icd)}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m mohsedi.codes.build_reference DIR (the folder holding ncci/*.csv)")
    source = Path(sys.argv[1])
    if not (source / "ncci" / MUE_FILE).exists():
        sys.exit(f"{source}/ncci/{MUE_FILE} not found: give the folder holding the release's CSV form")
    counts = build(source)
    print(", ".join(f"{k} {v} rows" for k, v in counts.items()), f"-> {TARGET}")
