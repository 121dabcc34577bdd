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
from mohsedi.codes.ncci import (
    SHIPPED_RELEASE,
    AddOnEdit,
    EditData,
    MueEdit,
    PtpEdit,
    Release,
    ShippedEditData,
    shipped_edits,
)
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
    deleted: int = 0  # rows with a deletion date (kept: they judge earlier dates of service)
    last_deletion: date | None = None
    origin: str = ""  # where the shipped data came from, or "imported"


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
    """Every release in use, per kind: the shipped data (NCCI, add-ons, code sets) and what was imported."""
    from mohsedi.codes import icd10cm, lists, refdata
    from mohsedi.codes.ncci import shipped_addon_rows

    meta = refdata.meta()
    out = []
    for kind in ("ptp", "mue"):
        info = meta[kind]
        out.append(
            ReleaseStatus(
                kind,
                str(SHIPPED_RELEASE)
                + (f", column 1 {info['column1_ranges']} only" if info.get("column1_ranges") else ""),
                SHIPPED_RELEASE.effective,
                SHIPPED_RELEASE.covers_until,
                int(info["rows"]),
                "shipped",
                int(info.get("deleted", 0)),
                date.fromisoformat(info["last_deletion"]) if info.get("last_deletion") else None,
                info["source"],
            )
        )
    addon_rows = sum(len(r["primary_codes"].split()) for r in shipped_addon_rows())
    out.append(
        ReleaseStatus(
            "addon",
            str(SHIPPED_RELEASE),
            SHIPPED_RELEASE.effective,
            SHIPPED_RELEASE.covers_until,
            addon_rows,
            "shipped",
            origin=f"CPT add-on instructions, {len(shipped_addon_rows())} add-on codes, cited per row (mohsedi)",
        )
    )
    icd = meta["icd10cm"]
    out.append(
        ReleaseStatus(
            "icd10cm",
            icd["source"],
            date.fromisoformat(icd["effective"]),
            icd10cm.covered()[1],
            int(icd["rows"]),
            "shipped",
            origin=f"{icd['billable']} billable codes",
        )
    )
    for kind, count, origin in (
        ("pos", len(lists.place_of_service()), lists.POS_RELEASE),
        ("carc", len(lists.carc_status()), f"{lists.LISTS_RELEASE}: codes and status; titles by mohsedi"),
        ("rarc", len(lists.rarc_status()), f"{lists.LISTS_RELEASE}: codes and status; titles by mohsedi"),
    ):
        out.append(ReleaseStatus(kind, origin, None, None, count, "shipped", origin=origin))
    if engine is not None:
        with engine.connect() as conn:
            deletions = {
                (kind, rid): (n, last)
                for kind, table in TABLE_OF.items()
                if "deletion" in table.c
                for rid, n, last in conn.execute(
                    sa.select(table.c.release_id, sa.func.count(table.c.deletion), sa.func.max(table.c.deletion))
                    .where(table.c.deletion.is_not(None))
                    .group_by(table.c.release_id)
                )
            }
            for row in conn.execute(sa.select(DR).order_by(DR.c.kind, DR.c.effective)):
                until = Release(row.name, row.effective).covers_until if row.effective else None
                n, last = deletions.get((row.kind, row.id), (0, None))
                out.append(
                    ReleaseStatus(
                        row.kind, row.name, row.effective, until, row.rows, row.source_files, n, last, "imported"
                    )
                )
            texts = conn.execute(sa.select(CT.c.list_name, sa.func.count()).group_by(CT.c.list_name)).all()
            for list_name, n in texts:
                out.append(
                    ReleaseStatus(
                        list_name,
                        f"official {list_name.upper()} descriptions",
                        None,
                        None,
                        n,
                        "imported",
                        origin="imported",
                    )
                )
    return out


class StoredEditData(ShippedEditData):
    """The shipped default plus the store's releases, whose rows load per code on first use.

    A check touches a few hundred codes; a full PTP release has about a million rows. Each
    code is read once (one indexed query), then every lookup is a dictionary probe.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        with engine.connect() as conn:
            rows = conn.execute(sa.select(DR).where(DR.c.kind.in_(list(TABLE_OF)))).all()
        self.stored = {row.id: (row.kind, Release(row.name, row.effective)) for row in rows if row.effective}
        for kind, release in self.stored.values():
            self.add_release(kind, release)

    def _ensure(self, kind: str, code: str) -> None:
        super()._ensure(kind, code)
        if not self.stored:
            return
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


class CodeTitles:
    """Titles of CAS groups, CARCs and RARCs for reports: the official description when a user
    imported the X12 lists (`mohsedi data import codes FILE`), else mohsedi's own short title.

    Usage: ``titles = code_titles(engine); titles.title("carc", "236")``; ``titles.official``
    tells whether any official text is loaded (a report can say which it shows).
    """

    LISTS = ("group", "carc", "rarc")

    def __init__(self, official: dict[tuple[str, str], str] | None = None) -> None:
        self._official = official or {}

    @property
    def official(self) -> bool:
        return bool(self._official)

    def title(self, list_name: str, code: str) -> str:
        """list_name: group, carc or rarc; '' when neither source knows the code."""
        from mohsedi.codes.lists import title

        return self._official.get((list_name, code)) or title(list_name, code)


def code_titles(engine: Engine | None) -> CodeTitles:
    """One query for every imported description; none (our titles only) without a store."""
    if engine is None:
        return CodeTitles()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(CT.c.list_name, CT.c.code, CT.c.description)).all()
    return CodeTitles({(r.list_name, r.code): r.description for r in rows if r.description})


def load_edit_data(engine: Engine | None) -> EditData:
    """The shipped default, plus the store's imported releases when there is a store."""
    return shipped_edits() if engine is None else StoredEditData(engine)


__all__ = [
    "SHIPPED_RELEASE",
    "CodeTitles",
    "code_titles",
    "ImportResult",
    "ReleaseStatus",
    "import_release",
    "load_edit_data",
    "release_status",
]
