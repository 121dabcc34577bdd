"""NCCI data: importers on fixtures in the official layouts, releases by date, the store, the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from mohsedi.cli.main import cli
from mohsedi.codes.importers import (
    DataFileError,
    effective_from_name,
    parse_date,
    read_addons,
    read_mue_practitioner,
    read_ncci_file,
    read_ptp_ccipra,
)
from mohsedi.codes.ncci import SHIPPED_RELEASE, EditData, MueEdit, Release, shipped_edits
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.run.report import run_notices
from mohsedi.store.db import open_store
from mohsedi.store.editdata import import_release, load_edit_data, release_status
from tests.conftest import SAMPLES
from tests.engine import check_files

FIXTURES = Path(__file__).parent / "fixtures" / "ncci"
CCIPRA = FIXTURES / "ccipra-v303r0-f1.txt"
MUE_FILE = FIXTURES / "MCR_MUE_PractitionerServices_Eff_07-01-2024.csv"
AOC_FILE = FIXTURES / "AOC_V2024Q3-MCR.txt"
FIXTURE_RELEASE = Release("fixture 2024-07-01", date(2024, 7, 1))
DAY = date(2026, 10, 6)


def fixture_data() -> EditData:
    data = EditData()
    data.add(read_ptp_ccipra(CCIPRA, FIXTURE_RELEASE))
    data.add(read_mue_practitioner(MUE_FILE, FIXTURE_RELEASE))
    data.add(read_addons(AOC_FILE, FIXTURE_RELEASE))
    return data


def test_ccipra_rows_after_the_notice() -> None:
    edits = list(read_ptp_ccipra(CCIPRA, FIXTURE_RELEASE))
    assert len(edits) == 66
    pair = next(e for e in edits if (e.column1, e.column2) == ("17311", "11102"))
    assert pair.modifier_indicator == "1" and pair.deletion is None and pair.effective == date(1996, 1, 1)
    deleted = [e for e in edits if (e.column1, e.column2) == ("17311", "99213") and e.deletion]
    assert deleted and deleted[0].deletion == date(2019, 12, 31)


def test_mue_practitioner_layout() -> None:
    edits = {e.code: e for e in read_mue_practitioner(MUE_FILE, FIXTURE_RELEASE)}
    assert (edits["17313"].units, edits["17313"].mai) == (3, "3")
    assert (edits["11102"].units, edits["11102"].mai) == (1, "2")


def test_addon_layout_with_ordinal_dates() -> None:
    edits = list(read_addons(AOC_FILE, FIXTURE_RELEASE))
    primaries = {e.primary for e in edits if e.addon == "11103"}
    assert primaries == {"11102", "11104"}
    assert edits[0].effective == date(2013, 4, 1) and edits[0].deletion is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240701", date(2024, 7, 1)),
        ("2024-07-01", date(2024, 7, 1)),
        ("7/1/2024", date(2024, 7, 1)),
        ("2013091", date(2013, 4, 1)),
        ("*", None),
        ("", None),
        ("9999999", None),
        ("99991231", None),
    ],
)
def test_date_forms(text: str, expected: date | None) -> None:
    assert parse_date(text, where="x") == expected


def test_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "ccipra-bad.txt"
    bad.write_text("notice\n17311\t11102\t*\t20240701\t*\t7\trationale\n")
    with pytest.raises(DataFileError, match=r"ccipra-bad.txt, line 2: modifier indicator '7'"):
        list(read_ptp_ccipra(bad, FIXTURE_RELEASE))
    empty = tmp_path / "MCR_MUE_empty.csv"
    empty.write_text("just a notice\n")
    with pytest.raises(DataFileError, match="MCR_MUE_empty.csv: no header"):
        list(read_mue_practitioner(empty, FIXTURE_RELEASE))
    bad_date = tmp_path / "ccipra-date.txt"
    bad_date.write_text("17311\t11102\t*\t2024-13-45\t*\t1\tr\n")
    with pytest.raises(DataFileError, match="line 1: '2024-13-45' is not a date"):
        list(read_ptp_ccipra(bad_date, FIXTURE_RELEASE))


def test_effective_dates_from_file_names() -> None:
    assert effective_from_name(MUE_FILE) == date(2024, 7, 1)
    assert effective_from_name(AOC_FILE) == date(2024, 7, 1)
    assert effective_from_name(CCIPRA) is None


def test_csv_form_of_the_shared_data(tmp_path: Path) -> None:
    path = tmp_path / "ptp.csv"
    path.write_text("column_1,column_2,modifier_indicator,deletion_date,ptp_edit_rationale\n17311,11102,1,,Standards\n")
    [edit] = list(read_ncci_file("ptp", path, FIXTURE_RELEASE))
    assert (edit.column1, edit.column2, edit.modifier_indicator) == ("17311", "11102", "1")


def ncci_findings(options: RuleOptions) -> set[tuple]:
    reports = check_files([str(p) for p in sorted(SAMPLES.glob("*.837"))], all_rules(), options)
    return {(f.rule, f.claim, f.line) for r in reports for f in r.findings if f.rule.startswith(("NCCI", "MOHS015"))}


def test_imported_official_layouts_judge_like_the_shipped_default() -> None:
    shipped = ncci_findings(RuleOptions())
    imported = ncci_findings(RuleOptions(edits=fixture_data()))
    assert shipped == imported
    assert ("NCCI003", "MOHS-0401", 4) in shipped


def test_a_claim_is_judged_by_the_release_in_force_on_its_date() -> None:
    data = shipped_edits().copy()
    newer = Release("test 2026-10-01", date(2026, 10, 1))
    data.add([MueEdit("17313", 5, "3", "test", newer)])
    assert data.mue_for("17313", date(2026, 10, 6)).units == 5
    assert data.mue_for("17313", date(2025, 1, 2)).units == 3
    assert data.mue_for("17313", date(2026, 10, 6)).release == newer
    assert data.pair("17311", "11102", date(2026, 10, 6)) is not None  # PTP stays on its own newest release
    reports = check_files([str(SAMPLES / "13-mue-errors.837")], all_rules(), RuleOptions(edits=data))
    assert not [f for f in reports[0].findings if f.rule == "NCCI003"]


def test_findings_name_the_release_and_late_dates_get_a_notice() -> None:
    [report] = check_files([str(SAMPLES / "13-mue-errors.837")], all_rules(), RuleOptions())
    [finding] = [f for f in report.findings if f.rule == "NCCI003"]
    assert finding.data_release == str(SHIPPED_RELEASE)
    [notice] = run_notices([report])
    assert "2024-09-30" in notice


def test_late_dates_are_stated_once_per_run_not_per_file() -> None:
    files = [str(SAMPLES / name) for name in ("13-mue-errors.837", "01-mohs-clean.837", "11-same-day-errors.837")]
    reports = check_files(files, all_rules(), RuleOptions())
    assert all(r.late_dates for r in reports)
    assert not any("2024-09-30" in n for r in reports for n in r.notices)
    [notice] = run_notices(reports)
    assert "2024-09-30" in notice


def test_import_into_the_store_status_and_checks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    engine = open_store(url)
    result = import_release(engine, "ptp", [CCIPRA], effective=date(2026, 10, 1), name="PTP 2026-10-01")
    assert result.rows == 66 and not result.already_loaded
    assert import_release(engine, "ptp", [CCIPRA], effective=date(2026, 10, 1), name="PTP 2026-10-01").already_loaded
    import_release(engine, "mue", [MUE_FILE])
    status = {(s.kind, s.name) for s in release_status(engine)}
    assert ("ptp", "PTP 2026-10-01") in status and ("mue", "CMS NCCI practitioner MUE 2024-07-01") in status
    data = load_edit_data(engine)
    edit = data.pair("17311", "11102", DAY)
    assert edit is not None and edit.release.name == "PTP 2026-10-01"
    assert data.mue_for("17313", DAY).release.name == "CMS NCCI practitioner MUE 2024-07-01"


def test_data_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "import", "mue", str(MUE_FILE), "--db", db])
    assert result.exit_code == 0 and "18 row(s) loaded" in result.output
    result = runner.invoke(cli, ["data", "import", "ptp", str(CCIPRA), "--db", db])
    assert result.exit_code == 2 and "--effective" in result.output
    result = runner.invoke(cli, ["data", "status", "--db", db, "--format", "json"])
    kinds = [(r["kind"], r["source"]) for r in json.loads(result.output)]
    assert ("mue", "shipped") in kinds and ("mue", MUE_FILE.name) in kinds


def test_import_code_lists_with_their_text(tmp_path: Path) -> None:
    listing = tmp_path / "carc_list.csv"
    listing.write_text("code,status,description\n236,current,Official text kept only when imported\n")
    db = f"sqlite:///{tmp_path / 'codes.db'}"
    result = CliRunner().invoke(cli, ["data", "import", "codes", str(listing), "--db", db])
    assert result.exit_code == 0 and "1 row(s)" in result.output
    import sqlalchemy as sa

    from mohsedi.store import models as m

    with open_store(db).connect() as conn:
        assert conn.execute(sa.select(m.CodeText.description).where(m.CodeText.code == "236")).scalar()
