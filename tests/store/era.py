"""A small builder of synthetic 835s for tests: every amount is written out by the test itself."""

from __future__ import annotations

ISA = "ISA*00*          *00*          *ZZ*SYNPAYER       *ZZ*MOHSEDISUBMIT  *261030*1200*^*00501*{isa13}*0*T*:~"


def svc(
    code: str,
    charge: str,
    paid: str,
    *cas: str,
    line_id: str | None = None,
    billed: str | None = None,
    day: str = "20261006",
) -> list[str]:
    """Loop 2110; ``cas`` like "CO*45*100"; ``billed`` is SVC06 (the code billed when the payer changed it)."""
    segs = [f"SVC*HC:{code}*{charge}*{paid}**1" + (f"*HC:{billed}" if billed else ""), f"DTM*472*{day}"]
    segs += [f"CAS*{c}" for c in cas]
    if line_id:
        segs.append(f"REF*6R*{line_id}")
    return segs


def clp(
    pcn: str,
    status: str,
    charge: str,
    paid: str,
    *services: list[str],
    cas: tuple[str, ...] = (),
    icn: str | None = None,
    patient: str = "",
) -> list[str]:
    segs = [f"CLP*{pcn}*{status}*{charge}*{paid}*{patient}*MB*{icn or 'ICN-' + pcn}*11*1"]
    segs += [f"CAS*{c}" for c in cas]  # claim-level CAS comes before the patient's NM1 (2100 order)
    segs.append("NM1*QC*1*DOE*J****MI*X1")
    for s in services:
        segs += s
    return segs


def transaction(
    trace: str,
    amount: str,
    day: str,
    *claims: list[str],
    plb: tuple[str, ...] = (),
    st: str = "0001",
    payer: str = "SYNPAYER",
    payer_name: str = "SYNTHETIC HEALTH PLAN",
) -> list[str]:
    body = [
        f"BPR*I*{amount}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*{day}",
        f"TRN*1*{trace}*1512345678",
        f"DTM*405*{day}",
        f"N1*PR*{payer_name}*XV*{payer}",
        "N3*1 PAYER WAY",
        "N4*SPRINGFIELD*IL*627010000",
        "PER*BL*PROVIDER SERVICES*TE*5555550199",
        "N1*PE*SYNTHETIC DERMATOLOGY*XX*1306849450",
    ]
    for i, c in enumerate(claims, 1):
        body += [f"LX*{i}", *c]
    body += [f"PLB*1306849450*20261231*{p}" for p in plb]
    return [f"ST*835*{st}", *body, f"SE*{len(body) + 2}*{st}"]


def interchange(*sets: list[str], isa13: str = "000000101", gs06: str = "101", crlf: bool = False) -> str:
    segs = [ISA.format(isa13=isa13)[:-1], f"GS*HP*SYNPAYER*MOHSEDISUBMIT*20261030*1200*{gs06}*X*005010X221A1"]
    for s in sets:
        segs += s
    segs += [f"GE*{len(sets)}*{gs06}", f"IEA*1*{isa13}"]
    return ("~\r\n" if crlf else "~").join(segs) + ("~\r\n" if crlf else "~")
