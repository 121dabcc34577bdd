"""A baseline: findings a practice reviewed and accepted, silenced per claim and rule.

`mohsedi check FILES --write-baseline FILE` writes one; `--baseline FILE` on check or fix
leaves those findings out of the report and the exit code. The rule keeps running: the same
rule on another claim, or another rule on the same claim, is reported as before. Claims are
named by CLM01 (the patient control number), so a claim re-sent in a new file stays accepted.
A baseline silences reporting only; fixes are applied as without it (leave a rule's fix out
with --ignore).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

FORMAT = "mohsedi-baseline"
VERSION = 1

Key = tuple[str | None, str]  # claim (None: the envelope), rule


class BaselineError(Exception):
    pass


def baseline_json(reports: list[Any]) -> dict[str, Any]:
    counts: Counter[Key] = Counter()
    messages: dict[Key, str] = {}
    for r in reports:
        for f in r.findings:
            key = (f.claim, f.rule)
            counts[key] += 1
            messages.setdefault(key, f.message)
    accepted = [
        {"claim": claim, "rule": rule, "findings": counts[(claim, rule)], "message": messages[(claim, rule)]}
        for claim, rule in sorted(counts, key=lambda k: (k[0] or "", k[1]))
    ]
    return {"format": FORMAT, "version": VERSION, "accepted": accepted}


def load_baseline(path: str | Path) -> set[Key]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not a baseline (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("accepted"), list):
        raise BaselineError(f"{path}: not a baseline written by `mohsedi check --write-baseline`")
    if data.get("version") != VERSION:
        raise BaselineError(f"{path}: baseline version {data.get('version')!r}; this mohsedi reads {VERSION}")
    keys: set[Key] = set()
    for n, entry in enumerate(data["accepted"], 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("rule"), str):
            raise BaselineError(f"{path}: accepted entry {n} has no rule")
        claim = entry.get("claim")
        if claim is not None and not isinstance(claim, str):
            raise BaselineError(f"{path}: accepted entry {n}: claim must be a string or null")
        keys.add((claim, entry["rule"]))
    return keys


def apply_baseline(reports: list[Any], accepted: set[Key], path: str) -> int:
    """Drop accepted findings from each report (noting how many); the number dropped."""
    total = 0
    for r in reports:
        kept = r.findings.where(lambda f: (f.claim, f.rule) not in accepted)  # read again when written
        dropped = len(r.findings) - len(kept)
        if dropped:
            r.findings = kept
            r.notices.append(f"{dropped} finding(s) accepted in the baseline {path} not shown")
            total += dropped
    return total
