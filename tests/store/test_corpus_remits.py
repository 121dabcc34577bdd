"""Every 835 of the shared corpus (stupidedi's examples, written by others) ingests, and the
denial report's totals for them match a count made by hand from their segments.

Hand count (CLP03 / CLP04 / BPR02 per file, from the files as published):
  dollars-and-data-sent-separate   2000.00 /    945.00 /    945.00  (800+1200; 450+495)
  dollars-and-data-sent-together 226366.97 / 149998.73 / 150000.00  PLB CV:CP -1.27
  era-sample                      226.00 /    132.00 /    132.00
  multiple-claims-single-check   2819.00 /    810.80 /    810.80  nine claims
  secondary-payment-higher-fee    541.00 /     34.00 /     34.00
  secondary-payments            11075.14 /   1222.00 /   1222.00  (10323.64+751.50; 912+310)
  tertiary-payments              1766.50 /    187.50 /    187.50
  total                        244794.61 / 153330.03 / 153331.30  = 153330.03 - (-1.27)
Adjustments: CO-45, CO-A2, CO-131, CO-42, OA-23, OA-94 (payment adjustments) and PR-1, PR-2,
PR-3 (patient share): no denial. PR: PR-1 300+600+150 = 1050.00 (3); PR-3 14+10+756+146+33+11.2
= 970.20 (6); PR-2 70.00 (1). Every claim and line balances; era-sample and
multiple-claims-single-check share payer and trace (TRN 12345, 1512345678) with other amounts:
both stored, the second with ERA005.
"""

from __future__ import annotations

import pytest

from mohsedi.pipeline import run_denial_report, run_ingest
from mohsedi.reports.denials import Period
from tests.conftest import corpus_files

REMITS = corpus_files("835")
pytestmark = pytest.mark.skipif(
    not REMITS, reason="../shared/corpus/835 is not beside the clone (set MOHSEDI_CORPUS to run)"
)


def test_every_corpus_835_ingests_and_the_totals_match_a_hand_count(store_url: str) -> None:
    reports = run_ingest([str(p) for p in REMITS], store_url)
    assert [r.status for r in reports] == ["stored"] * 7
    assert all(r.error is None and not r.quarantined for r in reports)
    assert sum(r.claim_payments for r in reports) == 18
    assert sum(r.denials for r in reports) == 0
    findings = [(p.path.rsplit("__", 1)[-1], f.rule) for p in reports for f in p.findings]
    assert findings == [("multiple-claims-single-check.edi", "ERA005")]
    data = run_denial_report(store_url, Period(None, None))
    totals = data["totals"]
    assert totals["claims"] == 18 and totals["remittances"] == 7
    assert (totals["billed"], totals["paid"], totals["remitted"]) == ("244794.61", "153330.03", "153331.30")
    assert (totals["provider_adjustments"], totals["denied"], totals["denials"]) == ("-1.27", "0.00", 0)
    assert data["denials"] == [] and data["by_rule"] == []
    patient = {p["carc"]: (p["amount"], p["count"]) for p in data["patient_responsibility"]}
    assert patient == {"1": ("1050.00", 3), "3": ("970.20", 6), "2": ("70.00", 1)}
    assert totals["patient_responsibility"] == "2090.20"
    [plb] = data["provider_adjustments"]
    assert (plb["payer"], plb["reason"], plb["reference"], plb["amount"]) == ("999", "CV", "CP", "-1.27")
    assert [b["rule"] for b in data["balancing"]] == ["ERA005"]
    again = run_ingest([str(p) for p in REMITS], store_url)
    assert [r.status for r in again] == ["already_stored"] * 7
    assert run_denial_report(store_url, Period(None, None))["totals"] == totals
