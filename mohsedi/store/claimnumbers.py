"""The payer's claim control numbers (CLP07) the store holds, by patient control number (CLM01).

A replacement or void claim must name its original by the payer's claim control number
(2300 REF*F8, X12006). When the original's 835 is stored, that number is known: this mapping
looks it up, one claim at a time, as the rule asks, so a check reads only the claims it needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mohsedi.store.models import ClaimPayment


class StoredClaimNumbers(Mapping[str, str]):
    """CLM01 -> CLP07 of its latest stored payment that is not a reversal (absent when none)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # disposed in forked workers, like the edit data's
        self._cache: dict[str, str | None] = {}

    def _lookup(self, pcn: str) -> str | None:
        if pcn not in self._cache:
            query = (
                sa.select(ClaimPayment.payer_claim_control_number)
                .where(ClaimPayment.patient_control_number == pcn, ClaimPayment.is_reversal.is_(False))
                .where(ClaimPayment.payer_claim_control_number != "")
                .order_by(ClaimPayment.id.desc())
                .limit(1)
            )
            with self.engine.connect() as conn:
                self._cache[pcn] = conn.execute(query).scalar_one_or_none()
        return self._cache[pcn]

    def __getitem__(self, pcn: str) -> str:
        found = self._lookup(pcn)
        if found is None:
            raise KeyError(pcn)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, v in self._cache.items() if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._cache.values() if v is not None)
