"""NCCI releases and code lists in the store: importing them, listing them, loading them for checks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mohsedi.codes.importers import DataFileError, effective_from_name, read_code_list, read_ncci_file
from mohsedi.codes.ncci import SHIPPED_RELEASE, AddOnEdit, EditData, MueEdit, PtpEdit, Release, shipped_edits
from mohsedi.store import models as m
from mohsedi.store.db import insert_returning_ids, write_transaction

DR, PTP, MUE, AOC, CT = (
    m.DataRelease.__table__,
    m.PtpEditRow.__table__,
    m.MueEditRow.__table__,
    m.AddOnEditRow.__table__,
    m.CodeText.__table__,
)
TABLE_OF = {"ptp": PTP, "mue": MUE, "addon": AOC}


@dataclass
class ImportResult:
    kind: str
    name: str
    effective: date | None
    rows: int
    already_loaded: bool


@dataclass
class ReleaseStatus:
    kind: str
    name: str
    effective: date | None
    covers_until: date | None
    rows: int
    source: str  # "shipped" or the imported files


def import_release(
    engine: Engine, kind: str, paths: Sequence[Path], *, effective: date | None = None, name: str | None = None
) -> ImportResult:
    """Load one release of one kind (several files, e.g. ccipra f1..f4) in one transaction."""
    if kind in ("carc", "rarc"):
        return _import_codes(engine, kind, paths)
    effective = effective or next((d for p in paths if (d := effective_from_name(p))), None)
    if effective is None:
        raise DataFileError(
            f"{', '.join(p.name for p in paths)}: the file names give no effective date; pass --effective YYYY-MM-DD"
        )
    name = name or f"CMS NCCI practitioner {kind.upper()} {effective.isoformat()}"
    release = Release(name, effective)
    digest = hashlib.sha256()
    for p in paths:
        digest.update(p.read_bytes())
    edits = [e for p in paths for e in read_ncci_file(kind, p, release)]
    with write_transaction(engine) as conn:
        if conn.execute(sa.select(DR.c.id).where(DR.c.kind == kind, DR.c.name == name)).first():
            return ImportResult(kind, name, effective, 0, True)
        release_id = insert_returning_ids(
            conn,
            DR,
            [
                {
                    "kind": kind,
                    "name": name,
                    "effective": effective,
                    "source_files": ", ".join(p.name for p in paths),
                    "sha256": digest.hexdigest(),
                    "rows": len(edits),
                    "imported_at": datetime.now().replace(microsecond=0),
                }
            ],
        )[0]
        rows = [_row(release_id, e) for e in edits]
        for i in range(0, len(rows), 20_000):
            conn.execute(sa.insert(TABLE_OF[kind]), rows[i : i + 20_000])
    return ImportResult(kind, name, effective, len(edits), False)


def _row(release_id: int, e: PtpEdit | MueEdit | AddOnEdit) -> dict:
    if isinstance(e, PtpEdit):
        return {
            "release_id": release_id,
            "column1": e.column1,
            "column2": e.column2,
            "modifier_indicator": e.modifier_indicator,
            "effective": e.effective,
            "deletion": e.deletion,
            "rationale": e.rationale[:200],
        }
    if isinstance(e, MueEdit):
        return {
            "release_id": release_id,
            "code": e.code,
            "units": e.units,
            "mai": e.mai,
            "rationale": e.rationale[:200],
        }
    return {
        "release_id": release_id,
        "addon": e.addon,
        "primary_code": e.primary,
        "edit_type": e.edit_type,
        "effective": e.effective,
        "deletion": e.deletion,
    }


def _import_codes(engine: Engine, kind: str, paths: Sequence[Path]) -> ImportResult:
    rows = {code: (status, text) for p in paths for code, status, text in read_code_list(p)}
    with write_transaction(engine) as conn:
        conn.execute(sa.delete(CT).where(CT.c.list_name == kind))
        conn.execute(
            sa.insert(CT),
            [{"list_name": kind, "code": c, "status": s, "description": t} for c, (s, t) in rows.items()],
        )
    return ImportResult(kind, f"{kind.upper()} list", None, len(rows), False)


def release_status(engine: Engine | None) -> list[ReleaseStatus]:
    """Every release in use: the shipped default and what was imported."""
    shipped = shipped_edits()
    out = [
        ReleaseStatus(kind, str(r), r.effective, r.covers_until, _count(shipped, kind), "shipped")
        for kind, r in shipped.all_releases()
    ]
    if engine is not None:
        with engine.connect() as conn:
            for row in conn.execute(sa.select(DR).order_by(DR.c.kind, DR.c.effective)):
                until = Release(row.name, row.effective).covers_until if row.effective else None
                out.append(ReleaseStatus(row.kind, row.name, row.effective, until, row.rows, row.source_files))
    return out


def _count(data: EditData, kind: str) -> int:
    table = {"ptp": data.ptp, "mue": data.mue, "addon": data.addons}[kind]
    return sum(len(v) for v in table.values())


class StoredEditData(EditData):
    """The shipped default plus the store's releases, whose rows load per code on first use.

    A check touches a few hundred codes; a full PTP release has about a million rows. Each
    code is read once (one indexed query), then every lookup is a dictionary probe.
    """

    def __init__(self, engine: Engine) -> None:
        base = shipped_edits().copy()
        super().__init__(base.releases, base.ptp, base.mue, base.addons)
        self.engine = engine
        self.loaded: dict[str, set[str]] = {"ptp": set(), "mue": set(), "addon": set()}
        with engine.connect() as conn:
            rows = conn.execute(sa.select(DR).where(DR.c.kind.in_(list(TABLE_OF)))).all()
        self.stored = {row.id: (row.kind, Release(row.name, row.effective)) for row in rows if row.effective}
        for kind, release in self.stored.values():
            self.add_release(kind, release)

    def _ensure(self, kind: str, code: str) -> None:
        if code in self.loaded[kind] or not self.stored:
            return
        self.loaded[kind].add(code)
        table, column = {"ptp": (PTP, "column1"), "mue": (MUE, "code"), "addon": (AOC, "addon")}[kind]
        ids = [i for i, (k, _) in self.stored.items() if k == kind]
        if not ids:
            return
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c[column] == code, table.c.release_id.in_(ids))).all()
        for row in rows:
            release = self.stored[row.release_id][1]
            if kind == "ptp":
                edit = PtpEdit(
                    row.column1,
                    row.column2,
                    row.modifier_indicator,
                    row.effective,
                    row.deletion,
                    row.rationale,
                    release,
                )
                self.ptp[(edit.column1, edit.column2)].append(edit)
            elif kind == "mue":
                self.mue[row.code].append(MueEdit(row.code, row.units, row.mai, row.rationale, release))
            else:
                self.addons[row.addon].append(
                    AddOnEdit(row.addon, row.primary_code, row.edit_type, release, row.effective, row.deletion)
                )

    def pair(self, column1: str, column2: str, day: date) -> PtpEdit | None:
        self._ensure("ptp", column1)
        return super().pair(column1, column2, day)

    def mue_for(self, code: str, day: date) -> MueEdit | None:
        self._ensure("mue", code)
        return super().mue_for(code, day)

    def primaries_for(self, addon: str, day: date) -> list[AddOnEdit] | None:
        self._ensure("addon", addon)
        return super().primaries_for(addon, day)


def load_edit_data(engine: Engine | None) -> EditData:
    """The shipped default, plus the store's imported releases when there is a store."""
    return shipped_edits() if engine is None else StoredEditData(engine)


__all__ = ["SHIPPED_RELEASE", "ImportResult", "ReleaseStatus", "import_release", "load_edit_data", "release_status"]
