"""NCCI edits as versioned data: PTP pairs, MUE limits and add-on codes, by date of service.

A release is what CMS publishes for a quarter (the shipped default is the practitioner
release effective 2024-07-01). A claim is judged by the newest release in force on its date
of service; each edit also has its own effective and deletion dates. Lookups are one
dictionary probe per pair or code, then a walk over that key's few edit periods.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources

EARLIEST = date(1996, 1, 1)  # "*": in existence before 1996


@dataclass(frozen=True, slots=True)
class Release:
    name: str  # e.g. "CMS NCCI practitioner 2024-07-01"
    effective: date  # the quarter it starts

    def __str__(self) -> str:
        return self.name

    @property
    def covers_until(self) -> date:
        """The last day of the release's quarter (releases are quarterly)."""
        month = self.effective.month + 3
        year = self.effective.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        return date.fromordinal(date(year, month, 1).toordinal() - 1)


def in_force(effective: date, deletion: date | None, day: date) -> bool:
    """An edit applies from its effective date through its deletion date (none: still in force)."""
    return effective <= day and (deletion is None or day <= deletion)


@dataclass(frozen=True, slots=True)
class PtpEdit:
    column1: str
    column2: str
    modifier_indicator: str  # 0 never bypassable, 1 bypassable with an NCCI-associated modifier, 9 n/a
    effective: date
    deletion: date | None  # None: in force
    rationale: str
    release: Release

    def in_force(self, day: date) -> bool:
        return in_force(self.effective, self.deletion, day)


@dataclass(frozen=True, slots=True)
class MueEdit:
    code: str
    units: int
    mai: str  # 1 per line, 2 per date (policy), 3 per date (clinical)
    rationale: str
    release: Release
    effective: date = EARLIEST
    deletion: date | None = None

    def in_force(self, day: date) -> bool:
        return in_force(self.effective, self.deletion, day)


@dataclass(frozen=True, slots=True)
class AddOnEdit:
    addon: str
    primary: str
    edit_type: str  # 1 listed primaries, 2 contractor's list, 3 listed with exceptions
    release: Release
    effective: date = EARLIEST
    deletion: date | None = None

    def in_force(self, day: date) -> bool:
        return in_force(self.effective, self.deletion, day)


KINDS = ("ptp", "mue", "addon")
_UNKNOWN = object()  # not asked yet (None is an answer: no edit)


