"""X12006 with a store: a replacement claim gets its original's payer claim number (CLP07) from
the stored 835 as a safe fix; without it the finding stays manual (mohs-rules.md section 4a)."""

from __future__ import annotations

from pathlib import Path

from mohsedi.pipeline import run_check, run_fix, run_ingest
from mohsedi.rules.base import FixSafety
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from tests.conftest import SAMPLES
from tests.engine import fixed_text


def replacement_of_mohs_0001(tmp_path: Path) -> Path:
    text = (SAMPLES / "01-mohs-clean.837").read_text()
    clm = next(line for line in text.split("~") if line.strip().startswith("CLM*MOHS-0001*"))
    replaced = clm.replace(":B:1*", ":B:7*")
    assert replaced != clm
    path = tmp_path / "replacement.837"
    path.write_text(text.replace(clm, replaced), newline="")
    return path


def test_the_stored_clp07_is_inserted_as_ref_f8(store_url: str, tmp_path: Path) -> None:
    run_check([str(SAMPLES / "01-mohs-clean.837")], all_rules(), RuleOptions(), db_url=store_url)  # the original
    run_ingest([str(SAMPLES / "01-mohs-paid.835")], store_url)  # CLP*MOHS-0001*...*PCN0001, linked to it
    path = replacement_of_mohs_0001(tmp_path)
    targets = {str(path): tmp_path / "out" / path.name}
    [report] = run_fix([str(path)], all_rules(), RuleOptions(), db_url=store_url, targets=targets)
    assert [(a.rule, a.claim) for a in report.applied if a.rule == "X12006"] == [("X12006", "MOHS-0001")]
    assert "REF*F8*PCN0001~" in (fixed_text(report) or "")
    assert not [f for f in report.findings if f.rule == "X12006"]


def test_without_a_stored_original_it_stays_manual(store_url: str, tmp_path: Path) -> None:
    run_ingest([str(SAMPLES / "01-mohs-paid.835")], store_url)  # a remit, but no claim recorded to link it to
    path = replacement_of_mohs_0001(tmp_path)
    targets = {str(path): tmp_path / "out" / path.name}
    [report] = run_fix([str(path)], all_rules(), RuleOptions(), db_url=store_url, targets=targets)
    [finding] = [f for f in report.findings if f.rule == "X12006"]
    assert finding.fix_safety == FixSafety.MANUAL
    assert "REF*F8" not in (fixed_text(report) or "")
