"""the Default experiment (id 0) and logged models

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:30:00
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("experiment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_type", sa.String(length=250), server_default="", nullable=False),
        sa.Column("artifact_path", sa.String(length=1024), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("lifecycle", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name=op.f("fk_logged_models_experiment_id_experiments")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_logged_models_run_id_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logged_models")),
    )
    with op.batch_alter_table("logged_models", schema=None) as batch_op:
        batch_op.create_index("ix_logged_models_experiment", ["experiment_id", "created_at"], unique=False)
        batch_op.create_index("ix_logged_models_run", ["run_id"], unique=False)

    # The experiment runs land in when none is named: id 0, "Default", as MLflow clients expect.
    conn = op.get_bind()
    taken = conn.execute(sa.text("SELECT COUNT(*) FROM experiments WHERE id = 0 OR name = 'Default'")).scalar_one()
    if not taken:
        conn.execute(
            sa.text(
                "INSERT INTO experiments (id, name, description, lifecycle, created_at) "
                "VALUES (0, 'Default', '', 'active', :t)"
            ),
            {"t": int(time.time() * 1000)},
        )


def downgrade() -> None:
    op.execute(
        "DELETE FROM experiments WHERE id = 0 AND name = 'Default' "
        "AND NOT EXISTS (SELECT 1 FROM runs WHERE experiment_id = 0)"
    )
    with op.batch_alter_table("logged_models", schema=None) as batch_op:
        batch_op.drop_index("ix_logged_models_run")
        batch_op.drop_index("ix_logged_models_experiment")
    op.drop_table("logged_models")
