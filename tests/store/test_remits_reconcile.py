"""Remittances that reconcile (issue 14), with hand-computed expectations, on SQLite and PostgreSQL.

Each synthetic 835 below is written out in the test; the amounts in the assertions are
worked out by hand from those segments, not read back from the code.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohsedi.cli.main import cli
from mohsedi.pipeline import run_check, run_denial_report, run_ingest
from mohsedi.reports.denials import Period
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.store import ingest as ingest_module
from mohsedi.store import models as m
from mohsedi.store.db import open_store
from tests.conftest import SAMPLES
from tests.store.era import clp, interchange, svc, transaction

ALL = Period(None, None)
TABLES = (m.StoredFile, m.Remittance, m.ClaimPayment, m.ServicePayment, m.Adjustment, m.ProviderAdjustment)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return str(path)


def counts(url: str) -> dict[str, int]:
    engine = open_store(url)
    with engine.connect() as conn:
        out = {t.__tablename__: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in TABLES}
    engine.dispose()
    return out


def rules_of(report) -> list[str]:
    return [f.rule for f in report.findings]


# A balanced payment: one claim of one line, 500 billed, 100 contractual, 400 paid.
def balanced(trace: str = "T1", st: str = "0001") -> list[str]:
    return transaction(
        trace, "400", "20261106", clp("P1", "1", "500", "400", svc("17311", "500", "400", "CO*45*100")), st=st
    )


# ---------------------------------------------------------------- 1. one payment, stored once


def resent(text: str) -> str:
    """The same ERA in a new envelope: new ISA13/IEA02, GS06/GE02, ST02/SE02, CRLF after each segment."""
    out = []
    for raw in text.split("~"):
        seg = raw.strip("\r\n")
        if not seg:
            continue
        e = seg.split("*")
        if e[0] == "ISA":
            e[13] = "000000777"
        elif e[0] in ("IEA", "SE"):
            e[2] = "000000777" if e[0] == "IEA" else "9" + e[2][1:]
        elif e[0] == "GS":
            e[6] = "777"
        elif e[0] == "GE":
            e[2] = "777"
        elif e[0] == "ST":
            e[2] = "9" + e[2][1:]
        out.append("*".join(e))
    return "~\r\n".join(out) + "~\r\n"


def test_a_resent_era_in_a_new_envelope_changes_no_total(store_url: str, tmp_path: Path) -> None:
    run_check([str(p) for p in sorted(SAMPLES.glob("*.837"))], all_rules(), RuleOptions(), db_url=store_url)
    original = (SAMPLES / "10-mohs-denials.835").read_text()
    run_ingest([str(SAMPLES / "01-mohs-paid.835"), str(SAMPLES / "10-mohs-denials.835")], store_url)
    before, stored = run_denial_report(store_url, ALL), counts(store_url)
    again = resent(original)
    assert again != original and "000000777" in again and "\r\n" in again and "ST*835*9001" in again
    [report] = run_ingest([write(tmp_path, "resent.835", again)], store_url)
    assert report.status == "already_stored" and report.error is None
    assert rules_of(report) == ["ERA004"] and report.remittances == 0
    assert counts(store_url) == stored
    after = run_denial_report(store_url, ALL)
    assert after == before
    # The hand count of samples/10-mohs-denials.835 (tests/test_reports.py) still holds.
    assert after["totals"]["denied"] == "9773.31" and after["totals"]["denials"] == 19


def test_a_file_with_new_and_stored_payments_stores_the_new_ones(store_url: str, tmp_path: Path) -> None:
    first = interchange(balanced("T1"))
    run_ingest([write(tmp_path, "a.835", first)], store_url)
    newer = transaction(
        "T2", "250", "20261113", clp("P2", "1", "300", "250", svc("17313", "300", "250", "CO*45*50")), st="0002"
    )
    mixed = interchange(balanced("T1"), newer, isa13="000000102", gs06="102")
    [report] = run_ingest([write(tmp_path, "b.835", mixed)], store_url)
    assert report.status == "stored" and report.remittances == 1 and report.already == 1
    assert rules_of(report) == ["ERA004"]
    totals = run_denial_report(store_url, ALL)["totals"]
    assert (totals["billed"], totals["paid"], totals["remitted"], totals["claims"]) == ("800.00", "650.00", "650.00", 2)


def test_two_sets_sharing_a_trace_in_one_file_are_both_stored(store_url: str, tmp_path: Path) -> None:
    split = interchange(balanced("T9", "0001"), balanced("T9", "0002"))
    path = write(tmp_path, "split.835", split)
    [report] = run_ingest([path], store_url)
    assert report.status == "stored" and report.remittances == 2 and report.findings == []
    assert run_denial_report(store_url, ALL)["totals"]["paid"] == "800.00"
    [again] = run_ingest([path], store_url)
    assert again.status == "already_stored" and rules_of(again) == ["ERA004", "ERA004"]
    assert counts(store_url)["remittance"] == 2


def test_same_trace_with_another_amount_is_another_payment_and_says_so(store_url: str, tmp_path: Path) -> None:
    run_ingest([write(tmp_path, "a.835", interchange(balanced("T1")))], store_url)
    other = transaction("T1", "300", "20261106", clp("P5", "1", "300", "300", svc("17311", "300", "300")))
    [report] = run_ingest([write(tmp_path, "b.835", interchange(other, isa13="000000555"))], store_url)
    assert report.status == "stored" and rules_of(report) == ["ERA005"]
    assert run_denial_report(store_url, ALL)["totals"]["remitted"] == "700.00"


def test_a_reversal_and_its_correction_net_to_the_corrected_amounts(store_url: str, tmp_path: Path) -> None:
    # Paid 300 of 500 with 100 contractual and a 100 CO-50 denial; reversed; corrected to 400 paid.
    original = transaction(
        "R1", "300", "20261106", clp("P7", "1", "500", "300", svc("17311", "500", "300", "CO*45*100", "CO*50*100"))
    )
    reversal = transaction(
        "R2",
        "-300",
        "20261113",
        clp("P7", "22", "-500", "-300", svc("17311", "-500", "-300", "CO*45*-100", "CO*50*-100")),
    )
    correction = transaction(
        "R3", "400", "20261113", clp("P7", "1", "500", "400", svc("17311", "500", "400", "CO*45*100")), st="0002"
    )
    [first] = run_ingest([write(tmp_path, "orig.835", interchange(original))], store_url)
    assert first.denials == 1 and first.findings == []
    before = run_denial_report(store_url, ALL)["totals"]
    assert (before["denied"], before["denials"], before["paid"]) == ("100.00", 1, "300.00")
    [second] = run_ingest([write(tmp_path, "fix.835", interchange(reversal, correction, isa13="000000202"))], store_url)
    assert second.status == "stored" and second.findings == [] and second.denials == 0
    report = run_denial_report(store_url, ALL)
    totals = report["totals"]
    assert (totals["billed"], totals["paid"], totals["claims"]) == ("500.00", "400.00", 1)
    assert (totals["denied"], totals["denials"]) == ("0.00", 0)
    assert report["denials"] == [] and report["by_rule"] == []


# ---------------------------------------------------------------- 2. whole files or nothing


@pytest.mark.parametrize(
    ("cut_before", "missing"),
    [("GE*", "has no GE"), ("SE*", "has no SE"), ("IEA*", "has no IEA")],
)
def test_a_file_cut_short_stores_nothing_and_exits_2(
    store_url: str, tmp_path: Path, cut_before: str, missing: str
) -> None:
    text = interchange(balanced("T1"), balanced("T2", "0002"))
    cut = text[: text.rindex(cut_before)]
    path = write(tmp_path, "cut.835", cut)
    result = CliRunner().invoke(cli, ["ingest", path, "--db", store_url, "--format", "json"])
    assert result.exit_code == 2
    assert missing in result.output and "cut.835" in result.output
    assert '"status": "refused"' in result.output
    assert set(counts(store_url).values()) == {0}


def test_each_file_is_read_once_and_its_hash_is_of_what_was_parsed(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "one.835", interchange(balanced()))
    opened: list[str] = []
    real_open = open

    def counting_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "open", counting_open, raising=False)
    [report] = run_ingest([path], store_url)
    assert report.status == "stored"
    assert opened == [path]
    engine = open_store(store_url)
    with engine.connect() as conn:
        sha = conn.execute(sa.select(m.StoredFile.sha256)).scalar()
    engine.dispose()
    assert sha == hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").is_char_device(), reason="no FIFOs or devices")
def test_fifos_and_devices_are_refused_and_a_directory_means_its_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    fifo = tmp_path / "pipe.835"
    os.mkfifo(fifo)
    batch = tmp_path / "remits"
    batch.mkdir()
    write(batch, "a.835", interchange(balanced("T1")))
    write(batch, "b.835", interchange(balanced("T2"), isa13="000000102"))
    # /dev/zero: a device that never ends (reading it would never finish).
    result = CliRunner().invoke(cli, ["ingest", str(fifo), "/dev/zero", str(batch), "--db", url, "--format", "json"])
    assert result.exit_code == 2
    import json

    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert files["pipe.835"]["status"] == "refused" and "FIFO" in files["pipe.835"]["errors"][0]
    assert files["zero"]["status"] == "refused" and "device" in files["zero"]["errors"][0]
    assert files["a.835"]["status"] == files["b.835"]["status"] == "stored"
    assert counts(url)["remittance"] == 2


# ---------------------------------------------------------------- 3. balancing


def test_nothing_balanced_fires(store_url: str, tmp_path: Path) -> None:
    [report] = run_ingest([write(tmp_path, "ok.835", interchange(balanced()))], store_url)
    assert report.findings == [] and run_denial_report(store_url, ALL)["balancing"] == []


def test_era001_fires_on_a_claim_that_does_not_balance(store_url: str, tmp_path: Path) -> None:
    # Claim-level CO-45 10 on top of the line's 100: 500 - 110 = 390, CLP04 says 400. The line
    # (500 - 100 = 400) and the transaction (BPR02 400 = CLP04 400) still balance.
    t = transaction(
        "T1",
        "400",
        "20261106",
        clp("P1", "1", "500", "400", svc("17311", "500", "400", "CO*45*100"), cas=("CO*45*10",)),
    )
    [report] = run_ingest([write(tmp_path, "era001.835", interchange(t))], store_url)
    assert [(f.rule, f.claim) for f in report.findings] == [("ERA001", "P1")]
    assert "CLP03 500.00 minus adjustments 110.00 is 390.00, but CLP04 paid 400.00" in report.findings[0].message
    [stored] = run_denial_report(store_url, ALL)["balancing"]
    assert (stored["rule"], stored["claim"], stored["check_number"]) == ("ERA001", "P1", "T1")


def test_era002_fires_on_a_line_that_does_not_balance(store_url: str, tmp_path: Path) -> None:
    # SVC03 390 where 500 - 100 = 400; the claim (500 - 100 = 400 = CLP04) and BPR02 balance.
    t = transaction(
        "T1", "400", "20261106", clp("P1", "1", "500", "400", svc("17311", "500", "390", "CO*45*100", line_id="P1-1"))
    )
    [report] = run_ingest([write(tmp_path, "era002.835", interchange(t))], store_url)
    assert [(f.rule, f.claim, f.line_id) for f in report.findings] == [("ERA002", "P1", "P1-1")]
    assert "SVC02 500.00 minus adjustments 100.00 is 400.00, but SVC03 paid 390.00" in report.findings[0].message


def test_era003_fires_on_a_transaction_that_does_not_balance(store_url: str, tmp_path: Path) -> None:
    t = transaction("T1", "410", "20261106", clp("P1", "1", "500", "400", svc("17311", "500", "400", "CO*45*100")))
    [report] = run_ingest([write(tmp_path, "era003.835", interchange(t))], store_url)
    assert rules_of(report) == ["ERA003"]
    assert "BPR02 410.00 differs from claim payments 400.00 minus provider adjustments 0.00 = 400.00" in (
        report.findings[0].message
    )
    result = CliRunner().invoke(cli, ["report", "denials", "--db", store_url, "--format", "json"])
    assert '"ERA003"' in result.output


def test_plb_balances_the_transaction_and_a_wo_recoupment_links_to_its_claim(store_url: str, tmp_path: Path) -> None:
    earlier = transaction(
        "T0", "400", "20261030", clp("P0", "1", "500", "400", svc("17311", "500", "400", "CO*45*100"), icn="ICN777")
    )
    run_ingest([write(tmp_path, "earlier.835", interchange(earlier, isa13="000000100"))], store_url)
    # 400 paid on P1, 60 taken back from the claim the payer numbered ICN777: BPR02 = 400 - 60 = 340.
    t = transaction(
        "T1",
        "340",
        "20261106",
        clp("P1", "1", "500", "400", svc("17311", "500", "400", "CO*45*100")),
        plb=("WO:ICN777*60",),
    )
    [report] = run_ingest([write(tmp_path, "plb.835", interchange(t))], store_url)
    assert report.findings == []
    report_data = run_denial_report(store_url, ALL)
    [plb] = report_data["provider_adjustments"]
    assert (plb["reason"], plb["reference"], plb["amount"], plb["claim"]) == ("WO", "ICN777", "60.00", "P0")
    totals = report_data["totals"]
    assert (totals["remitted"], totals["provider_adjustments"], totals["paid"]) == ("740.00", "60.00", "800.00")


# ---------------------------------------------------------------- 4. denials defined


def test_payment_adjustments_and_patient_share_are_not_denials(store_url: str, tmp_path: Path) -> None:
    # 1000 billed: CO-45 100, CO-131 50, CO-253 10, PR-2 168 -> 1000 - 328 = 672 paid.
    t = transaction(
        "T1",
        "672",
        "20261106",
        clp("P1", "1", "1000", "672", svc("17311", "1000", "672", "CO*45*100", "CO*131*50", "CO*253*10", "PR*2*168")),
    )
    [report] = run_ingest([write(tmp_path, "paid.835", interchange(t))], store_url)
    assert report.findings == [] and report.denials == 0
    data = run_denial_report(store_url, ALL)
    assert (data["totals"]["denials"], data["totals"]["denied"], data["totals"]["denial_rate"]) == (0, "0.00", "0.0%")
    assert data["denials"] == []
    assert data["totals"]["patient_responsibility"] == "168.00"
    assert [(p["carc"], p["amount"], p["not_covered"]) for p in data["patient_responsibility"]] == [
        ("2", "168.00", False)
    ]


def test_the_policy_file_extends_the_payment_adjustments(tmp_path: Path) -> None:
    t = transaction("T1", "400", "20261106", clp("P1", "1", "500", "400", svc("17311", "500", "400", "CO*B10*100")))
    path = write(tmp_path, "b10.835", interchange(t))
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    assert run_ingest([path], plain)[0].denials == 1
    policy = tmp_path / "policy.toml"
    policy.write_text('[denials]\npayment_adjustments = ["B10"]\n')
    extended = f"sqlite:///{tmp_path / 'extended.db'}"
    assert run_ingest([path], extended, policy_path=str(policy))[0].denials == 0
    assert run_denial_report(extended, ALL)["totals"]["denials"] == 0


# ---------------------------------------------------------------- 5. partial reading, 6. SVC06


def test_one_misplaced_segment_drops_one_claim_payment_and_says_so(store_url: str, tmp_path: Path) -> None:
    good = clp("P1", "1", "500", "400", svc("17311", "500", "400", "CO*45*100"))
    bad = clp("P2", "1", "300", "250", svc("17313", "300", "250", "CO*45*50"))
    bad.insert(2, "ZZZ*ODD")  # after CLP and NM1: inside the claim payment
    t = transaction("T1", "650", "20261106", good, bad)
    text = interchange(t)
    segment = text.split("~").index("ZZZ*ODD") + 1
    [report] = run_ingest([write(tmp_path, "partial.835", text)], store_url)
    assert report.status == "stored" and report.claim_payments == 1
    [problem] = report.quarantined
    assert "claim payment P2 left out" in problem.describe() and problem.segment == segment
    assert rules_of(report) == ["ERA003"] and "incomplete" in report.findings[0].message
    data = run_denial_report(store_url, ALL)
    assert [r["complete"] for r in data["remittances"]] == [False]
    assert data["totals"]["paid"] == "400.00"


def test_svc06_keeps_both_codes_and_links_on_the_billed_one(store_url: str, tmp_path: Path) -> None:
    run_check([str(SAMPLES / "01-mohs-clean.837")], all_rules(), RuleOptions(), db_url=store_url)
    # The payer adjudicated 17313 where 17311 was billed (SVC06); no REF*6R, so the line links
    # by claim, code, modifiers and date.
    t = transaction(
        "T1",
        "594.24",
        "20261106",
        clp("MOHS-0001", "1", "742.8", "594.24", svc("17313", "742.8", "594.24", "CO*45*148.56", billed="17311")),
    )
    [report] = run_ingest([write(tmp_path, "svc06.835", interchange(t))], store_url)
    assert report.findings == []
    engine = open_store(store_url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(m.ServicePayment.procedure, m.ServicePayment.adjudicated_procedure, m.ServiceLine.procedure).join(
                m.ServiceLine, m.ServiceLine.id == m.ServicePayment.service_line_id
            )
        ).one()
    engine.dispose()
    assert tuple(row) == ("17311", "17313", "17311")


# ---------------------------------------------------------------- 7. what a manager reads


def test_an_empty_store_names_itself_and_suggests_ingest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    data = run_denial_report(url, ALL)
    assert len(data["notes"]) == 1 and "empty.db" in data["notes"][0] and "mohsedi ingest" in data["notes"][0]


def test_remits_without_claims_say_how_to_record_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'remits.db'}"
    run_ingest([str(SAMPLES / "10-mohs-denials.835")], url)
    [note] = run_denial_report(url, ALL)["notes"]
    assert "No claims are recorded" in note and "mohsedi check" in note


def test_each_denial_carries_payer_name_dates_check_number_and_titles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'titles.db'}"
    run_check([str(p) for p in sorted(SAMPLES.glob("*.837"))], all_rules(), RuleOptions(), db_url=url)
    run_ingest([str(SAMPLES / "10-mohs-denials.835")], url)
    data = run_denial_report(url, ALL)
    assert data["notes"] == []
    denial = next(d for d in data["denials"] if d["claim"] == "MOHS-0201")
    assert denial["payer_name"] == "SYNTHETIC MEDICARE CONTRACTOR"
    assert (denial["service_date"], denial["payment_date"], denial["check_number"]) == (
        "2026-10-06",
        "2026-11-06",
        "EFT2611060002",
    )
    assert denial["rule"] == "MOHS011" and denial["rule_title"].startswith("Biopsy")
    assert denial["carc_title"] and denial["rarc_titles"] == [denial["rarc_titles"][0]] and denial["rarc_titles"][0]
    assert next(p for p in data["by_payer"])["payer_name"] == "SYNTHETIC MEDICARE CONTRACTOR"
    assert all(r["title"] for r in data["by_rule"])


def test_weekly_rows_have_real_dates_and_no_none_week(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'weeks.db'}"
    denied = lambda trace, day, st: transaction(  # noqa: E731
        trace,
        "300",
        day,
        clp(f"P{trace}", "1", "500", "300", svc("17311", "500", "300", "CO*45*100", "CO*50*100")),
        st=st,
    )
    undated = transaction(
        "U1", "300", "", clp("PU", "1", "500", "300", svc("17311", "500", "300", "CO*45*100", "CO*50*100")), st="0003"
    )
    # Paid on Friday 2026-10-02 and Wednesday 2026-10-21: weeks of 09-28 and 10-19, two empty weeks between.
    text = interchange(denied("W1", "20261002", "0001"), denied("W2", "20261021", "0002"), undated)
    run_ingest([write(tmp_path, "weeks.835", text)], url)
    weekly = run_denial_report(url, ALL)["weekly"]
    assert [(w["week"], w["amount"]) for w in weekly] == [("2026-09-28", "100.00"), ("2026-10-19", "100.00")]


def test_payments_stored_before_migration_0003_are_not_stored_again(store_url: str, tmp_path: Path) -> None:
    run_ingest([str(SAMPLES / "10-mohs-denials.835")], store_url)
    engine = open_store(store_url)
    with engine.begin() as conn:  # what 0003's upgrade leaves on a row it did not key
        rid = conn.execute(sa.select(m.Remittance.id)).scalar()
        conn.execute(
            sa.update(m.Remittance).values(payment_key=f"legacy:{rid}", trace_payer_id=None),
        )
    engine.dispose()
    before = run_denial_report(store_url, ALL)
    [report] = run_ingest(
        [write(tmp_path, "resent.835", resent((SAMPLES / "10-mohs-denials.835").read_text()))], store_url
    )
    assert report.status == "already_stored" and rules_of(report) == ["ERA004"]
    assert run_denial_report(store_url, ALL) == before


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    isa13=st.integers(min_value=1, max_value=999_999_999),
    gs06=st.integers(min_value=1, max_value=999_999),
    st02=st.integers(min_value=1, max_value=9999),
    ending=st.sampled_from(["~", "~\n", "~\r\n"]),
)
def test_any_new_envelope_or_line_ending_is_the_same_payment(
    tmp_path_factory: pytest.TempPathFactory, isa13: int, gs06: int, st02: int, ending: str
) -> None:
    tmp = tmp_path_factory.mktemp("envelopes")
    url = f"sqlite:///{tmp / 'store.db'}"
    first = interchange(balanced("T1"), balanced("T1", "0002"))
    run_ingest([write(tmp, "first.835", first)], url)
    before = run_denial_report(url, ALL)["totals"]
    again = interchange(
        balanced("T1", f"{st02:04d}"), balanced("T1", f"{st02 + 1:04d}"), isa13=f"{isa13:09d}", gs06=str(gs06)
    ).replace("~", ending)
    [report] = run_ingest([write(tmp, "again.835", again)], url)
    assert report.status == "already_stored" and rules_of(report) == ["ERA004", "ERA004"]
    assert run_denial_report(url, ALL)["totals"] == before
