"""Stored claims rebuilt from their rows are the claims that were read: every fact a rule reads,
nothing invented where the file had nothing (mohsedi.store.facts), on SQLite and PostgreSQL."""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from mohsedi.claims.model import Claim
from mohsedi.claims.reader import ClaimSet, read_claim_file
from mohsedi.pipeline import run_denial_report, run_ingest
from mohsedi.reports.denials import Period
from mohsedi.rules.base import Scope
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import check_documents, load_document
from mohsedi.rules.registry import all_rules
from mohsedi.store import models as m
from mohsedi.store.db import open_store
from mohsedi.store.facts import incomplete_claims, rebuild_claims
from mohsedi.store.ingest import ingest_file
from mohsedi.store.link import predict
from mohsedi.store.record import record_file
from tests.conftest import SAMPLES
from tests.store import era

ROOT = Path(__file__).resolve().parents[2]

# Written for these tests (not by mohsedi.synth, whose claims all look alike): a claim with a
# line of its own place of service, rendering provider and CLIA number, a date range, four
# modifiers, pointers out of order and measured units; a dependent's claim with no date of
# service, no diagnosis and no 2310B; a replacement with REF*F8 and REF*G1.
FILE = """ISA*00*          *00*          *ZZ*MOHSEDITEST    *ZZ*SYNCLEARING    *261008*1200*^*00501*000000041*0*T*:~
GS*HC*MOHSEDITEST*SYNCLEARING*20261008*1200*41*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*B0041*20261008*1200*CH~
NM1*41*2*SYNTHETIC DERMATOLOGY*****46*MOHSEDITEST~
PER*IC*BILLING OFFICE*TE*5555550100~
NM1*40*2*SYNTHETIC CLEARINGHOUSE*****46*SYNCLEARING~
HL*1**20*1~
NM1*85*2*SYNTHETIC DERMATOLOGY*****XX*1306849450~
N3*100 EXAMPLE PLAZA~
N4*SPRINGFIELD*IL*627010000~
REF*EI*990000001~
HL*2*1*22*1~
SBR*P**GROUP1******CI~
NM1*IL*1*SAMPLE*SUBSCRIBER****MI*SUB000001~
NM1*PR*2*SYNTHETIC COMMERCIAL*****PI*SCOMM~
CLM*FACT-1*1544.97***22:B:1*Y*A*Y*Y~
HI*ABK:C44311*ABF:L570~
NM1*82*1*PROVIDER*CLAIM****XX*1588667638~
LX*1~
SV1*HC:17311:XS:59:KX:GA*742.8*UN*1*11**2:1~
DTP*472*RD8*20261005-20261006~
REF*6R*FACT-1-1~
REF*X4*05D0987654~
NM1*82*1*PROVIDER*LINE****XX*1245319599~
LX*2~
SV1*HC:17312*802.17*MJ*2.5***1~
DTP*472*D8*20261006~
REF*X4*05D0987654~
HL*3*2*23*0~
PAT*19~
NM1*QC*1*SAMPLE*CHILD~
CLM*FACT-2*100***11:B:1*Y*A*Y*Y~
LX*1~
SV1*HC:99213*100*UN*1~
HL*4*1*22*0~
SBR*P*18*******MB~
NM1*IL*1*SAMPLE*OTHER****MI*SUB000002~
NM1*PR*2*SYNTHETIC MEDICARE*****PI*SMEDC~
CLM*FACT-3*742.8***11:B:7*Y*A*Y*Y~
REF*G1*AUTH123~
REF*F8*PAYERCLAIM9~
REF*X4*05D0987654~
HI*ABK:C4491~
LX*7~
SV1*HC:17311*742.8*UN*1***1~
DTP*472*D8*20261007~
REF*6R*FACT-3-7~
SE*47*0001~
GE*1*41~
IEA*1*000000041~
"""


