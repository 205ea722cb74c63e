"""The counseling record: plan (RPL), attendance, stages held, participation, notes,
evaluations, reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from server.db.schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _session_fk(table: str) -> list[SchemaItem]:
    return [
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f(f"fk_{table}_session_id_sessions"),
            ondelete="CASCADE",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False, server_default=""),
        sa.Column("topic_kind", sa.String(10), nullable=True),
        sa.Column("goals", sa.Text(), nullable=False, server_default=""),
        sa.Column("field", sa.String(10), nullable=True),
        sa.Column("materials", sa.Text(), nullable=False, server_default=""),
        sa.Column("evaluation_plan", sa.Text(), nullable=False, server_default=""),
        sa.Column("expected_members", sa.Text(), nullable=False, server_default=""),
        sa.Column("group_size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_plans_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_plans")),
        sa.CheckConstraint(
            "topic_kind IS NULL OR topic_kind IN ('assigned', 'free')",
            name=op.f("ck_plans_topic_kind"),
        ),
        sa.CheckConstraint(
            "field IS NULL OR field IN ('personal', 'social', 'learning', 'career')",
            name=op.f("ck_plans_field"),
        ),
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        *_session_fk("attendance"),
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("joined_at", UtcDateTime(), nullable=False),
        sa.Column("admitted_at", UtcDateTime(), nullable=True),
        sa.Column("left_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint("session_id", "participant", name="uq_attendance_session_participant"),
    )
    op.create_table(
        "stage_log",
        sa.Column("id", sa.Integer(), nullable=False),
        *_session_fk("stage_log"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("stage_key", sa.String(40), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_log")),
    )
    op.create_table(
        "participation",
        sa.Column("id", sa.Integer(), nullable=False),
        *_session_fk("participation"),
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("speaking_seconds", sa.Float(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("hands", sa.Integer(), nullable=False),
        sa.Column("chats", sa.Integer(), nullable=False),
        sa.Column("present_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation")),
        sa.UniqueConstraint(
            "session_id", "participant", name="uq_participation_session_participant"
        ),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        *_session_fk("notes"),
        sa.Column("participant", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        sa.UniqueConstraint("session_id", "participant", name="uq_notes_session_participant"),
    )
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        *_session_fk("evaluations"),
        sa.Column("participant", sa.String(32), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_evaluations_rating")),
    )
    op.create_table(
        "reports",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_reports_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_reports")),
    )
    for table in ("attendance", "stage_log", "participation", "notes", "evaluations"):
        op.create_index(op.f(f"ix_{table}_session_id"), table, ["session_id"])


def downgrade() -> None:
    for table in ("attendance", "stage_log", "participation", "notes", "evaluations"):
        op.drop_index(op.f(f"ix_{table}_session_id"), table_name=table)
    for table in (
        "reports",
        "evaluations",
        "notes",
        "participation",
        "stage_log",
        "attendance",
        "plans",
    ):
        op.drop_table(table)
