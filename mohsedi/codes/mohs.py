"""Mohs vocabulary from ../shared/spec/mohs-rules.md sections 1-2 (CPT and ICD-10-CM facts).

CPT code structure and ICD-10 chapters are stable facts, kept here as named sets. NCCI
edit data, which changes every quarter, is not: it lives in versioned data files.
"""

from __future__ import annotations

import functools
import re
from datetime import date

# Section 1: the Mohs family.
HEAD_FIRST_STAGE = "17311"  # head, neck, hands, feet, genitalia, or deep structures
HEAD_ADDITIONAL_STAGE = "17312"
TRUNK_FIRST_STAGE = "17313"  # trunk, arms, legs
TRUNK_ADDITIONAL_STAGE = "17314"
ADDITIONAL_BLOCK = "17315"  # each block beyond the first five, any stage, any site

FIRST_STAGE_CODES = frozenset({HEAD_FIRST_STAGE, TRUNK_FIRST_STAGE})
ADD_ON_CODES = frozenset({HEAD_ADDITIONAL_STAGE, TRUNK_ADDITIONAL_STAGE, ADDITIONAL_BLOCK})
MOHS_CODES = FIRST_STAGE_CODES | ADD_ON_CODES
# Which primaries each add-on may be reported with (CPT parenthetical instructions).
ADD_ON_PRIMARIES: dict[str, frozenset[str]] = {
    HEAD_ADDITIONAL_STAGE: frozenset({HEAD_FIRST_STAGE}),
    TRUNK_ADDITIONAL_STAGE: frozenset({TRUNK_FIRST_STAGE}),
    ADDITIONAL_BLOCK: frozenset({"17311", "17312", "17313", "17314"}),
}
# The site family of each stage code: "head" (17311/17312) or "trunk" (17313/17314).
SITE_FAMILY = {"17311": "head", "17312": "head", "17313": "trunk", "17314": "trunk"}
FIRST_STAGE_OF_FAMILY = {"head": HEAD_FIRST_STAGE, "trunk": TRUNK_FIRST_STAGE}
ADDITIONAL_STAGE_OF_FAMILY = {"head": HEAD_ADDITIONAL_STAGE, "trunk": TRUNK_ADDITIONAL_STAGE}

# Stage-banded codes deleted from CPT on 2007-01-01.
DELETED_MOHS_CODES = frozenset(str(c) for c in range(17304, 17311))
DELETED_MOHS_ON = date(2007, 1, 1)


def codes_between(*ranges: tuple[int, int]) -> frozenset[str]:
    return frozenset(str(c) for low, high in ranges for c in range(low, high + 1))


# Section 2 ranges as sets: rules declare them as codes that must be present to fire.
BIOPSY_CODES = codes_between((11102, 11107))
MALIGNANT_EXCISION_CODES = codes_between((11600, 11646))
SURGICAL_PATHOLOGY_CODES = codes_between((88300, 88309), (88329, 88332))
OFFICE_EM_CODES = codes_between((99202, 99215))
REPAIR_FLAP_CODES = codes_between((12001, 13160), (14000, 14350), (15000, 15999))


# Section 2: what else shows up on a Mohs day.
def is_biopsy(code: str) -> bool:
    return code in BIOPSY_CODES


def is_malignant_excision(code: str) -> bool:
    return code in MALIGNANT_EXCISION_CODES


def is_surgical_pathology(code: str) -> bool:
    """88300-88309 and 88329-88332 (frozen sections): MOHS009."""
    return code in SURGICAL_PATHOLOGY_CODES


SPECIAL_STAIN = "88314"


def is_office_em(code: str) -> bool:
    return code in OFFICE_EM_CODES


def is_repair_or_flap(code: str) -> bool:
    """Repairs 12001-13160, adjacent tissue transfer 14000-14350, grafts and flaps 15xxx."""
    return code in REPAIR_FLAP_CODES


NCCI_ANATOMIC_MODIFIERS = frozenset(
    [
        "E1",
        "E2",
        "E3",
        "E4",
        "FA",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "TA",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
        "LT",
        "RT",
        "LC",
        "LD",
        "RC",
        "LM",
        "RI",
    ]
)
NCCI_GLOBAL_MODIFIERS = frozenset(["24", "25", "57", "58", "78", "79"])
NCCI_OTHER_MODIFIERS = frozenset(["27", "59", "91", "XE", "XS", "XP", "XU"])
NCCI_ASSOCIATED_MODIFIERS = NCCI_ANATOMIC_MODIFIERS | NCCI_GLOBAL_MODIFIERS | NCCI_OTHER_MODIFIERS
X_MODIFIERS = frozenset({"XE", "XS", "XP", "XU"})
DISTINCT_MODIFIERS = X_MODIFIERS | {"59"}
# How each kind bypasses a PTP pair (mohs-rules.md section 2, "How each kind bypasses a pair"):
BYPASS_ON_EITHER_LINE = frozenset({"59", "XE", "XS", "XP", "XU", "91", "27", "24", "58", "78", "79"})
BYPASS_ON_EM_LINE = frozenset({"25", "57"})  # only on the E/M line of the pair


