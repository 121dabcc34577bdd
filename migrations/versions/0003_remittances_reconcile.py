"""Remittances that reconcile: payment identity, PLB, balancing findings, SVC06, claim dates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trace_payer_id", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("payment_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("complete", sa.Boolean(), nullable=True))
    # Rows stored before this revision keep a key of their own: their TRN03 was not kept, so
    # they cannot be matched to a re-sent ERA (say so in the changelog, not silently merge them).
    op.execute("UPDATE remittance SET payment_key = 'legacy:' || CAST(id AS VARCHAR(20)), complete = TRUE")
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.alter_column("payment_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("complete", existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_constraint("uq_remittance_payer_trace_file", type_="unique")
        batch_op.create_unique_constraint("uq_remittance_payment_key", ["payment_key"])
        batch_op.create_index("ix_remittance_trace", ["payer_id", "trace_number"], unique=False)
    with op.batch_alter_table("claim_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("date_from", sa.Date(), nullable=True))
    with op.batch_alter_table("service_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adjudicated_procedure", sa.String(length=48), nullable=True))
        batch_op.add_column(sa.Column("adjudicated_modifiers", sa.String(length=20), nullable=True))
    op.create_table(
        "provider_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=50), nullable=False),
        sa.Column("fiscal_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=2), nullable=False),
        sa.Column("reference", sa.String(length=50), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("claim_payment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_payment_id"],
            ["claim_payment.id"],
            name=op.f("fk_provider_adjustment_claim_payment_id_claim_payment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittance.id"],
            name=op.f("fk_provider_adjustment_remittance_id_remittance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_adjustment")),
    )
    with op.batch_alter_table("provider_adjustment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_adjustment_claim_payment_id"), ["claim_payment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_adjustment_remittance_id"), ["remittance_id"], unique=False)
    op.create_table(
        "remit_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=10), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("claim", sa.String(length=38), nullable=True),
        sa.Column("line_id", sa.String(length=50), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["remittance_id"],
            ["remittance.id"],
            name=op.f("fk_remit_finding_remittance_id_remittance"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remit_finding")),
    )
    with op.batch_alter_table("remit_finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remit_finding_remittance_id"), ["remittance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("remit_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remit_finding_remittance_id"))
    op.drop_table("remit_finding")
    with op.batch_alter_table("provider_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_adjustment_remittance_id"))
        batch_op.drop_index(batch_op.f("ix_provider_adjustment_claim_payment_id"))
    op.drop_table("provider_adjustment")
    with op.batch_alter_table("service_payment", schema=None) as batch_op:
        batch_op.drop_column("adjudicated_modifiers")
        batch_op.drop_column("adjudicated_procedure")
    with op.batch_alter_table("claim_payment", schema=None) as batch_op:
        batch_op.drop_column("date_from")
    # Going back to one row per payer, trace and file: rows that share one (a split payment,
    # stored twice by design now) cannot all stay; file_sha256 was kept for this.
    with op.batch_alter_table("remittance", schema=None) as batch_op:
        batch_op.drop_index("ix_remittance_trace")
        batch_op.drop_constraint("uq_remittance_payment_key", type_="unique")
        batch_op.create_unique_constraint("uq_remittance_payer_trace_file", ["payer_id", "trace_number", "file_sha256"])
        batch_op.drop_column("complete")
        batch_op.drop_column("payment_key")
        batch_op.drop_column("trace_payer_id")
