"""Implementation-guide validation by pyx12 (x12n_document), kept away from our output.

pyx12 logs to the root of its own loggers and can raise from deep inside while writing a
999; here its logging is silenced, only its JSON error report is asked for, and any
exception becomes one reported problem instead of a crash.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
from dataclasses import dataclass


@dataclass(frozen=True)
class Tr3Error:
    level: str  # interchange, group, transaction, segment, element
    code: str  # pyx12's (X12 999/TA1) error code
    message: str
    segment_id: str | None = None
    set_control: str | None = None  # ST02 of the transaction set
    segment_in_set: int | None = None  # position of the segment in its set (ST = 1)
    element: str | None = None  # e.g. NM102


@dataclass(frozen=True)
class Tr3Result:
    valid: bool
    errors: tuple[Tr3Error, ...]
    failure: str | None = None  # pyx12 could not validate at all


def _quiet() -> None:
    logger = logging.getLogger("pyx12")
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False


def validate_text(text: str) -> Tr3Result:
    """pyx12's verdict on one file's text (memoized: several TR3 rules ask about the same file)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()
    return _validate(digest, text)


@functools.lru_cache(maxsize=8)
def _validate(_digest: str, text: str) -> Tr3Result:
    import pyx12.params
    import pyx12.x12n_document

    _quiet()
    report = io.StringIO()
    try:
        valid = pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None, None, report)
        data = json.loads(report.getvalue() or "{}")
    except Exception as exc:  # pyx12 has many failure modes; none may take the check down
        return Tr3Result(False, (), f"pyx12 could not validate the file: {type(exc).__name__}: {exc}")
    errors: list[Tr3Error] = []
    for isa in data.get("interchanges", []):
        for e in isa.get("errors", []):
            errors.append(Tr3Error("interchange", str(e.get("err_cde")), e.get("err_str", "")))
        for gs in isa.get("groups", []):
            for e in gs.get("errors", []):
                errors.append(Tr3Error("group", str(e.get("err_cde")), e.get("err_str", "")))
            for st in gs.get("transactions", []):
                control = st.get("trn_set_control_num")
                for e in st.get("errors", []):
                    errors.append(
                        Tr3Error("transaction", str(e.get("err_cde")), e.get("err_str", ""), set_control=control)
                    )
                for seg in st.get("segments", []):
                    where = {
                        "segment_id": seg.get("seg_id"),
                        "set_control": control,
                        "segment_in_set": seg.get("seg_count"),
                    }
                    for e in seg.get("errors", []):
                        if str(e.get("err_cde")) == "8":
                            continue  # "has data element errors": each is listed below
                        errors.append(Tr3Error("segment", str(e.get("err_cde")), e.get("err_str", ""), **where))
                    for ele in seg.get("elements", []):
                        name = f"{seg.get('seg_id')}{int(ele.get('ele_pos') or 0):02d}"
                        for e in ele.get("errors", []):
                            errors.append(
                                Tr3Error("element", str(e.get("err_cde")), e.get("err_str", ""), element=name, **where)
                            )
    return Tr3Result(bool(valid), tuple(errors))