def claim_facts(claim: Claim) -> dict:
    """Every fact of a claim a rule reads, as plain values."""
    return {
        "claim": claim.patient_control_number,
        "total": claim.total_charge,
        "place": claim.place_of_service,
        "facility": claim.facility_qualifier,
        "frequency": claim.frequency,
        "diagnoses": [(d.qualifier, d.code) for d in claim.diagnoses],
        "prior_auth": claim.prior_authorization,
        "clia": claim.clia_number,
        "original": claim.payer_claim_control_number,
        "rendering": claim.rendering_npi,
        "payer": claim.payer_id,
        "billing": claim.billing_npi,
        "dates": claim.service_dates,
        "lines": [
            {
                "number": ln.number,
                "qualifier": ln.qualifier,
                "procedure": ln.procedure,
                "modifiers": list(ln.modifiers),
                "charge": ln.charge,
                "basis": ln.unit_basis,
                "units": ln.units,
                "place": ln.place_of_service,
                "pointers": list(ln.diagnosis_pointers),
                "diagnoses": list(ln.diagnoses),
                "from": ln.date_from,
                "to": ln.date_to,
                "line_id": ln.line_id,
                "rendering": ln.rendering_npi,
                "rendering_for": claim.rendering_npi_for(ln),
                "line_clia": [s.element(2) for s in ln.segments if s.id == "REF" and s.element(1) == "X4"],
            }
            for ln in claim.lines
        ],
    }


def _record(store_url: str, tmp_path: Path) -> tuple[object, list[Claim]]:
    path = tmp_path / "facts.837"
    path.write_text(FILE)
    read = [c for u in read_claim_file(str(path)) if isinstance(u, ClaimSet) for c in u.claims]
    assert len(read) == 3 and all(not c.problems for c in read)
    engine = open_store(store_url)
    recorded = record_file(engine, str(path), str(path), [], [], "check")
    assert recorded.claims == 3 and not recorded.findings and not recorded.quarantined
    return engine, read


def _ids(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(m.Claim.patient_control_number, m.Claim.id)).all())


def test_a_stored_claim_is_rebuilt_as_it_was_read(store_url: str, tmp_path: Path) -> None:
    engine, read = _record(store_url, tmp_path)
    ids = _ids(engine)
    with engine.connect() as conn:
        stored = rebuild_claims(conn, [ids[c.patient_control_number] for c in read], with_same_day=False)
    engine.dispose()
    assert stored.incomplete == set()
    for claim in read:
        assert claim_facts(stored.claims[ids[claim.patient_control_number]]) == claim_facts(claim)
    # The facts above, stated once more from the file itself, so a reader that lost one fails.
    first = claim_facts(stored.claims[ids["FACT-1"]])
    assert first["place"] == "22" and first["payer"] == "SCOMM" and first["billing"] == "1306849450"
    assert first["diagnoses"] == [("ABK", "C44311"), ("ABF", "L570")]
    line1, line2 = first["lines"]
    assert line1["modifiers"] == ["XS", "59", "KX", "GA"] and line1["pointers"] == [2, 1]
    assert line1["diagnoses"] == ["L570", "C44311"] and line1["place"] == "11"
    assert (line1["from"], line1["to"]) == (date(2026, 10, 5), date(2026, 10, 6))
    assert line1["rendering_for"] == "1245319599" and line1["line_clia"] == ["05D0987654"]
    assert (line2["units"], line2["basis"], line2["line_id"]) == (Decimal("2.5"), "MJ", None)
    assert line2["line_clia"] == ["05D0987654"]
    assert line2["rendering_for"] == "1588667638"
    third = claim_facts(stored.claims[ids["FACT-3"]])
    assert (third["frequency"], third["original"], third["prior_auth"]) == ("7", "PAYERCLAIM9", "AUTH123")
    assert third["lines"][0]["number"] == 7


