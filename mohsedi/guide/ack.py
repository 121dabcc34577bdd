"""999 implementation acknowledgments: pyx12's, or a plain one of ours when pyx12 cannot write it."""

from __future__ import annotations

import io
import logging
from datetime import datetime

from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.x12.envelope import Envelope, TransactionSet
from mohsedi.x12.segments import Segment


def acknowledge(text: str, *, source: str | None = None, now: datetime | None = None) -> tuple[str, str]:
    """(999 text, who wrote it: "pyx12" or "mohsedi") for one received file."""
    import pyx12.params
    import pyx12.x12n_document

    logger = logging.getLogger("pyx12")
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    out = io.StringIO()
    try:
        pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), out, None)
        written = out.getvalue()
        if "ST*999" in written and "SE*" in written and "IEA*" in written:
            return written, "pyx12"
    except Exception:  # pyx12 sometimes fails while writing the 999 itself; ours below still answers
        pass
    return plain_999(text, source=source, now=now), "mohsedi"


def plain_999(text: str, *, source: str | None = None, now: datetime | None = None) -> str:
    """Accept or reject each transaction set by whether mohsedi could read it (no IK3/IK4 detail)."""
    now = now or datetime.now()
    units = list(read_units([text], source=source))  # raises X12Error when there is no readable ISA
    isa = next((u.segment for u in units if isinstance(u, Envelope) and u.segment.id == "ISA"), None)
    if isa is None:
        raise X12Error("no interchange to acknowledge", source=source)
    sender, receiver = isa.element(8).strip(), isa.element(6).strip()
    segments = ["ST*999*0001*005010X231A1"]
    groups: list[tuple[Segment, list[TransactionSet]]] = []
    for unit in units:
        if isinstance(unit, Envelope) and unit.segment.id == "GS":
            groups.append((unit.segment, []))
        elif isinstance(unit, TransactionSet) and groups:
            groups[-1][1].append(unit)
    for group, sets in groups:
        segments.append(f"AK1*{group.element(1)}*{group.element(6)}*{group.element(8)}")
        accepted = 0
        for ts in sets:
            ok = ts.ok and ts.segments[0].id == "ST"
            accepted += ok
            segments.append(f"AK2*{ts.transaction_type or '837'}*{ts.control_number or '0000'}*{ts.implementation}")
            segments.append("IK5*A" if ok else "IK5*R*5")
        code = "A" if accepted == len(sets) else ("P" if accepted else "R")
        segments.append(f"AK9*{code}*{len(sets)}*{len(sets)}*{accepted}")
    segments.append(f"SE*{len(segments) + 1}*0001")
    control = now.strftime("%y%m%d%H%M")[-9:].rjust(9, "0")
    head = (
        f"ISA*00*          *00*          *ZZ*{sender[:15]:<15}*ZZ*{receiver[:15]:<15}*"
        f"{now:%y%m%d}*{now:%H%M}*^*00501*{control}*0*P*:"
    )
    gs = f"GS*FA*{sender}*{receiver}*{now:%Y%m%d}*{now:%H%M}*1*X*005010X231A1"
    return "~\n".join([head, gs, *segments, "GE*1*1", f"IEA*1*{control}"]) + "~\n"
