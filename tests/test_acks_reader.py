"""999 and 277CA read by the guide walker: what each segment of the guide means, read back."""

from __future__ import annotations

from decimal import Decimal

from mohsedi.acks.reader import AckSet, iter_ack_sets
from mohsedi.guide import read_units
from mohsedi.rules.registry import get_rule
from mohsedi.store.ingest import sniff_kind
from tests.conftest import SAMPLES

ISA = "ISA*00*          *00*          *ZZ*CLEARING       *ZZ*PRACTICE       *261009*1200*^*00501*000000077*0*T*:~\n"


def sets(text: str) -> list[AckSet]:
    return [u for u in iter_ack_sets(read_units([text])) if isinstance(u, AckSet)]


def test_999_sets_their_status_and_segment_and_element_errors() -> None:
    text = (
        ISA
        + "GS*FA*CLEARING*PRACTICE*20261009*1200*77*X*005010X231A1~\n"
        + "ST*999*0001*005010X231A1~\nAK1*HC*17*005010X222A1~\n"
        + "AK2*837*0005*005010X222A1~\nIK3*NM1*7*2010AA*8~\nIK4*9*67*7~\nIK4*3:2*1271*I12~\nIK5*R*5~\n"
        + "AK2*837*0006*005010X222A1~\nIK5*E~\n"
        + "AK9*P*2*2*1~\nSE*11*0001~\nGE*1*77~\nIEA*1*000000077~\n"
    )
    (ack_set,) = sets(text)
    assert ack_set.kind == "999" and ack_set.error is None
    ack = ack_set.ack
    assert (ack.group_control, ack.group_status, ack.sender) == ("17", "P", "CLEARING")
    first, second = ack.sets
    assert (first.control_number, first.status, first.rejected, first.codes) == ("0005", "R", True, ["5"])
    (error,) = first.errors
    assert (error.segment_id, error.position, error.loop, error.code) == ("NM1", "7", "2010AA", "8")
    assert [(e.position, e.reference, e.code) for e in error.elements] == [("09", "67", "7"), ("03-2", "1271", "I12")]
    # E: accepted with errors, not a rejection.
    assert (second.control_number, second.status, second.rejected, second.errors) == ("0006", "E", False, [])


def test_277ca_claim_and_line_statuses_with_every_composite() -> None:
    (ack_set,) = sets((SAMPLES / "22-mohs-x12-errors.277").read_text())
    ack = ack_set.ack
    assert (ack.payer_id, ack.payer_name) == ("SYNMCR01", "SYNTHETIC MEDICARE")
    claims = {c.patient_control_number: c for c in ack.claims}
    assert list(claims) == ["MOHS-0301", "MOHS-0302", "MOHS-0303", "MOHS-0304"]
    assert claims["MOHS-0301"].payer_claim_control_number == "SYNCCN0301"
    assert [s.label for s in claims["MOHS-0304"].statuses] == ["A7:400"]
    (line,) = claims["MOHS-0303"].lines
    assert (line.procedure, line.line_id, line.charge, [s.label for s in line.statuses]) == (
        "17311",
        "MOHS-0303-1",
        Decimal("742.80"),
        ["A6:21"],
    )
    # STC10 and STC11 carry further statuses of the same claim.
    text = (
        (SAMPLES / "22-mohs-x12-errors.277")
        .read_text()
        .replace("STC*A7:400:85*20261010*U*1400~", "STC*A7:400:85*20261010*U*1400******A7:562:85*A6:21:85~")
    )
    (ack_set,) = sets(text)
    last = ack_set.ack.claims[-1]
    assert [(s.category, s.code, s.entity) for s in last.statuses] == [
        ("A7", "400", "85"),
        ("A7", "562", "85"),
        ("A6", "21", "85"),
    ]


def test_an_837_in_place_of_an_acknowledgment_is_named() -> None:
    (ack_set,) = sets((SAMPLES / "01-mohs-clean.837").read_text())
    assert ack_set.ack is None and "not a 999" in ack_set.error.message


def test_files_are_told_apart_by_st01_and_their_guide() -> None:
    assert sniff_kind(str(SAMPLES / "21-two-sets.999")) == "999"
    assert sniff_kind(str(SAMPLES / "22-mohs-x12-errors.277")) == "277CA"
    assert sniff_kind(str(SAMPLES / "01-mohs-paid.835")) == "835"
    assert sniff_kind(str(SAMPLES / "01-mohs-clean.837")) is None
    assert sniff_kind(str(SAMPLES / "README.md")) is None


def test_rules_declare_the_rejections_they_predict() -> None:
    clia = get_rule("MOHS017")
    assert clia.predicts_rejection("277CA", "A6", "21") and clia.predicts_rejection("277CA", "A6", "")
    assert not clia.predicts_rejection("277CA", "A7", "21")
    assert not clia.predicts_rejection("999")
    counts = get_rule("X12001")
    assert counts.predicts_rejection("999") and not counts.predicts_rejection("277CA", "A7", "400")
    assert get_rule("X12002").predicts_rejection("277CA", "A7", "400")
    assert not get_rule("MOHS001").rejects


def test_rules_show_the_rejections_they_predict() -> None:
    import json

    from click.testing import CliRunner

    from mohsedi.cli.main import cli

    runner = CliRunner()
    assert "Predicted front-end rejection: 277CA A6" in runner.invoke(cli, ["rules", "explain", "MOHS017"]).output
    assert "front-end rejection" not in runner.invoke(cli, ["rules", "explain", "MOHS001"]).output
    data = json.loads(runner.invoke(cli, ["rules", "explain", "X12002", "--format", "json"]).output)
    assert data["rejects"] == ["999", "A7"]
