"""Reading NCCI releases and code lists in the layouts CMS and X12 publish them in.

- PTP practitioner `ccipra-v<ver>r0-f<n>.txt`: a notice, then tab-separated rows: Column 1,
  Column 2, "*" (in existence before 1996), effective date YYYYMMDD, deletion date YYYYMMDD
  or "*", modifier indicator 0/1/9, rationale.
- MUE practitioner `MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv`: several lines of AMA
  notice, a header (HCPCS/CPT Code, Practitioner Services MUE Values, MUE Adjudication
  Indicator, MUE Rationale), rows; the indicator reads like "3 Date of Service Edit: Clinical".
- Add-on codes `AOC_V<yyyy>Q<q>-MCR` (text or CSV export): a header naming the add-on code,
  the primary code, the edit type and, optionally, effective and deletion dates; columns are
  found by those words (CMS has changed the layout over the years), dates as YYYYMMDD,
  YYYY-MM-DD, MM/DD/YYYY or YYYYDDD, with 9999999/99991231/blank/* for none.
- The CSV form of ../shared/data/ncci (column_1, column_2, modifier_indicator, deletion_date,
  ptp_edit_rationale; hcpcs_code, mue_units, mue_mai, mue_rationale).
- CARC/RARC lists: CSV with code, status and description columns.

Errors name the file and line. Each function returns edits tied to the release given.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from mohsedi.codes.ncci import EARLIEST, AddOnEdit, MueEdit, PtpEdit, Release

CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")


class DataFileError(ValueError):
    """A file that is not in the layout it was given as; names the file and line."""


def _text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def parse_date(value: str, *, where: str) -> date | None:
    """The date forms CMS files use; None for 'no date'."""
    v = value.strip()
    if v in ("", "*") or v.startswith("9999"):
        return None
    try:
        if re.fullmatch(r"\d{8}", v):
            return date(int(v[:4]), int(v[4:6]), int(v[6:]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            return date.fromisoformat(v)
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", v):
            month, day, year = (int(x) for x in v.split("/"))
            return date(year, month, day)
        if re.fullmatch(r"\d{7}", v):  # YYYYDDD (ordinal day)
            return date(int(v[:4]), 1, 1) + timedelta(days=int(v[4:]) - 1)
    except ValueError:
        pass
    raise DataFileError(f"{where}: {value!r} is not a date")


def read_ptp_ccipra(path: Path, release: Release) -> Iterator[PtpEdit]:
    rows = 0
    for n, line in enumerate(_text(path).splitlines(), start=1):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 6 or not CODE.match(fields[0]) or not CODE.match(fields[1]):
            continue  # the notice and the column headings
        where = f"{path.name}, line {n}"
        effective = parse_date(fields[3], where=where) or EARLIEST
        deletion = parse_date(fields[4], where=where)
        indicator = fields[5]
        if indicator not in ("0", "1", "9"):
            raise DataFileError(f"{where}: modifier indicator {indicator!r} is not 0, 1 or 9")
        rows += 1
        yield PtpEdit(
            fields[0], fields[1], indicator, effective, deletion, fields[6] if len(fields) > 6 else "", release
        )
    if rows == 0:
        raise DataFileError(f"{path.name}: no PTP rows (Column 1, Column 2, *, effective, deletion, modifier)")


def _csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows after the first line that holds every required heading (notices before it are skipped)."""
    reader = csv.reader(io.StringIO(_text(path)))
    header: list[str] | None = None
    for n, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        if header is None:
            lowered = [c.lower() for c in cells]
            if all(any(req in c for c in lowered) for req in required):
                header = lowered
            continue
        if not any(cells):
            continue
        yield n, dict(zip(header, cells, strict=False))
    if header is None:
        raise DataFileError(f"{path.name}: no header with {', '.join(required)}")


def _column(row: dict[str, str], *words: str) -> str:
    for key, value in row.items():
        if all(w in key for w in words):
            return value
    return ""


def read_mue_practitioner(path: Path, release: Release) -> Iterator[MueEdit]:
    found = 0
    for n, row in _csv_rows(path, ("hcpcs", "mue value", "adjudication")):
        code = _column(row, "hcpcs")
        if not CODE.match(code):
            continue
        units_text = _column(row, "mue value")
        mai = _column(row, "adjudication")[:1]
        if not units_text.isdigit() or mai not in ("1", "2", "3"):
            raise DataFileError(f"{path.name}, line {n}: MUE {units_text!r} or indicator {mai!r} is not valid")
        found += 1
        yield MueEdit(code, int(units_text), mai, _column(row, "rationale"), release)
    if not found:
        raise DataFileError(f"{path.name}: no MUE rows")


