"""The Mohs case log: one row per stage, exported from the practice's Mohs log or EHR.

CSV (with this header) or JSON (a list of objects with these keys); schema:
schemas/case-log.schema.json.

    claim      CLM01 of the claim that bills the surgery
    tumor      the tumor's id within the claim (A, B, 1, 2, ...)
    site       anatomic site, from SITE_FAMILY below (nose, ear, scalp, hand, forearm, back, ...)
    diagnosis  ICD-10-CM of the tumor, with or without the dot (C44.311 or C44311)
    stage      stage number, 1, 2, 3, ...
    blocks     tissue blocks in that stage
    stains     stains used, separated by ';' (H&E, toluidine blue, MART-1, CK7, ...)
    map        yes/no: a Mohs map was drawn for the stage
    margins    clear, positive or another result per block; blank when none was recorded
    deep       yes/no: surgery directly involved muscle, cartilage, bone, tendon, major nerve or vessel

A malformed row is reported with its line and skipped; nothing is guessed.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mohsedi.codes import mohs as vocab

# CPT site groups (mohs-rules.md section 1): head, neck, hands, feet, genitalia -> 17311/17312;
# trunk, arms, legs -> 17313/17314.
HEAD_SITES = (
    *("scalp", "forehead", "temple", "eyebrow", "eyelid", "canthus", "nose", "ala", "nasal-tip", "cheek"),
    *("ear", "helix", "lip", "chin", "jaw", "face", "neck"),
    *("hand", "palm", "finger", "thumb", "nail", "foot", "sole", "toe", "heel"),
    *("genitalia", "vulva", "penis", "scrotum", "perianal"),
)
TRUNK_SITES = (
    *("trunk", "back", "chest", "abdomen", "flank", "shoulder", "axilla", "buttock"),
    *("arm", "upper-arm", "elbow", "forearm", "wrist", "thigh", "knee", "leg", "shin", "calf", "ankle"),
)
SITE_FAMILY = {**{s: "head" for s in HEAD_SITES}, **{s: "trunk" for s in TRUNK_SITES}}
ROUTINE_STAINS = frozenset({"h&e", "he", "hematoxylin and eosin", "toluidine blue", "toluidine"})
COLUMNS = ("claim", "tumor", "site", "diagnosis", "stage", "blocks", "stains", "map", "margins", "deep")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}


class CaseLogError(ValueError):
    """The case log cannot be read at all (missing columns, not CSV or JSON)."""


@dataclass(frozen=True)
class Stage:
    stage: int
    blocks: int
    stains: tuple[str, ...]
    map: bool
    margins: str
    deep: bool
    line: int  # in the case log file


@dataclass
class Tumor:
    claim: str
    tumor: str
    site: str
    diagnosis: str
    stages: list[Stage] = field(default_factory=list)

    @property
    def family(self) -> str:
        """head (17311/17312) or trunk (17313/17314): deep structures make any site head-family."""
        if any(s.deep for s in self.stages):
            return "head"
        return SITE_FAMILY[self.site]

    @property
    def lines(self) -> str:
        numbers = sorted(s.line for s in self.stages)
        return f"line {numbers[0]}" if len(numbers) == 1 else f"lines {numbers[0]}-{numbers[-1]}"

    @property
    def non_routine_stains(self) -> list[str]:
        return sorted({st for s in self.stages for st in s.stains if st.lower() not in ROUTINE_STAINS})


def expected_units(tumor: Tumor, family: str | None = None) -> dict[str, int]:
    """CPT unit arithmetic for one tumor: first stage x1, additional stages x (stages - 1),
    17315 x the sum over every stage of the blocks beyond five. ``family`` overrides the
    logged site's (head or trunk)."""
    family = family or tumor.family
    stages = len({s.stage for s in tumor.stages})
    units = {vocab.FIRST_STAGE_OF_FAMILY[family]: 1}
    if stages > 1:
        units[vocab.ADDITIONAL_STAGE_OF_FAMILY[family]] = stages - 1
    extra_blocks = sum(max(0, s.blocks - 5) for s in tumor.stages)
    if extra_blocks:
        units[vocab.ADDITIONAL_BLOCK] = extra_blocks
    return units


