"""Claims keep every fact prediction reads: line place of service, rendering provider and CLIA
number, SV101-1 and SV103, CLM05-2 and the diagnosis qualifiers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 03:10:00

Predictions on stored claims are made from these rows (mohsedi.store.facts), no longer from X12
rebuilt with invented values. Claims recorded before this revision are not backfilled: what
they lack was never stored, and nothing may be invented in its place. Their ``facts`` stays
NULL, and a prediction on them says that their stored facts are incomplete.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("facility_qualifier", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("diagnosis_qualifiers", sa.String(length=400), nullable=True))
    with op.batch_alter_table("service_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("qualifier", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("unit_basis", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("place_of_service", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("rendering_npi", sa.String(length=15), nullable=True))
        batch_op.add_column(sa.Column("clia_number", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_line", schema=None) as batch_op:
        for column in ("clia_number", "rendering_npi", "place_of_service", "unit_basis", "qualifier"):
            batch_op.drop_column(column)
    with op.batch_alter_table("claim", schema=None) as batch_op:
        for column in ("diagnosis_qualifiers", "facility_qualifier", "facts"):
            batch_op.drop_column(column)
