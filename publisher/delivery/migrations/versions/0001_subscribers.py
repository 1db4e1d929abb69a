"""The subscriber ledger: subscribers, their event log, suppressions, ledger-wide values.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("confirmed_at", UTC_TIME, nullable=True),
        sa.Column("consent_at", UTC_TIME, nullable=True),
        sa.Column("consent_method", sa.String(10), nullable=True),
        sa.Column("consent_source", sa.String(500), nullable=True),
        sa.Column("soft_bounces", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attributes", sa.JSON, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_subscribers_status", "subscribers", ["status"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("method", sa.String(10), nullable=True),
        sa.Column("source", sa.String(500), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_events_subscriber", "events", ["subscriber_id"])
    op.create_table(
        "suppressions",
        sa.Column("email_hash", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
    )
    meta = op.create_table(
        "ledger_meta",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    # The suppression salt belongs to the ledger, not to PUBLISHER_SECRET: rotating the secret
    # must never let a forgotten person be imported again.
    op.bulk_insert(meta, [{"key": "suppression_salt", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    for table in ("ledger_meta", "suppressions", "events", "subscribers"):
        op.drop_table(table)