@dataclass
class CaseLog:
    source: str
    tumors: dict[str, list[Tumor]]  # claim (CLM01) -> its tumors
    problems: list[str]  # malformed rows, with their line, that were skipped

    def for_claim(self, pcn: str) -> list[Tumor]:
        return self.tumors.get(pcn, [])


def _flag(value: str, column: str) -> bool:
    v = value.strip().lower()
    if v in YES:
        return True
    if v in NO:
        return False
    raise ValueError(f"{column} is {value!r}; write yes or no")


def _row(raw: dict[str, str], line: int) -> tuple[str, str, str, str, Stage]:
    def get(column: str) -> str:
        value = raw.get(column)
        return "" if value is None else str(value).strip()

    claim, tumor, site, diagnosis = get("claim"), get("tumor"), get("site").lower(), get("diagnosis")
    if not claim or not tumor:
        raise ValueError("claim and tumor are required")
    if site not in SITE_FAMILY:
        raise ValueError(f"site {site!r} is not in the vocabulary (nose, ear, scalp, hand, forearm, back, ...)")
    diagnosis = diagnosis.replace(".", "").upper()
    if not (3 <= len(diagnosis) <= 7) or not diagnosis[0].isalpha():
        raise ValueError(f"diagnosis {get('diagnosis')!r} is not an ICD-10-CM code")
    try:
        stage, blocks = int(get("stage")), int(get("blocks"))
    except ValueError:
        raise ValueError(f"stage {get('stage')!r} and blocks {get('blocks')!r} must be whole numbers") from None
    if stage < 1 or blocks < 1:
        raise ValueError("stage and blocks start at 1")
    stains = tuple(s.strip() for s in get("stains").split(";") if s.strip())
    return (
        claim,
        tumor,
        site,
        diagnosis,
        Stage(
            stage, blocks, stains, _flag(get("map"), "map"), get("margins").lower(), _flag(get("deep"), "deep"), line
        ),
    )


def parse_case_log(text: str, source: str = "<case log>") -> CaseLog:
    stripped = text.lstrip()
    rows: list[tuple[int, dict[str, str]]] = []
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseLogError(f"{source}: not valid JSON: {exc}") from None
        items = data.get("stages", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise CaseLogError(f"{source}: expected a list of stage objects")
        # JSON has no line numbers per object: count objects from 1 instead.
        rows = [(i, item) for i, item in enumerate(items, start=1) if isinstance(item, dict)]
    else:
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise CaseLogError(f"{source}, line 1: the header lacks {', '.join(missing)}")
        reader.fieldnames = header
        rows = [(reader.line_num, row) for row in reader]
    tumors: dict[tuple[str, str], Tumor] = {}
    problems: list[str] = []
    for line, raw in rows:
        try:
            claim, tumor_id, site, diagnosis, stage = _row(raw, line)
        except ValueError as exc:
            problems.append(
                f"{source}, {'line' if not stripped.startswith(('[', '{')) else 'entry'} {line}: {exc}; row skipped"
            )
            continue
        key = (claim, tumor_id)
        tumor = tumors.get(key)
        if tumor is None:
            tumor = tumors[key] = Tumor(claim, tumor_id, site, diagnosis)
        elif (tumor.site, tumor.diagnosis) != (site, diagnosis):
            problems.append(
                f"{source}, line {line}: tumor {tumor_id} of {claim} changes site or diagnosis "
                "between stages; row skipped"
            )
            continue
        if any(s.stage == stage.stage for s in tumor.stages):
            problems.append(
                f"{source}, line {line}: stage {stage.stage} of tumor {tumor_id} ({claim}) appears twice; row skipped"
            )
            continue
        tumor.stages.append(stage)
    by_claim: dict[str, list[Tumor]] = defaultdict(list)
    for tumor in tumors.values():
        tumor.stages.sort(key=lambda s: s.stage)
        by_claim[tumor.claim].append(tumor)
    return CaseLog(source, dict(by_claim), problems)


def load_case_log(path: str | Path) -> CaseLog:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CaseLogError(f"{p}: cannot read the case log: {exc.strerror or exc}") from None
    return parse_case_log(text, str(p))