# Immunohistochemical stains are 88342/88341 (first and each additional antibody), never 88314.
IMMUNOSTAINS = frozenset(
    {
        "mart-1",
        "mart1",
        "melan-a",
        "melana",
        "sox10",
        "sox-10",
        "ck7",
        "ck20",
        "ck5/6",
        "cytokeratin",
        "ae1/ae3",
        "pancytokeratin",
        "s100",
        "s-100",
        "hmb-45",
        "hmb45",
        "ber-ep4",
        "bcl-2",
        "cd34",
        "p63",
        "ema",
        "cea",
        "ki-67",
        "ihc",
    }
)


def is_immunostain(stain: str) -> bool:
    """An immunohistochemical stain, by any of its names in a logged stain ("Melan-A/MART-1", "CK7 IHC")."""
    name = stain.strip().lower()
    tokens = {t for t in re.split(r"[\s/,;()+]+", name) if t}
    return name in IMMUNOSTAINS or bool(tokens & IMMUNOSTAINS) or "immuno" in name


def is_evaluation_and_management(code: str) -> bool:
    """E/M codes 99202-99499 (office, hospital, consultations, ...)."""
    return code.isdigit() and 99202 <= int(code) <= 99499


def _modifiers(mods: list[str]) -> set[str]:
    # Case and blanks are X12005's finding; here "xs" still counts as XS.
    return {m.strip().upper() for m in mods if m.strip()}


def pair_bypassed(code1: str, mods1: list[str], code2: str, mods2: list[str]) -> bool:
    """Whether the modifiers on two lines of a PTP pair show distinct services, as NCCI reads them.

    59, X{EPSU}, 91, 27 and 24/58/78/79 count on either line; 25 and 57 only where they sit on
    the E/M line of the pair (a 25 on a procedure bypasses nothing); anatomic modifiers only when
    both lines carry them and none is on both (RT on one, LT on the other; F1 and F2).
    """
    m1, m2 = _modifiers(mods1), _modifiers(mods2)
    if (m1 | m2) & BYPASS_ON_EITHER_LINE:
        return True
    if (is_evaluation_and_management(code1) and m1 & BYPASS_ON_EM_LINE) or (
        is_evaluation_and_management(code2) and m2 & BYPASS_ON_EM_LINE
    ):
        return True
    a1, a2 = m1 & NCCI_ANATOMIC_MODIFIERS, m2 & NCCI_ANATOMIC_MODIFIERS
    return bool(a1) and bool(a2) and a1.isdisjoint(a2)


# ICD-10-CM site groups (codes without the dot).
def _starts(code: str, prefixes: tuple[str, ...]) -> bool:
    return code.upper().replace(".", "").startswith(prefixes)


HEAD_NECK_GENITAL_PREFIXES = (
    "C440", "C441", "C442", "C443", "C444",
    "D040", "D041", "D042", "D043", "D044",
    "D030", "D031", "D032", "D033", "D034",
    "C430", "C431", "C432", "C433", "C434",
    "C4A0", "C4A1", "C4A2", "C4A3", "C4A4",
    "C51", "C60", "C632",
)  # fmt: skip
TRUNK_PREFIXES = ("C445", "D045", "D035", "C435")
LIMB_PREFIXES = ("C446", "C447", "D046", "D047", "D036", "D037", "C436", "C437")


@functools.cache  # a batch has few distinct diagnosis codes; asked per line
def is_head_neck_genital(dx: str) -> bool:
    return _starts(dx, HEAD_NECK_GENITAL_PREFIXES)


@functools.cache  # a batch has few distinct diagnosis codes; asked per line
def is_trunk(dx: str) -> bool:
    return _starts(dx, TRUNK_PREFIXES)


@functools.cache  # a batch has few distinct diagnosis codes; asked per line
def is_limb(dx: str) -> bool:
    return _starts(dx, LIMB_PREFIXES)


@functools.cache  # a batch has few distinct diagnosis codes; asked per line
def is_mohs_covered_diagnosis(dx: str) -> bool:
    """Malignant or in-situ skin neoplasm (MOHS008): C44 (every malignant code, eyelid C44.1-
    sub-codes such as C44.1021 included), C43, C4A (C4A.5-C4A.7 too), C49, D03, D04, C51, C60, C63.2.

    Whether a C44 code is complete (billable) is the code set's question (CODE001), not coverage:
    a truncated C44.31 is an invalid code, not an uncovered one.
    """
    code = dx.upper().replace(".", "")
    return code.startswith(("C44", "C43", "C4A", "C49", "D03", "D04", "C51", "C60", "C632"))
