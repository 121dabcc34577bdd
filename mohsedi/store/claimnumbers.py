"""The payer's claim control number (CLP07) of a claim the store holds a remittance for.

A replacement or void claim must name its original by the payer's claim control number
(2300 REF*F8, X12006). When the original was recorded and its 835 is stored and linked to it,
that number is known: this looks it up, one claim at a time, as the rule asks, so a check reads
only the claims it needs. Only a payment linked to a stored claim of the same CLM01, payer and
billing provider counts: a secondary payer's claim number is never taken for the primary's.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mohsedi.claims.model import Claim
from mohsedi.store.models import Claim as StoredClaim
from mohsedi.store.models import ClaimPayment


class StoredClaimNumbers:
    """Called with a claim: CLP07 of the latest stored payment of its original, or None."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # disposed in forked workers, like the edit data's
        self._cache: dict[tuple[str, str, str], str | None] = {}

    def __call__(self, claim: Claim) -> str | None:
        key = (claim.patient_control_number, claim.payer_id, claim.billing_npi)
        if key not in self._cache:
            query = (
                sa.select(ClaimPayment.payer_claim_control_number)
                .join(StoredClaim, StoredClaim.id == ClaimPayment.claim_id)
                .where(
                    ClaimPayment.patient_control_number == key[0],
                    StoredClaim.payer_id == key[1],
                    StoredClaim.billing_npi == key[2],
                    ClaimPayment.is_reversal.is_(False),
                    ClaimPayment.payer_claim_control_number != "",
                )
                .order_by(ClaimPayment.id.desc())
                .limit(1)
            )
            with self.engine.connect() as conn:
                self._cache[key] = conn.execute(query).scalar_one_or_none()
        return self._cache[key]
