"""Values longer than the guide allows: the same finding on PostgreSQL and SQLite, the rest stored."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from mohsedi.cli.main import cli
from mohsedi.guide.compile import CLAIM_837P_MAP, REMIT_835_MAP
from mohsedi.guide.lengths import max_length
from mohsedi.pipeline import run_check, run_ingest
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.store import models as m
from mohsedi.store.db import open_store
from tests.conftest import SAMPLES

LONG = "ACCT" + "9" * 41  # 45 characters; CLP01 and CLM01 allow 38


def test_the_guide_gives_the_lengths_the_store_checks() -> None:
    # 005010X221A1 / X222A1 data dictionary: CLP01 (1028) and CLM01 (1028) AN 1-38, REF02 (127) AN 1-50,
    # CAS02 (1034) ID 1-5.
    assert max_length(REMIT_835_MAP, "CLP01") == 38
    assert max_length(REMIT_835_MAP, "CAS02") == 5
    assert max_length(REMIT_835_MAP, "REF02") == 50
    assert max_length(CLAIM_837P_MAP, "CLM01") == 38


def counts(url: str) -> tuple[int, list[str]]:
    engine = open_store(url)
    with engine.connect() as conn:
        remittances = conn.execute(sa.select(sa.func.count()).select_from(m.Remittance)).scalar()
        pcns = sorted(r[0] for r in conn.execute(sa.select(m.ClaimPayment.patient_control_number)))
    engine.dispose()
    return remittances, pcns


def test_an_overlong_clp01_is_a_finding_and_the_rest_is_stored(store_url: str, tmp_path: Path) -> None:
    source = SAMPLES / "01-mohs-paid.835"
    long_file = tmp_path / "long.835"
    long_file.write_text(source.read_text().replace("CLP*MOHS-0002*", f"CLP*{LONG}*", 1))
    later = tmp_path / "later.835"
    later.write_text(source.read_text().replace("TRN*1*EFT26", "TRN*1*LATER26"))
    [report, after] = run_ingest([str(long_file), str(later)], store_url)
    assert report.error is None and after.error is None  # the run went on to the next file
    [finding] = report.findings
    assert finding.as_dict() == {
        "rule": "STORE001",
        "severity": "error",
        "claim": LONG,
        "line_id": None,
        "message": "CLP01 is 45 characters, longer than the 38 the implementation guide allows; "
        "this claim payment was not stored",
    }
    every = [f"MOHS-000{n}" for n in range(1, 10)]
    all_pcns = sorted(c for c in every if f"CLP*{c}*" in source.read_text())
    remittances, pcns = counts(store_url)
    assert remittances == 2
    assert pcns == sorted([c for c in all_pcns if c != "MOHS-0002"] + all_pcns)
    assert report.claim_payments == len(all_pcns) - 1 and after.claim_payments == len(all_pcns)


def test_ingest_cli_reports_the_finding_in_json_and_never_the_sql(store_url: str, tmp_path: Path) -> None:
    long_file = tmp_path / "long.835"
    long_file.write_text((SAMPLES / "01-mohs-paid.835").read_text().replace("CLP*MOHS-0002*", f"CLP*{LONG}*", 1))
    result = CliRunner().invoke(cli, ["ingest", str(long_file), "--db", store_url, "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert [f["rule"] for f in data["files"][0]["findings"]] == ["STORE001"]
    assert "INSERT" not in result.stderr and "parameters" not in result.stderr
    [told] = [line for line in result.stderr.splitlines() if "STORE001" in line]  # one line, beside any note
    assert told.startswith("mohsedi: ") and "CLP01 is 45 characters" in told


def test_check_db_with_an_overlong_clm01_stores_the_other_claims(store_url: str, tmp_path: Path) -> None:
    text = (SAMPLES / "01-mohs-clean.837").read_text()
    first = text[text.index("CLM*") + 4 :].split("*", 1)[0]
    path = tmp_path / "long.837"
    path.write_text(text.replace(f"CLM*{first}*", f"CLM*{LONG}*", 1))
    [report] = run_check([str(path)], all_rules(), RuleOptions(), db_url=store_url)
    assert [n for n in report.notices if "STORE001" in n] == [
        f"STORE001 claim {LONG}: CLM01 is 45 characters, longer than the 38 the implementation guide allows; "
        "this claim was not stored"
    ]
    engine = open_store(store_url)
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(sa.select(m.Claim.patient_control_number))]
    engine.dispose()
    assert LONG not in stored and len(stored) == report.claims - 1
    result = CliRunner().invoke(cli, ["check", str(path), "--db", store_url, "--format", "json"])
    assert result.exit_code in (0, 1), result.output  # findings or none; not 2, not a traceback
    assert "STORE001" in result.stdout  # told again though the file is stored already
