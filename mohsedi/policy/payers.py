"""Payer policies: a TOML file people edit by hand (schema: schemas/payer-policy.schema.json).

    [[practice]]                      # the practice's CLIA number, for these billing NPIs
    clia = "05D0987654"
    billing_npi = ["1306849450"]

    [groups.commercial]               # settings shared by several payers
    distinct_modifier = "59"          # 59 or XS
    prior_auth = ["17311", "17313"]   # codes that need REF*G1
    timely_filing_days = 180
    repair_modifier = true            # repairs on a Mohs day need a distinct modifier

    [payers.SYNCOMM]                  # 2010BB NM109
    group = "commercial"
    timely_filing_days = 90           # a payer's own value wins over its group's

    [denials]                         # CARCs that are payment adjustments here, beyond the
    payment_adjustments = ["B10"]     # defaults (mohsedi.codes.denials): never counted as denials

A payer not in the file gets the Medicare defaults (XS, no prior authorization, one calendar year,
no repair modifier), or the `[defaults]` table when the file has one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mohsedi.settings import current


class PolicyError(ValueError):
    """A mistake in the policy file, naming the file and line."""


@dataclass(frozen=True)
class PayerPolicy:
    distinct_modifier: str = "XS"
    prior_auth: frozenset[str] = frozenset()
    timely_filing_days: int | None = None  # None: Medicare's rule, one calendar year after the date of service
    repair_modifier: bool = False
    name: str = "Medicare defaults"


MEDICARE_DEFAULTS = PayerPolicy()
TABLES = ("defaults", "groups", "payers", "practice", "denials")  # the file's top-level tables
SETTINGS = {"distinct_modifier", "prior_auth", "timely_filing_days", "repair_modifier"}


@dataclass(frozen=True)
class PolicySet:
    defaults: PayerPolicy = MEDICARE_DEFAULTS
    payers: dict[str, PayerPolicy] = field(default_factory=dict)
    clia_by_npi: dict[str, str] = field(default_factory=dict)
    clia_any: str | None = None  # a [[practice]] without billing_npi applies to every NPI
    source: str | None = None
    payment_adjustments: frozenset[str] = frozenset()  # [denials]: added to the defaults

    def for_payer(self, payer_id: str) -> PayerPolicy:
        return self.payers.get(payer_id, self.defaults)

    def clia_for(self, billing_npi: str) -> str | None:
        return self.clia_by_npi.get(billing_npi) or self.clia_any


def default_policy_path() -> Path:
    """~/.config/mohsedi/policy.toml (under $XDG_CONFIG_HOME when the CLI was given one)."""
    return current().policy_path


def _line_of(text: str, table: str, key: str | None = None) -> int | None:
    """The line of ``[table]`` (or of ``key`` inside it) in the file, for error messages."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\[?\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]\]?\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return None
    if key is None:
        return start + 1
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("["):
            break
        if re.match(r"^\s*" + re.escape(key) + r"\s*=", lines[i]):
            return i + 1
    return start + 1


def _settings(raw: dict[str, Any], base: PayerPolicy, where: tuple[str, str], text: str, path: str) -> PayerPolicy:
    table, label = where

    def fail(key: str, problem: str) -> PolicyError:
        line = _line_of(text, table, key)
        return PolicyError(f"{path}, line {line}: {label}: {key} {problem}")

    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("group", "name"):
            continue
        if key not in SETTINGS:
            raise fail(key, f"is not a setting (one of: {', '.join(sorted(SETTINGS))})")
        if key == "distinct_modifier":
            if value not in ("59", "XS"):
                raise fail(key, f'is {value!r}; it must be "59" or "XS"')
            values[key] = value
        elif key == "prior_auth":
            if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
                raise fail(key, 'must be a list of procedure codes as strings, like ["17311"]')
            values[key] = frozenset(c.strip().upper() for c in value)
        elif key == "timely_filing_days":
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise fail(key, f"is {value!r}; it must be a whole number of days")
            values[key] = value
        elif key == "repair_modifier":
            if not isinstance(value, bool):
                raise fail(key, f"is {value!r}; it must be true or false")
            values[key] = value
    return replace(base, **values)