def test_what_the_file_lacks_stays_missing(store_url: str, tmp_path: Path) -> None:
    """No date, diagnosis, rendering provider or pointer is made up for a claim that has none."""
    engine, _ = _record(store_url, tmp_path)
    with engine.connect() as conn:
        claim = rebuild_claims(conn, [_ids(engine)["FACT-2"]], with_same_day=False).claims[_ids(engine)["FACT-2"]]
    engine.dispose()
    assert claim.diagnoses == [] and claim.service_dates == [] and claim.rendering_npi is None
    (line,) = claim.lines
    assert (line.date_from, line.diagnosis_pointers, line.diagnoses, line.line_id) == (None, [], [], None)
    assert claim.rendering_npi_for(line) == "1306849450"  # the billing provider, by the guide's rule


def test_same_day_claims_of_the_patient_come_along(store_url: str, tmp_path: Path) -> None:
    """A day rule needs the patient's whole day: the patient's other current claims of that date
    come too; another day's, or another patient's, do not."""
    engine, _ = _record(store_url, tmp_path)
    same_day = FILE.replace("FACT-", "SAME-").replace("RD8*20261005-20261006", "D8*20261006")
    same_day = same_day.replace("000000041", "000000042").replace("GE*1*41", "GE*1*42").replace("*41*X*", "*42*X*")
    later = FILE.replace("FACT-", "LATER-").replace("20261005-20261006", "20261020-20261020")
    later = later.replace("D8*20261006", "D8*20261020").replace("D8*20261007", "D8*20261020")
    later = later.replace("000000041", "000000043").replace("GE*1*41", "GE*1*43").replace("*41*X*", "*43*X*")
    for name, text in (("same.837", same_day), ("later.837", later)):
        (tmp_path / name).write_text(text)
        assert record_file(engine, str(tmp_path / name), name, [], [], "check").claims == 3
    ids = _ids(engine)
    with engine.connect() as conn:
        alone = rebuild_claims(conn, [ids["FACT-1"]], with_same_day=False)
        day = rebuild_claims(conn, [ids["FACT-1"]])
    engine.dispose()
    assert set(alone.claims) == {ids["FACT-1"]}
    # SAME-1 is the same subscriber on 2026-10-06; LATER-1 on 2026-10-20; the others are other patients.
    assert set(day.claims) == {ids["FACT-1"], ids["SAME-1"]}
    assert day.claims[ids["SAME-1"]].patient_key == day.claims[ids["FACT-1"]].patient_key


def test_claims_stored_before_0006_are_said_incomplete(store_url: str, tmp_path: Path) -> None:
    engine, _ = _record(store_url, tmp_path)
    ids = _ids(engine)
    with engine.begin() as conn:  # as a claim recorded before revision 0006 is stored
        conn.execute(sa.update(m.Claim.__table__).where(m.Claim.id == ids["FACT-1"]).values(facts=None))
        conn.execute(
            sa.update(m.ServiceLine.__table__)
            .where(m.ServiceLine.claim_id == ids["FACT-1"])
            .values(qualifier=None, unit_basis=None, place_of_service=None, rendering_npi=None, clia_number=None)
        )
        conn.execute(sa.update(m.Claim.__table__).where(m.Claim.id == ids["FACT-1"]).values(diagnosis_qualifiers=None))
    with engine.connect() as conn:
        stored = rebuild_claims(conn, [ids["FACT-1"], ids["FACT-3"]], with_same_day=False)
        assert incomplete_claims(conn) == 1
        found = predict(conn, [ids["FACT-1"], ids["FACT-3"]])
    engine.dispose()
    assert stored.incomplete == {ids["FACT-1"]}
    claim = stored.claims[ids["FACT-1"]]
    # Unknown stays unknown: no qualifier is guessed, no line place or provider is made up.
    assert [d.qualifier for d in claim.diagnoses] == ["", ""]
    assert [ln.place_of_service for ln in claim.lines] == ["", ""]
    assert [ln.rendering_npi for ln in claim.lines] == [None, None]
    # FACT-1 has Mohs lines, no 2300 CLIA and (as stored before 0006) no line CLIA either.
    assert {f["facts"] for f in found[ids["FACT-1"]]} == {"incomplete"}
    assert "MOHS017" in {f["rule"] for f in found[ids["FACT-1"]]}
    assert {f["facts"] for f in found.get(ids["FACT-3"], [])} <= {"complete"}
    # The denial report says so beside its numbers.
    assert run_ingest([str(SAMPLES / "01-mohs-paid.835")], store_url)[0].error is None
    notes = run_denial_report(store_url, Period(None, None))["notes"]
    assert any(n.startswith("1 claim(s) were recorded before the store kept every fact") for n in notes), notes


