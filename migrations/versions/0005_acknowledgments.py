"""Acknowledgments received (999, 277CA) and the 837P transaction sets as sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:06:20

837P files stored before this revision have no sent_set rows (their GS06/ST02 per set were
not kept): a 999 for them is stored but links to no set until the file is checked again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acknowledgment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False),
        sa.Column("ack_key", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=15), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=True),
        sa.Column("payer_name", sa.String(length=60), nullable=True),
        sa.Column("group_control", sa.String(length=9), nullable=True),
        sa.Column("group_status", sa.String(length=1), nullable=True),
        sa.Column("received", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_file.id"], name=op.f("fk_acknowledgment_file_id_stored_file"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgment")),
        sa.UniqueConstraint("ack_key", name="uq_acknowledgment_ack_key"),
    )
    with op.batch_alter_table("acknowledgment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acknowledgment_file_id"), ["file_id"], unique=False)

    op.create_table(
        "sent_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("group_control", sa.String(length=9), nullable=False),
        sa.Column("set_control", sa.String(length=9), nullable=False),
        sa.Column("first_ordinal", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["stored_file.id"], name=op.f("fk_sent_set_file_id_stored_file"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_set")),
    )
    with op.batch_alter_table("sent_set", schema=None) as batch_op:
        batch_op.create_index("ix_sent_set_controls", ["group_control", "set_control"], unique=False)
        batch_op.create_index(batch_op.f("ix_sent_set_file_id"), ["file_id"], unique=False)

    op.create_table(
        "set_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acknowledgment_id", sa.Integer(), nullable=False),
        sa.Column("set_control", sa.String(length=9), nullable=False),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("codes", sa.String(length=20), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("sent_set_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=10), nullable=True),
        sa.Column("basis", sa.String(length=12), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledgment_id"],
            ["acknowledgment.id"],
            name=op.f("fk_set_status_acknowledgment_id_acknowledgment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sent_set_id"], ["sent_set.id"], name=op.f("fk_set_status_sent_set_id_sent_set"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_set_status")),
    )
    with op.batch_alter_table("set_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_set_status_acknowledgment_id"), ["acknowledgment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_set_status_sent_set_id"), ["sent_set_id"], unique=False)

    op.create_table(
        "claim_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("acknowledgment_id", sa.Integer(), nullable=False),
        sa.Column("patient_control_number", sa.String(length=38), nullable=False),
        sa.Column("line_id", sa.String(length=50), nullable=True),
        sa.Column("procedure", sa.String(length=48), nullable=True),
        sa.Column("provider_npi", sa.String(length=15), nullable=True),
        sa.Column("category", sa.String(length=3), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("entity", sa.String(length=3), nullable=False),
        sa.Column("status_date", sa.Date(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("payer_claim_control_number", sa.String(length=50), nullable=True),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("service_line_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=10), nullable=True),
        sa.Column("basis", sa.String(length=12), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledgment_id"],
            ["acknowledgment.id"],
            name=op.f("fk_claim_status_acknowledgment_id_acknowledgment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_claim_status_claim_id_claim"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["service_line_id"],
            ["service_line.id"],
            name=op.f("fk_claim_status_service_line_id_service_line"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_status")),
    )
    with op.batch_alter_table("claim_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_status_acknowledgment_id"), ["acknowledgment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claim_status_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index("ix_claim_status_pcn", ["patient_control_number"], unique=False)

    op.create_table(
        "set_error",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_status_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.String(length=3), nullable=False),
        sa.Column("segment_position", sa.String(length=10), nullable=False),
        sa.Column("loop", sa.String(length=6), nullable=True),
        sa.Column("segment_code", sa.String(length=3), nullable=False),
        sa.Column("element_position", sa.String(length=10), nullable=True),
        sa.Column("element_reference", sa.String(length=6), nullable=True),
        sa.Column("element_code", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["set_status_id"], ["set_status.id"], name=op.f("fk_set_error_set_status_id_set_status"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_set_error")),
    )
    with op.batch_alter_table("set_error", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_set_error_set_status_id"), ["set_status_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("set_error", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_set_error_set_status_id"))

    op.drop_table("set_error")
    with op.batch_alter_table("claim_status", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_status_pcn")
        batch_op.drop_index(batch_op.f("ix_claim_status_claim_id"))
        batch_op.drop_index(batch_op.f("ix_claim_status_acknowledgment_id"))

    op.drop_table("claim_status")
    with op.batch_alter_table("set_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_set_status_sent_set_id"))
        batch_op.drop_index(batch_op.f("ix_set_status_acknowledgment_id"))

    op.drop_table("set_status")
    with op.batch_alter_table("sent_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_set_file_id"))
        batch_op.drop_index("ix_sent_set_controls")

    op.drop_table("sent_set")
    with op.batch_alter_table("acknowledgment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acknowledgment_file_id"))

    op.drop_table("acknowledgment")