def parse_policy(text: str, path: str = "<policy>") -> PolicySet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: {exc}") from None
    for key in data:
        if key not in TABLES:
            raise PolicyError(f"{path}, line {_line_of(text, key) or 1}: unknown table [{key}] ({', '.join(TABLES)})")
    defaults = _settings(data.get("defaults", {}), MEDICARE_DEFAULTS, ("defaults", "[defaults]"), text, path)
    groups: dict[str, PayerPolicy] = {}
    for name, raw in data.get("groups", {}).items():
        if not isinstance(raw, dict):
            raise PolicyError(f"{path}, line {_line_of(text, 'groups')}: groups.{name} must be a table")
        groups[name] = _settings(raw, defaults, (f"groups.{name}", f"group {name}"), text, path)
    payers: dict[str, PayerPolicy] = {}
    for payer_id, raw in data.get("payers", {}).items():
        if not isinstance(raw, dict):
            raise PolicyError(f"{path}, line {_line_of(text, 'payers')}: payers.{payer_id} must be a table")
        group = raw.get("group")
        if group is not None and group not in groups:
            line = _line_of(text, f"payers.{payer_id}", "group")
            raise PolicyError(f"{path}, line {line}: payer {payer_id}: group {group!r} is not defined")
        base = groups[group] if group else defaults
        policy = _settings(raw, base, (f"payers.{payer_id}", f"payer {payer_id}"), text, path)
        payers[payer_id] = replace(policy, name=str(raw.get("name", payer_id)))
    clia_by_npi: dict[str, str] = {}
    clia_any = None
    practices = data.get("practice", [])
    if isinstance(practices, dict):
        practices = [practices]
    for practice in practices:
        clia = practice.get("clia")
        if not isinstance(clia, str) or not re.fullmatch(r"\d{2}D\d{7}", clia.strip()):
            line = _line_of(text, "practice", "clia")
            raise PolicyError(f"{path}, line {line}: practice clia {clia!r} is not a CLIA number (like 05D0987654)")
        npis = practice.get("billing_npi", [])
        if isinstance(npis, str):
            npis = [npis]
        for npi in npis:
            if not re.fullmatch(r"\d{10}", str(npi)):
                line = _line_of(text, "practice", "billing_npi")
                raise PolicyError(f"{path}, line {line}: practice billing_npi {npi!r} is not a 10-digit NPI")
            clia_by_npi[str(npi)] = clia.strip()
        if not npis:
            clia_any = clia.strip()
    return PolicySet(defaults, payers, clia_by_npi, clia_any, path, _payment_adjustments(data, text, path))


def _payment_adjustments(data: dict[str, Any], text: str, path: str) -> frozenset[str]:
    raw = data.get("denials", {})
    if not isinstance(raw, dict):
        raise PolicyError(f"{path}, line {_line_of(text, 'denials')}: [denials] must be a table")
    for key in raw:
        if key != "payment_adjustments":
            line = _line_of(text, "denials", key)
            raise PolicyError(f"{path}, line {line}: [denials]: {key} is not a setting (payment_adjustments)")
    codes = raw.get("payment_adjustments", [])
    if not isinstance(codes, list) or not all(
        isinstance(c, str) and re.fullmatch(r"[A-Za-z0-9]{1,5}", c.strip()) for c in codes
    ):
        line = _line_of(text, "denials", "payment_adjustments")
        raise PolicyError(f'{path}, line {line}: [denials]: payment_adjustments must be a list of CARCs, like ["B10"]')
    return frozenset(c.strip().upper() for c in codes)


def load_policy(path: str | Path | None) -> PolicySet:
    """The policy file given, else the default path when it exists, else Medicare defaults."""
    if path is None:
        candidate = default_policy_path()
        if not candidate.exists():
            return PolicySet()
        path = candidate
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read the policy file: {exc.strerror or exc}") from None
    return parse_policy(text, str(p))
