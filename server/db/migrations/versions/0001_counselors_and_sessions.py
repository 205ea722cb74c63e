"""Counselors and sessions.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db.schema import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counselors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counselors")),
        sa.UniqueConstraint("username", name=op.f("uq_counselors_username")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(7), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("scheduled_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(10), server_default="planned", nullable=False),
        sa.Column("counselor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'open', 'ended')", name=op.f("ck_sessions_status")
        ),
        sa.ForeignKeyConstraint(
            ["counselor_id"],
            ["counselors.id"],
            name=op.f("fk_sessions_counselor_id_counselors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("code", name=op.f("uq_sessions_code")),
    )
    op.create_index(op.f("ix_sessions_counselor_id"), "sessions", ["counselor_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sessions_counselor_id"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("counselors")
