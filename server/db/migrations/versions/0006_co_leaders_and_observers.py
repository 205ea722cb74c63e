"""Co-counselors of a session, an observer password, and notes by author (issue 13).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.db.schema import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "co_leaders",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("counselor_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_co_leaders_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counselor_id"],
            ["counselors.id"],
            name=op.f("fk_co_leaders_counselor_id_counselors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "counselor_id", name=op.f("pk_co_leaders")),
    )
    op.create_index(op.f("ix_co_leaders_counselor_id"), "co_leaders", ["counselor_id"])
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("observer_password_hash", sa.String(255), nullable=True))
    with op.batch_alter_table("notes") as batch:
        batch.add_column(sa.Column("author", sa.String(32), nullable=False, server_default=""))
        batch.drop_constraint("uq_notes_session_participant", type_="unique")
        batch.create_unique_constraint(
            "uq_notes_session_author_participant", ["session_id", "author", "participant"]
        )


def downgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        batch.drop_constraint("uq_notes_session_author_participant", type_="unique")
        batch.execute(sa.text("DELETE FROM notes WHERE author != ''"))
        batch.create_unique_constraint(
            "uq_notes_session_participant", ["session_id", "participant"]
        )
        batch.drop_column("author")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("observer_password_hash")
    op.drop_index(op.f("ix_co_leaders_counselor_id"), table_name="co_leaders")
    op.drop_table("co_leaders")
