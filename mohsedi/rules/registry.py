"""The rule catalog: every rule registered once under its stable code."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from mohsedi.rules.base import (
    CODE_PATTERN,
    TRACKED_ELEMENTS,
    Docs,
    FixSafety,
    Prediction,
    Rule,
    Scope,
    Severity,
    Source,
    Status,
)
from mohsedi.rules.context import RuleOptions

RULES: dict[str, Rule] = {}

# Retired codes: the old code and the code that took its place ("" when none did). A retired
# code is never registered again; selecting it selects its replacement.
REDIRECTS: dict[str, str] = {}


def rule(
    code: str,
    name: str,
    title: str,
    *,
    severity: Severity,
    fix: FixSafety,
    scope: Scope,
    predicts: Iterable[Prediction] = (),
    sources: Iterable[Source] = (),
    docs: Docs,
    suppresses: Iterable[str] = (),
    requires: Iterable[frozenset[str]] = (),
    needs: Iterable[str] = (),
    reads: Iterable[str] | None = None,
    status: Status = Status.STABLE,
    since: str = "0.1.0",
    rejects: Iterable[str] = (),
) -> Callable[[Callable[[Rule, Any], Iterable[Any]]], Rule]:
    """Declare a rule around its check function and register it; codes are unique for good."""

    def register(check: Callable[[Rule, Any], Iterable[Any]]) -> Rule:
        if not CODE_PATTERN.match(code):
            raise ValueError(f"rule code {code!r} is not of the form X12001, MOHS001, ...")
        if code in RULES:
            raise ValueError(f"rule code {code} is registered twice")
        if code in REDIRECTS:
            raise ValueError(f"rule code {code} is retired (see REDIRECTS) and is never reused")
        unknown = set(needs) - {f.name for f in dataclasses.fields(RuleOptions)}
        if unknown:
            raise ValueError(f"rule {code} needs {sorted(unknown)}, which are not rule options")
        if reads is not None and not set(reads) <= TRACKED_ELEMENTS:
            untracked = sorted(set(reads) - TRACKED_ELEMENTS)
            raise ValueError(f"rule {code} reads {untracked}, which the engine does not track")
        declared = Rule(
            code=code,
            name=name,
            title=title,
            severity=severity,
            fix_safety=fix,
            scope=scope,
            predicts=tuple(predicts),
            sources=tuple(sources),
            docs=docs,
            check=check,
            suppresses=tuple(suppresses),
            requires=tuple(requires),
            needs=tuple(needs),
            reads=frozenset(reads) if reads is not None else None,
            status=status,
            since=since,
            rejects=tuple(rejects),
        )
        RULES[code] = declared
        return declared

    return register


def all_rules() -> list[Rule]:
    """Every rule, catalog modules imported, in code order."""
    import mohsedi.rules.catalog  # noqa: F401  (registers the families)

    return [RULES[c] for c in sorted(RULES, key=_code_order)]


FAMILIES = ("X12", "CODE", "MOHS", "NCCI", "PAY", "DOC", "TR3")


def family_of(code: str) -> str:
    return code[:-3]


def _code_order(code: str) -> tuple[int, str]:
    family = family_of(code)
    return (FAMILIES.index(family) if family in FAMILIES else 99, code)


def select_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Rules whose code starts with a selected prefix (all when none) and with no ignored prefix."""
    chosen = [redirected(s.strip().upper()) for s in select if s.strip()]
    dropped = [redirected(s.strip().upper()) for s in ignore if s.strip()]
    known = all_rules()
    for prefix in chosen + dropped:
        if prefix != "ALL" and not any(r.code.startswith(prefix) for r in known):
            raise KeyError(prefix)
    out = []
    for r in known:
        if chosen and "ALL" not in chosen and not any(r.code.startswith(p) for p in chosen):
            continue
        if any(r.code.startswith(p) for p in dropped):
            continue
        out.append(r)
    return out


def redirected(code: str) -> str:
    """A retired code's replacement (the code itself when it is not retired or has none)."""
    return REDIRECTS.get(code) or code


def get_rule(code: str) -> Rule:
    code = redirected(code.upper())
    rule = RULES.get(code)
    if rule is None:
        import mohsedi.rules.catalog  # noqa: F401  (registers the families on first use)

        rule = RULES[code]
    return rule
