"""The references inside a remittance's tree are checked once per file, not by a key check per row

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 06:00:00

A claim payment's remittance, a service payment's claim payment, and an adjustment's or a
remark's claim and service payment are written by ingest alone, in the same transaction as the
row they point to, with primary keys it drew for both (mohsedi.store.db.RowWriter). A foreign
key checked them row by row: on PostgreSQL a trigger and a locking look-up per row, about two
thirds of the server's work storing an 835. They are now checked once per file, set-based,
before the file's transaction commits (RowWriter.verify over models.CHECKED_PER_FILE): a row
pointing nowhere refuses the file and stores nothing, as a failed key check did.

What the keys did besides: ON DELETE CASCADE, and a lock keeping the row pointed to from being
deleted by another transaction before commit. mohsedi never deletes stored remittance rows;
a hand-made DELETE of a remittance must now delete its tree itself. The links made later by
UPDATE (a claim payment's claim, a service payment's line, a PLB's claim payment) and the
remittance's file keep their foreign keys: a payment's claim exists.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, column, the table it points to), as created by 0001 (ON DELETE CASCADE).
REFERENCES = [
    ("claim_payment", "remittance_id", "remittance"),
    ("service_payment", "claim_payment_id", "claim_payment"),
    ("adjustment", "claim_payment_id", "claim_payment"),
    ("adjustment", "service_payment_id", "service_payment"),
    ("remark", "claim_payment_id", "claim_payment"),
    ("remark", "service_payment_id", "service_payment"),
]


def _name(table: str, column: str, parent: str) -> str:
    return f"fk_{table}_{column}_{parent}"


def _tables() -> dict[str, list[tuple[str, str]]]:
    """Per table, its references: one batch per table (SQLite copies the table once)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, parent in REFERENCES:
        out.setdefault(table, []).append((column, parent))
    return out


def upgrade() -> None:
    for table, references in _tables().items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, parent in references:
                batch_op.drop_constraint(_name(table, column, parent), type_="foreignkey")


def downgrade() -> None:
    for table, references in _tables().items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, parent in references:
                batch_op.create_foreign_key(_name(table, column, parent), parent, [column], ["id"], ondelete="CASCADE")
