"""Logins as rows, so that logging out revokes a cookie (issue 14).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db.schema import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logins",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("counselor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["counselor_id"],
            ["counselors.id"],
            name=op.f("fk_logins_counselor_id_counselors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_logins")),
    )
    op.create_index(op.f("ix_logins_counselor_id"), "logins", ["counselor_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_logins_counselor_id"), table_name="logins")
    op.drop_table("logins")
