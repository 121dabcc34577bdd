"""The shipped reference data (issue #13): the whole NCCI tables, the add-on table, code sets.

Comparisons with the source CSVs read ../shared/data and skip when it is not beside the clone.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from mohsedi.cli.main import cli
from mohsedi.codes import icd10cm, refdata
from mohsedi.codes.ncci import SHIPPED_RELEASE, ShippedEditData, shipped_addon_rows
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.store.db import open_store
from mohsedi.store.editdata import code_titles, import_release
from tests.conftest import ROOT, SAMPLES
from tests.engine import check_files
from tests.rules.harness import wrap

SHARED = ROOT.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED / "ncci").is_dir(), reason="../shared/data (the CMS source CSVs) is not beside the clone"
)
DAY = date(2026, 10, 6)


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- the data against its source


@needs_shared
def test_every_ptp_row_of_both_files_is_shipped() -> None:
    rows = _csv(SHARED / "ncci" / "ncci_ptp_practitioner_2024Q3_col1_11000-17999.csv")
    mohs = _csv(SHARED / "ncci" / "ncci_ptp_practitioner_2024Q3_mohs_17311-17315.csv")
    keys = {(r["column_1"], r["column_2"], r["deletion_date"]) for r in rows + mohs}
    [(count,)] = refdata.query("SELECT count(*) FROM ptp")
    assert count == len(keys) == 105_962
    [(active,)] = refdata.query("SELECT count(*) FROM ptp WHERE deletion = ''")
    assert active == 71_682
    texts = refdata.rationales()
    for r in random.Random(13).sample(rows, 300) + mohs[:50]:
        got = refdata.query(
            "SELECT indicator, rationale FROM ptp WHERE column1 = ? AND column2 = ? AND deletion = ?",
            (r["column_1"], r["column_2"], r["deletion_date"]),
        )
        assert [(ind, texts[t]) for ind, t in got] == [(r["modifier_indicator"], r["ptp_edit_rationale"])], r


@needs_shared
def test_every_mue_row_is_shipped() -> None:
    rows = _csv(SHARED / "ncci" / "ncci_mue_practitioner_2024Q3.csv")
    [(count,)] = refdata.query("SELECT count(*) FROM mue")
    assert count == len(rows) == 14_677
    data = ShippedEditData()
    for r in random.Random(13).sample(rows, 300):
        edit = data.mue_for(r["hcpcs_code"], DAY)
        assert edit is not None
        assert (edit.units, edit.mai, edit.rationale) == (int(r["mue_units"]), r["mue_mai"], r["mue_rationale"])


@needs_shared
def test_deletion_dates_judge_earlier_dates() -> None:
    data = ShippedEditData()
    # 17311/99213: one period deleted 2019-12-31, one in force (../shared/data/README.md).
    assert data.pair("17311", "99213", date(2019, 6, 1)) is not None
    periods = refdata.query("SELECT deletion FROM ptp WHERE column1 = '17311' AND column2 = '99213' ORDER BY 1")
    assert periods == [("",), ("2019-12-31",)]
    # 17311/11100 was deleted with the biopsy code itself.
    assert data.pair("17311", "11100", date(2018, 12, 31)) is not None
    assert data.pair("17311", "11100", date(2019, 1, 1)) is None


def test_icd10cm_code_set() -> None:
    assert icd10cm.status("C44.31") == "header"
    assert icd10cm.status("C44311") == "billable"
    assert icd10cm.status("c44.311") == "billable"
    assert icd10cm.status("C44999") == "unknown"
    assert icd10cm.status("C4A31") == "billable"
    assert icd10cm.children("C4431") == ["C44310", "C44311", "C44319"]
    [(billable,)] = refdata.query("SELECT count(*) FROM icd10cm WHERE billable = 1")
    assert billable == int(refdata.meta()["icd10cm"]["billable"]) > 70_000


def test_icd10cm_matches_the_package_code_list() -> None:
    """Every code of the simple-icd-10-cm release (its plain code list, not its XML) is shipped."""
    import importlib.util
    import re

    spec = importlib.util.find_spec("simple_icd_10_cm")  # found, not imported (its import parses XML)
    listing = Path(spec.origin).parent / "data" / "code-list-April-2026.txt" if spec and spec.origin else None
    if listing is None or not listing.exists():
        pytest.skip("simple-icd-10-cm 1.5 (pip install 'mohsedi[data]') is not installed")
    text = listing.read_text()

    listed = {c for c in text.split() if re.fullmatch(r"[A-Z][0-9][0-9A-Z]{1,5}", c)}
    shipped = {c for (c,) in refdata.query("SELECT code FROM icd10cm")}
    assert shipped == listed
    # A code is billable exactly when no other code extends it.
    ordered = sorted(listed)
    leaves = {c for c, nxt in zip(ordered, [*ordered[1:], ""], strict=True) if not nxt.startswith(c)}
    assert {c for (c,) in refdata.query("SELECT code FROM icd10cm WHERE billable = 1")} == leaves


def test_addon_table_has_primaries_type_and_citation() -> None:
    rows = {r["addon_code"]: r for r in shipped_addon_rows()}
    for code in ("11103", "11105", "11107", "11045", "11046", "11047", "11201", "11732", "13102", "13122"):
        assert code in rows
    for code in ("13133", "13153", "14302", "15003", "15005", "15101", "15157", "15201", "15278", "17003"):
        assert code in rows
    for code in ("17312", "17314", "17315", "88314", "88332", "88334", "88341", "88350"):
        assert code in rows
    assert rows["11103"]["primary_codes"].split() == ["11102", "11104", "11106"]
    assert rows["11107"]["primary_codes"].split() == ["11106"]
    for r in rows.values():
        assert r["edit_type"] in ("1", "2", "3") and r["citation"], r
        assert all(len(p) == 5 for p in r["primary_codes"].split()), r


# ---------------------------------------------------------------- what a check says with no import


def check(tmp_path: Path, *claims: dict) -> list:
    path = tmp_path / "claim.837"
    path.write_text(wrap(list(claims)))
    [report] = check_files([str(path)], all_rules(), RuleOptions())
    assert report.error is None
    return report.findings


@pytest.mark.parametrize(
    ("claim", "rule", "line"),
    [
        ({"dx": ["C44311"], "lines": ["17311", "0213T"]}, "NCCI002", 2),
        ({"dx": ["C44311"], "lines": ["17311", "96372"]}, "NCCI001", 2),
        ({"dx": ["D485"], "lines": ["11103"]}, "NCCI004", 1),
        ({"dx": ["C4431"], "lines": ["17311"]}, "CODE001", None),
    ],
)
def test_issue_13_findings_from_the_shipped_data(tmp_path: Path, claim: dict, rule: str, line: int | None) -> None:
    found = [(f.rule, f.line) for f in check(tmp_path, claim)]
    assert (rule, line) in found


def test_a_finding_names_the_shipped_release(tmp_path: Path) -> None:
    [finding] = [f for f in check(tmp_path, {"dx": ["C44311"], "lines": ["17311", "0213T"]}) if f.rule == "NCCI002"]
    assert finding.data_release == str(SHIPPED_RELEASE)


def test_a_nerve_block_pairs_with_the_repair(tmp_path: Path) -> None:
    findings = check(tmp_path, {"dx": ["C44311"], "lines": ["17311", "13151:59", "64450"]})
    assert not [f for f in findings if f.rule == "MOHS015"]


def test_a_one_claim_check_reads_only_its_codes(tmp_path: Path) -> None:
    data = ShippedEditData()
    path = tmp_path / "claim.837"
    path.write_text(wrap([{"dx": ["C44311"], "lines": ["17311", "17312", "13151:59"]}]))
    check_files([str(path)], all_rules(), RuleOptions(edits=data))
    assert data.seen["ptp"] <= {"17311", "17312", "13151"}
    assert sum(len(v) for v in data.ptp.values()) < 2_000  # of 105,962


# ---------------------------------------------------------------- status and official titles


def test_data_status_lists_every_kind_with_rows_dates_and_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["data", "status", "--db", f"sqlite:///{tmp_path / 's.db'}", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["kind"]: r for r in json.loads(result.output) if r["source"] == "shipped"}
    assert set(rows) >= {"ptp", "mue", "addon", "icd10cm", "pos", "carc", "rarc"}
    assert rows["ptp"]["rows"] == 105_962 and rows["ptp"]["deleted"] == 105_962 - 71_682
    assert rows["ptp"]["effective"] == "2024-07-01" and rows["ptp"]["last_deletion"]
    assert rows["mue"]["rows"] == 14_677
    assert rows["icd10cm"]["effective"] == "2026-04-01"


def test_titles_prefer_the_imported_official_text(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 't.db'}")
    ours = code_titles(engine)
    assert not ours.official and ours.title("carc", "236") and ours.title("rarc", "N122")
    listing = tmp_path / "carc_official.csv"
    listing.write_text("code,status,description\n236,current,Official X12 wording for 236\n")
    import_release(engine, "carc", [listing])
    titles = code_titles(engine)
    assert titles.official
    assert titles.title("carc", "236") == "Official X12 wording for 236"
    assert titles.title("rarc", "N122") == ours.title("rarc", "N122")  # not imported: our title
    assert titles.title("carc", "nope") == ""


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("official.csv", "code,status,description\n236,current,a\nB15,current,b\n", "carc"),
        ("official.csv", "code,status,description\nN122,current,a\nMA120,current,b\n", "rarc"),
        ("carc_list.csv", "code,status,description\n236,current,a\n", "carc"),
    ],
)
def test_import_codes_tells_carc_from_rarc(tmp_path: Path, name: str, text: str, kind: str) -> None:
    listing = tmp_path / name
    listing.write_text(text)
    db = f"sqlite:///{tmp_path / 'c.db'}"
    result = CliRunner().invoke(cli, ["data", "import", "codes", str(listing), "--db", db])
    assert result.exit_code == 0, result.output
    assert code_titles(open_store(db)).title(kind, text.splitlines()[1].split(",")[0]) == "a"


def test_import_codes_refuses_a_mixed_list(tmp_path: Path) -> None:
    listing = tmp_path / "official.csv"
    listing.write_text("code,status,description\n236,current,a\nN122,current,b\n")
    result = CliRunner().invoke(
        cli, ["data", "import", "codes", str(listing), "--db", f"sqlite:///{tmp_path / 'm.db'}"]
    )
    assert result.exit_code == 2 and "CARC from RARC" in result.output


def test_an_unknown_diagnosis_outside_the_shipped_code_set_year_is_a_warning(tmp_path: Path) -> None:
    """The shipped ICD-10-CM release is FY2026: a code missing from it may be valid in another year."""
    [old] = [f for f in check(tmp_path, {"dx": ["C44999"], "lines": ["17311 d20240301"]}) if f.rule == "CODE001"]
    assert old.severity == "warning" and "not the date of service 2024-03-01" in old.message
    [later] = [f for f in check(tmp_path, {"dx": ["C44999"], "lines": ["17311 d20261006"]}) if f.rule == "CODE001"]
    assert later.severity == "warning" and "2025-10-01 to 2026-09-30" in later.message
    [same] = [f for f in check(tmp_path, {"dx": ["C44999"], "lines": ["17311 d20260315"]}) if f.rule == "CODE001"]
    assert same.severity == "error"
    [header] = [f for f in check(tmp_path, {"dx": ["C4431"], "lines": ["17311 d20240301"]}) if f.rule == "CODE001"]
    assert header.severity == "error"  # a truncated code is not billable in any year


def test_no_mue_judges_a_date_before_the_mue_program(tmp_path: Path) -> None:
    over = {"dx": ["C44311"], "lines": ["17311 x6 d{}"]}
    now = [f for f in check(tmp_path, {**over, "lines": [over["lines"][0].format("20261006")]}) if f.rule == "NCCI003"]
    assert now  # 17311: MUE 4 per date (MAI 3)
    then = [f for f in check(tmp_path, {**over, "lines": [over["lines"][0].format("20050208")]}) if f.rule == "NCCI003"]
    assert then == []


def test_status_of_an_imported_release_counts_its_deleted_edits(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'i.db'}")
    ccipra = ROOT / "tests" / "fixtures" / "ncci" / "ccipra-v303r0-f1.txt"
    import_release(engine, "ptp", [ccipra], effective=date(2026, 10, 1), name="PTP 2026-10-01")
    from mohsedi.store.editdata import release_status

    [row] = [s for s in release_status(engine) if s.name == "PTP 2026-10-01"]
    assert row.source == ccipra.name and row.origin == "imported" and row.rows == 66
    assert row.deleted >= 1 and row.last_deletion is not None and row.last_deletion >= date(2019, 12, 31)


def test_the_denial_report_shows_the_imported_official_text(tmp_path: Path) -> None:
    from mohsedi.pipeline import run_denial_report, run_ingest
    from mohsedi.reports.denials import Period

    url = f"sqlite:///{tmp_path / 'r.db'}"
    run_ingest([str(SAMPLES / "10-mohs-denials.835")], url)
    before = run_denial_report(url, Period(None, None))
    assert before["code_texts"] == "short" and "import the official X12 lists" in before["code_texts_note"]
    listing = tmp_path / "carc_official.csv"
    listing.write_text("code,status,description\n236,current,Official X12 wording for 236\n")
    import_release(open_store(url), "carc", [listing])
    after = run_denial_report(url, Period(None, None))
    assert {r["carc"]: r["title"] for r in after["by_carc"]}.get("236") == "Official X12 wording for 236"
    assert after["code_texts"] == "official" and "code_texts_note" not in after


def test_a_code_with_an_undecodable_byte_matches_nothing() -> None:
    """A file's bytes that are not UTF-8 are read as surrogates (lossless); such a code is in no
    table, and asking for it must say so rather than fail to encode the query (fuzz found
    SV101 'HC:\\x807314')."""
    from mohsedi.codes import refdata

    code = b"\x807314".decode("utf-8", "surrogateescape")
    assert refdata.query("SELECT units FROM mue WHERE code = ?", (code,)) == []
    assert refdata.query("SELECT billable FROM icd10cm WHERE code = ?", ("L\udc80",)) == []