def read_ptp_csv(path: Path, release: Release) -> Iterator[PtpEdit]:
    for n, row in _csv_rows(path, ("column_1", "column_2", "modifier_indicator")):
        yield PtpEdit(
            row["column_1"],
            row["column_2"],
            row["modifier_indicator"],
            parse_date(row.get("effective_date", ""), where=f"{path.name}, line {n}") or EARLIEST,
            parse_date(row.get("deletion_date", ""), where=f"{path.name}, line {n}"),
            row.get("ptp_edit_rationale", ""),
            release,
        )


def read_mue_csv(path: Path, release: Release) -> Iterator[MueEdit]:
    for _, row in _csv_rows(path, ("hcpcs_code", "mue_units", "mue_mai")):
        yield MueEdit(row["hcpcs_code"], int(row["mue_units"]), row["mue_mai"], row.get("mue_rationale", ""), release)


def read_addons(path: Path, release: Release) -> Iterator[AddOnEdit]:
    text = _text(path)
    delimiter = "\t" if text.count("\t") > text.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    found = 0
    for n, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        lowered = [c.lower() for c in cells]
        if header is None:
            if any("add" in c and "on" in c for c in lowered) and any("primary" in c for c in lowered):
                header = lowered
            continue
        data = dict(zip(header, cells, strict=False))
        addon = next((v for k, v in data.items() if "add" in k and "on" in k and "code" in k and "date" not in k), "")
        primary = next((v for k, v in data.items() if "primary" in k and "date" not in k), "")
        if not CODE.match(addon):
            continue
        where = f"{path.name}, line {n}"
        edit_type = next((v for k, v in data.items() if "type" in k), "1")
        effective = next((v for k, v in data.items() if "eff" in k and "primary" not in k), "")
        deletion = next((v for k, v in data.items() if ("del" in k or "end" in k) and "primary" not in k), "")
        found += 1
        yield AddOnEdit(
            addon,
            primary if CODE.match(primary) else "",
            edit_type.strip()[:1] or "1",
            release,
            parse_date(effective, where=where) or EARLIEST,
            parse_date(deletion, where=where),
        )
    if header is None:
        raise DataFileError(f"{path.name}: no header naming the add-on code and the primary code")
    if not found:
        raise DataFileError(f"{path.name}: no add-on rows")


def read_code_list(path: Path) -> Iterator[tuple[str, str, str]]:
    """(code, status, description) from a CARC or RARC list."""
    for _, row in _csv_rows(path, ("code",)):
        code = _column(row, "code")
        if code:
            yield code, (_column(row, "status") or "current").lower(), _column(row, "desc")


def code_list_kind(path: Path) -> str | None:
    """'carc' or 'rarc' for an X12 code list: by the file name, else by its codes (RARCs are
    M.., MA.. and N..; no CARC starts with M or N); None when it cannot tell."""
    name = path.name.lower()
    if "carc" in name or "rarc" in name:
        return "carc" if "carc" in name else "rarc"
    codes = [code for code, _, _ in read_code_list(path)]
    if not codes:
        return None
    remarks = sum(1 for c in codes if c[:1] in ("M", "N"))
    if remarks == len(codes):
        return "rarc"
    return "carc" if remarks == 0 else None


def effective_from_name(path: Path) -> date | None:
    """Effective date from a CMS file name: ..._Eff_MM-DD-YYYY.csv, AOC_V2024Q3..., ..._2024Q3..."""
    name = path.name
    match = re.search(r"Eff_(\d{2})-(\d{2})-(\d{4})", name, re.I)
    if match:
        return date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
    match = re.search(r"(\d{4})Q([1-4])", name, re.I)
    if match:
        return date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)
    return None


def read_ncci_file(kind: str, path: Path, release: Release) -> Iterator[PtpEdit | MueEdit | AddOnEdit]:
    """Any supported layout of one kind, told apart by content."""
    head = _text(path)[:4000].lower()
    if kind == "ptp":
        yield from read_ptp_csv(path, release) if "column_1" in head else read_ptp_ccipra(path, release)
    elif kind == "mue":
        yield from read_mue_csv(path, release) if "mue_units" in head else read_mue_practitioner(path, release)
    elif kind == "addon":
        yield from read_addons(path, release)
    else:
        raise DataFileError(f"unknown kind {kind!r}: ptp, mue or addon")
