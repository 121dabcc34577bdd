"""Rule cases as data: claim fragments wrapped in a canned 837P envelope.

A case file (tests/rules/cases/<CODE>.toml) holds cases of kind pass, fail or fix:

    [[case]]
    name = "add-on alone"
    kind = "fail"
    [[case.claim]]
    dx = ["C44311"]
    lines = ["17312 x1"]
    expect = [{claim = "C1", line = 1}]

A line is written `CODE[:MOD...] [xUNITS] [@POINTER[:POINTER]] [$CHARGE] [dYYYYMMDD] [noref]`.
A claim may instead be `raw` X12 from CLM on (segments separated by ~). Claims share one
patient unless a claim says `patient = "B"`. Fix cases give `fixed`: the expected lines after
fixing, in the same notation (`fixed_clia` when the fix adds REF*X4), or `fixed_raw`, the
claim's X12 from CLM on. tests/rules/README.md describes every key and what each kind of case
must show.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from mohsedi.synth import FEE

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_DATE = "20261006"

HEADER = [
    "ST*837*0001*005010X222A1",
    "BHT*0019*00*CASE*20261008*1200*CH",
    "NM1*41*2*CASE SUBMITTER*****46*CASESUB",
    "PER*IC*BILLING*TE*5555550100",
    "NM1*40*2*CASE RECEIVER*****46*CASEREC",
    "HL*1**20*1",
    "NM1*85*2*CASE DERMATOLOGY*****XX*1306849450",
    "N3*1 CASE STREET",
    "N4*SPRINGFIELD*IL*627010000",
    "REF*EI*990000001",
]


def fee(code: str) -> Decimal:
    return FEE.get(code, Decimal("150"))


def parse_line(spec: str) -> dict[str, Any]:
    tokens = spec.split()
    code, *mods = tokens[0].split(":")
    out: dict[str, Any] = {
        "code": code,
        "mods": mods,
        "units": 1,
        "ptrs": ["1"],
        "charge": None,
        "date": DEFAULT_DATE,
        "ref": True,
    }
    for token in tokens[1:]:
        if token.startswith("x"):
            out["units"] = int(token[1:])
        elif token.startswith("@"):
            out["ptrs"] = token[1:].split(":")
        elif token.startswith("$"):
            out["charge"] = Decimal(token[1:])
        elif token.startswith("d"):
            out["date"] = token[1:]
        elif token == "noref":
            out["ref"] = False
        else:
            raise ValueError(f"unknown token {token!r} in line {spec!r}")
    if out["charge"] is None:
        out["charge"] = fee(code) * out["units"]
    return out


def money(value: Decimal) -> str:
    text = format(value.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".")


def line_segments(pcn: str, n: int, spec: str) -> list[str]:
    line = parse_line(spec)
    procedure = ":".join(["HC", line["code"], *line["mods"]])
    segs = [
        f"LX*{n}",
        f"SV1*{procedure}*{money(line['charge'])}*UN*{line['units']}***{':'.join(line['ptrs'])}",
        f"DTP*472*D8*{line['date']}",
    ]
    if line["ref"]:
        segs.append(f"REF*6R*{pcn}-{n}")
    return segs


def claim_segments(claim: dict[str, Any], default_pcn: str) -> list[str]:
    pcn = claim.get("pcn", default_pcn)
    if "raw" in claim:
        return [s.strip() for s in claim["raw"].split("~") if s.strip()]
    lines = claim["lines"]
    total = claim.get("total")
    if total is None:
        total = money(sum((parse_line(spec)["charge"] for spec in lines), Decimal("0")))
    segs = [f"CLM*{pcn}*{total}***{claim.get('pos', '11')}:B:{claim.get('frequency', '1')}*Y*A*Y*Y"]
    clia = claim.get("clia", "05D0987654")
    if clia:
        segs.append(f"REF*X4*{clia}")
    dx = claim.get("dx", ["C44311"])
    segs.append("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(dx)))
    segs.append("NM1*82*1*PROVIDER*CASE****XX*" + claim.get("rendering", "1588667638"))
    for n, spec in enumerate(lines, start=1):
        segs += line_segments(pcn, n, spec)
    return segs


def subscriber_segments(hl: int, patient: str, filing: str = "MB") -> list[str]:
    return [
        f"HL*{hl}*1*22*0",
        f"SBR*P*18*******{filing}",
        f"NM1*IL*1*CASE*PATIENT{patient}****MI*CASEMEMBER{patient}",
        "N3*1 CASE ROAD",
        "N4*SPRINGFIELD*IL*627040000",
        "DMG*D8*19500101*F",
        "NM1*PR*2*CASE PAYER*****PI*" + "SMEDC",
    ]


def wrap(claims: list[dict[str, Any]], envelope: dict[str, str] | None = None) -> str:
    """A whole 837P file around the claims: one HL 22 per claim, one patient unless told.

    ``envelope`` may override se01, se02, ge01 or iea01 to seed envelope errors, st03 or gs08
    to label the set with another guide version, and ``cut`` (SE, GE or IEA) ends the file just
    before that segment, as a transfer cut short would.
    """
    envelope = envelope or {}
    body: list[str] = list(HEADER)
    if "st03" in envelope:
        body[0] = f"ST*837*0001*{envelope['st03']}"
    for i, claim in enumerate(claims, start=1):
        body += subscriber_segments(i + 1, claim.get("patient", "A"), claim.get("filing", "MB"))
        body += claim_segments(claim, f"C{i}")
    body.append(f"SE*{envelope.get('se01', len(body) + 1)}*{envelope.get('se02', '0001')}")
    isa = "ISA*00*          *00*          *ZZ*CASESUB        *ZZ*CASEREC        *261008*1200*^*00501*000000001*0*T*:"
    segments = [
        isa,
        f"GS*HC*CASESUB*CASEREC*20261008*1200*1*X*{envelope.get('gs08', '005010X222A1')}",
        *body,
        f"GE*{envelope.get('ge01', 1)}*1",
        f"IEA*{envelope.get('iea01', 1)}*000000001",
    ]
    if "cut" in envelope:
        segments = segments[: max(i for i, seg in enumerate(segments) if seg.startswith(envelope["cut"] + "*"))]
    return "~\n".join(segments) + "~\n"


@dataclass
class Case:
    rule: str
    name: str
    kind: str  # pass | fail | fix
    claims: list[dict[str, Any]]
    expect: list[dict[str, Any]]
    unsafe: bool
    options: dict[str, Any]
    absent: list[str]
    envelope: dict[str, str]
    fixed_claims: list[dict[str, Any]]  # every claim as the fix should leave it
    fixed_envelope: dict[str, str]
    changes: bool  # other rules' fixes change this pass/fail case (see test_rule_cases)

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.kind}-{self.name.replace(' ', '_')}"

    def text(self) -> str:
        return wrap(self.claims, self.envelope)

    def fixed_text(self) -> str:
        """The whole file the fix must write: claims as fixed, envelope counts recomputed."""
        return wrap(self.fixed_claims, self.fixed_envelope)


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        rule = data.get("rule", path.stem)
        for raw in data["case"]:
            claims = raw["claim"]
            fixed_claims: list[dict[str, Any]] = []
            for i, claim in enumerate(claims, start=1):
                pcn = claim.get("pcn", f"C{i}")
                after = claim
                if "fixed" in claim:
                    after = {**claim, "lines": claim["fixed"], "total": claim.get("fixed_total")}
                    if "fixed_clia" in claim:
                        after["clia"] = claim["fixed_clia"]
                elif "fixed_raw" in claim:
                    after = {**claim, "raw": claim["fixed_raw"]}
                fixed_claims.append({**after, "pcn": pcn})
            cases.append(
                Case(
                    rule=rule,
                    name=raw["name"],
                    kind=raw["kind"],
                    claims=claims,
                    expect=raw.get("expect", []),
                    unsafe=raw.get("unsafe", False),
                    options=raw.get("options", {}),
                    absent=raw.get("absent", []),
                    envelope=raw.get("envelope", {}),
                    fixed_claims=fixed_claims,
                    fixed_envelope=raw.get("fixed_envelope", {}),
                    changes=raw.get("changes", False),
                )
            )
    return cases