@dataclass
class EditData:
    """Releases and their edits, keyed for one probe per lookup.

    Each kind (PTP, MUE, add-on) has its own releases: a new PTP quarter imported without its
    MUE file leaves MUE lookups on the newest MUE release.
    """

    releases: dict[str, list[Release]] = field(default_factory=lambda: {k: [] for k in KINDS})
    ptp: dict[tuple[str, str], list[PtpEdit]] = field(default_factory=lambda: defaultdict(list))
    mue: dict[str, list[MueEdit]] = field(default_factory=lambda: defaultdict(list))
    addons: dict[str, list[AddOnEdit]] = field(default_factory=lambda: defaultdict(list))
    # PTP releases that hold only some column 1 codes: release -> (low, high) code ranges.
    # A release not named here is a whole CMS table.
    ptp_scope: dict[Release, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    # Codes whose rows are in the dictionaries: a lookup asks _ensure only for a new code
    # (an inline set probe: lookups run once per pair of codes per day).
    seen: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    # Answers already given, by kind and (codes, date): a batch asks the same few questions for
    # thousands of days. Emptied whenever releases or edits are added through add/add_release.
    _answers: dict[tuple, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def copy(self) -> EditData:
        clone = EditData()
        self._copy_into(clone)
        return clone

    def _copy_into(self, clone: EditData) -> None:
        clone.releases = {k: list(v) for k, v in self.releases.items()}
        clone.ptp = defaultdict(list, {k: list(v) for k, v in self.ptp.items()})
        clone.mue = defaultdict(list, {k: list(v) for k, v in self.mue.items()})
        clone.addons = defaultdict(list, {k: list(v) for k, v in self.addons.items()})
        clone.ptp_scope = dict(self.ptp_scope)
        clone.seen = {k: set(v) for k, v in self.seen.items()}
        clone._answers = {}

    def _ensure(self, kind: str, code: str) -> None:
        """Load this code's rows where the data is read on demand (the shipped file, the store);
        an override loads, then calls this."""
        self.seen[kind].add(code)

    def ptp_covers(self, column1: str, day: date) -> bool:
        """Whether the PTP release judging this date holds every edit with this column 1 code."""
        release = self.release_for("ptp", day)
        if release is None:
            return False
        ranges = self.ptp_scope.get(release)
        if ranges is None:
            return True
        return any(len(column1) == len(lo) and lo <= column1 <= hi for lo, hi in ranges)

    def add_release(self, kind: str, release: Release) -> None:
        self._answers.clear()
        known = self.releases[kind]
        if release not in known:
            known.append(release)
            known.sort(key=lambda r: r.effective)

    def add(self, edits: Iterable[PtpEdit | MueEdit | AddOnEdit]) -> None:
        self._answers.clear()
        for e in edits:
            if isinstance(e, PtpEdit):
                self.add_release("ptp", e.release)
                self.ptp[(e.column1, e.column2)].append(e)
            elif isinstance(e, MueEdit):
                self.add_release("mue", e.release)
                self.mue[e.code].append(e)
            else:
                self.add_release("addon", e.release)
                self.addons[e.addon].append(e)

    def release_for(self, kind: str, day: date) -> Release | None:
        """The kind's newest release in force on the date (its oldest for earlier dates)."""
        known = self.releases[kind]
        chosen = None
        for r in known:
            if r.effective <= day:
                chosen = r
        return chosen or (known[0] if known else None)

    def newest(self) -> Release | None:
        """The oldest of the kinds' newest releases: dates after its quarter are not fully covered."""
        newest = [rs[-1] for rs in self.releases.values() if rs]
        return min(newest, key=lambda r: r.effective) if newest else None

    def all_releases(self) -> list[tuple[str, Release]]:
        return [(kind, r) for kind in KINDS for r in self.releases[kind]]

    def pair(self, column1: str, column2: str, day: date) -> PtpEdit | None:
        """The PTP edit for the pair in force on the date, from the release that judges it."""
        key = ("ptp", column1, column2, day)
        found = self._answers.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._answers[key] = self._pair(column1, column2, day)
        return found  # type: ignore[return-value]

    def pairs_among(self, codes: Sequence[str], day: date) -> list[tuple[str, str, PtpEdit]]:
        """(column 1, column 2, edit) for every ordered pair of different codes with an edit in
        force on the date, in the order of ``codes``: ``pair`` over them all, kept per code list."""
        key = ("ptp-among", tuple(codes), day)
        found = self._answers.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._answers[key] = [
                (c1, c2, edit)
                for c1 in codes
                for c2 in codes
                if c1 != c2 and (edit := self.pair(c1, c2, day)) is not None
            ]
        return found  # type: ignore[return-value]

    def _pair(self, column1: str, column2: str, day: date) -> PtpEdit | None:
        if column1 not in self.seen["ptp"]:
            self._ensure("ptp", column1)
        edits = self.ptp.get((column1, column2))
        if not edits:
            return None
        release = self.release_for("ptp", day)
        for e in edits:
            if e.release is release and e.in_force(day):
                return e
        return None

    def mue_for(self, code: str, day: date) -> MueEdit | None:
        key = ("mue", code, day)
        found = self._answers.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._answers[key] = self._mue_for(code, day)
        return found  # type: ignore[return-value]

    def _mue_for(self, code: str, day: date) -> MueEdit | None:
        if code not in self.seen["mue"]:
            self._ensure("mue", code)
        edits = self.mue.get(code)
        if not edits:
            return None
        release = self.release_for("mue", day)
        for e in edits:
            if e.release is release and e.in_force(day):
                return e
        return None

    def primaries_for(self, addon: str, day: date) -> list[AddOnEdit] | None:
        """The add-on's edits in force on the date; None when the code is not a listed add-on."""
        key = ("addon", addon, day)
        found = self._answers.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._answers[key] = self._primaries_for(addon, day)
        return None if found is None else list(found)  # type: ignore[call-overload]

    def _primaries_for(self, addon: str, day: date) -> list[AddOnEdit] | None:
        if addon not in self.seen["addon"]:
            self._ensure("addon", addon)
        edits = self.addons.get(addon)
        if not edits:
            return None
        release = self.release_for("addon", day)
        in_force = [e for e in edits if e.release is release and e.in_force(day)]
        return in_force or None


# ---------------------------------------------------------------- the shipped default

SHIPPED_RELEASE = Release("CMS NCCI practitioner 2024-07-01 (shipped with mohsedi)", date(2024, 7, 1))
ADDON_TABLE = "addons.csv"  # CPT add-on instructions, one row per add-on with a citation
# The shipped MUE rows carry no dates of their own; CMS began the MUE program on 2007-01-01, so
# they judge no earlier date (a 2005 claim is not held to a 2024 limit).
MUE_PROGRAM_START = date(2007, 1, 1)


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


@functools.cache
def shipped_addon_rows() -> list[dict[str, str]]:
    """The shipped add-on table: addon_code, primary_codes, edit_type, citation."""
    text = resources.files("mohsedi.data").joinpath("ncci", ADDON_TABLE).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


class ShippedEditData(EditData):
    """The shipped release, read per code from mohsedi/data/reference.sqlite on first use.

    The PTP table holds every practitioner edit whose column 1 is 11000-17999 (the source's
    selection), so it answers for those column 1 codes only (ptp_covers); MUE is the whole
    table; add-ons are the project's CPT table (small: read whole).
    """

    def __init__(self) -> None:
        super().__init__()
        from mohsedi.codes import refdata

        for kind in KINDS:
            self.add_release(kind, SHIPPED_RELEASE)
        ranges = refdata.meta().get("ptp", {}).get("column1_ranges", "")
        scope = tuple(tuple(r.split("-", 1)) for r in ranges.split())
        if scope:
            self.ptp_scope[SHIPPED_RELEASE] = scope  # type: ignore[assignment]
        self.add(
            AddOnEdit(r["addon_code"], primary, r["edit_type"], SHIPPED_RELEASE)
            for r in shipped_addon_rows()
            for primary in r["primary_codes"].split()  # written out, no ranges
        )

    def copy(self) -> ShippedEditData:
        clone = ShippedEditData.__new__(ShippedEditData)
        self._copy_into(clone)
        return clone

    def _ensure(self, kind: str, code: str) -> None:
        super()._ensure(kind, code)
        if kind == "addon":
            return  # the add-on table is read whole
        from mohsedi.codes import refdata

        texts = refdata.rationales()
        if kind == "ptp":
            for column2, deletion, indicator, rationale in refdata.query(
                "SELECT column2, deletion, indicator, rationale FROM ptp WHERE column1 = ?", (code,)
            ):
                self.ptp[(code, column2)].append(
                    PtpEdit(code, column2, indicator, EARLIEST, _day(deletion), texts[rationale], SHIPPED_RELEASE)
                )
        else:
            for units, mai, rationale in refdata.query("SELECT units, mai, rationale FROM mue WHERE code = ?", (code,)):
                self.mue[code].append(
                    MueEdit(code, units, mai, texts[rationale], SHIPPED_RELEASE, effective=MUE_PROGRAM_START)
                )


@functools.cache
def shipped_edits() -> ShippedEditData:
    return ShippedEditData()
