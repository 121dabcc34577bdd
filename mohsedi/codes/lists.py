"""CARC, RARC, CAS group and place-of-service code lists shipped with the package."""

from __future__ import annotations

import csv
import functools
from datetime import date
from importlib import resources

LISTS_RELEASE = "x12.org code lists as of 2026-08-17"
POS_RELEASE = "CMS place of service code set, 2024-06"


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("mohsedi.data").joinpath("codes", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@functools.cache
def carc_status() -> dict[str, str]:
    """CARC -> 'current' or 'deactivated'."""
    return {r["code"]: r["status"] for r in _rows("carc.csv")}


@functools.cache
def rarc_status() -> dict[str, str]:
    return {r["code"]: r["status"] for r in _rows("rarc.csv")}


@functools.cache
def group_codes_835() -> frozenset[str]:
    return frozenset(r["group"] for r in _rows("claim_adjustment_groups.csv") if r["valid_in_835"] == "Y")


@functools.cache
def short_titles() -> dict[tuple[str, str], str]:
    """The project's own short title for each group, CARC and RARC its rules predict or its
    reports show ((list, code) -> title); X12's own text only when a user imports it."""
    return {(r["list"], r["code"]): r["title"] for r in _rows("titles.csv")}


def title(list_name: str, code: str) -> str:
    """The project's own short title ('' when it has none). Reports should call
    mohsedi.store.editdata.code_titles(engine).title(...), which prefers the official
    description a user imported with `mohsedi data import codes`."""
    return short_titles().get((list_name, code), "")


@functools.cache
def place_of_service() -> dict[str, str]:
    """POS code -> name, the whole CMS list (CODE002)."""
    return {r["code"]: r["name"] for r in _rows("place_of_service.csv")}


@functools.cache
def assigned_places_of_service() -> frozenset[str]:
    """The POS codes in use: the list's Unassigned numbers are not valid on a claim."""
    return frozenset(code for code, name in place_of_service().items() if name != "Unassigned")


@functools.cache
def deleted_procedures() -> dict[str, tuple[date, str]]:
    """code -> (deleted on, current codes) for CODE003; the Mohs codes 17304-17310 are MOHS016's."""
    return {r["code"]: (date.fromisoformat(r["deleted_on"]), r["replaced_by"]) for r in _rows("deleted_procedures.csv")}