def test_predict_runs_the_rules_on_the_rebuilt_claims(store_url: str, tmp_path: Path) -> None:
    """A line's own CLIA number satisfies MOHS017 (so no prediction); the replacement's REF*F8
    satisfies X12006; the four-modifier line is seen as billed."""
    engine, _ = _record(store_url, tmp_path)
    ids = _ids(engine)
    with engine.connect() as conn:
        found = predict(conn, list(ids.values()))
    engine.dispose()
    rules = {pcn: {f["rule"] for f in found.get(i, [])} for pcn, i in ids.items()}
    assert "MOHS017" not in rules["FACT-1"]
    assert "X12006" not in rules["FACT-3"]
    assert all(f["facts"] == "complete" for items in found.values() for f in items)
    # What the rules find on the stored claims is what they found on the file as it was checked.
    path = str(tmp_path / "facts.837")
    checked = check_documents(
        [load_document(path)], [r for r in all_rules() if r.scope is not Scope.ENVELOPE], RuleOptions()
    )
    on_file = sorted((loc.finding.claim, loc.finding.rule, loc.finding.line) for loc in checked)
    by_id = {i: pcn for pcn, i in ids.items()}
    on_store = sorted((by_id[i], f["rule"], f["line_number"]) for i, items in found.items() for f in items)
    assert on_store == on_file and on_file


def test_no_library_module_imports_synth() -> None:
    """The sample generator serves samples, tests and the benchmark only."""
    allowed = {ROOT / "mohsedi" / "synth.py", ROOT / "mohsedi" / "acks" / "synth.py"}
    offenders = []
    for path in sorted((ROOT / "mohsedi").rglob("*.py")):
        if path in allowed or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n in ("mohsedi.synth", "mohsedi.acks.synth") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_a_denial_is_predicted_from_a_fact_only_the_line_holds(store_url: str, tmp_path: Path) -> None:
    """A line's own place of service (SV105 98, unassigned) explains a CO-16 M77 on that line as
    CODE002, predicted: the claim was recorded with no findings (as before the rule existed), so
    only the stored line fact can explain it. The claim's own place (22) is valid."""
    path = tmp_path / "pos.837"
    path.write_text(
        FILE.replace("SV1*HC:17311:XS:59:KX:GA*742.8*UN*1*11**2:1~", "SV1*HC:17311:XS:59:KX:GA*742.8*UN*1*98**2:1~")
    )
    engine = open_store(store_url)
    assert record_file(engine, str(path), str(path), [], [], "check").claims == 3
    remit = tmp_path / "pos.835"
    line = [*era.svc("17311:XS:59:KX:GA", "742.8", "0", "CO*16*742.8", line_id="FACT-1-1"), "LQ*HE*M77"]
    remit.write_text(
        era.interchange(era.transaction("TRN-POS", "0", "20261030", era.clp("FACT-1", "4", "742.8", "0", line)))
    )
    report = ingest_file(engine, str(remit))
    assert report.error is None and report.denials == 1
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.Adjustment.rule, m.Adjustment.basis).where(m.Adjustment.is_denial)).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("CODE002", "predicted")]
