"""Tables of the metadata database. Alembic migrations under ``migrations/`` create them; a test
checks that the migrated schema matches these definitions on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

BigInt = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", BigInt, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(250), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("lifecycle", sa.String(16), nullable=False, server_default="active"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column("experiment_id", BigInt, sa.ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("experiment_id", BigInt, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("parent_run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_by", sa.String(250), nullable=False, server_default=""),
    sa.Column("lifecycle", sa.String(16), nullable=False, server_default="active"),
    sa.Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    sa.Index("ix_runs_parent", "parent_run_id"),
)

params = sa.Table(
    "params",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_params_key_value", "key", "run_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tags_key_run", "key", "run_id"),
)

# value NULL means NaN: SQLite cannot store NaN, so both dialects use the same encoding.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", BigInt, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double, nullable=True),
    sa.Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Double, nullable=True),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_artifacts_digest", "digest"),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", BigInt, primary_key=True, autoincrement=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("principal", sa.String(250), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(64), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_audit_target", "target_type", "target_id"),
)

# A dataset version is named by its content digest; the same content logged twice is one row.
dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("schema", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),
    sa.Column("blob", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False, server_default=""),
)

# Lineage: which run used which version, under which name and role.
run_inputs = sa.Table(
    "run_inputs",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),
    sa.Column("digest", sa.String(64), sa.ForeignKey("dataset_versions.digest"), nullable=False),
    sa.Column("logged_at", sa.BigInteger, nullable=False),
    sa.Index("ix_run_inputs_digest", "digest"),
    sa.Index("ix_run_inputs_name_logged", "name", "logged_at"),
)

# The model registry. latest_version is the version counter (incremented in the creating
# transaction, so concurrent registrations get distinct numbers on both dialects).
registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("latest_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False, server_default=""),
)

model_tags = sa.Table(
    "model_tags",
    metadata,
    sa.Column("name", sa.String(250), sa.ForeignKey("registered_models.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.String(250), sa.ForeignKey("registered_models.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("artifact_path", sa.String(1024), nullable=False),
    sa.Column("bundle_digest", sa.String(64), nullable=False),
    sa.Column("flavor", sa.String(64), nullable=False),
    sa.Column("signature", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("variants", sa.JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False, server_default=""),
    sa.Index("ix_model_versions_run", "run_id"),
)

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE"),
)

# An alias is one row: moving it is one UPDATE, so a reader sees the old or the new version.
model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE"),
)

# A model logged by a run before (or without) registration: MLflow 3's "logged model". Its files
# are artifacts of ``run_id`` under ``artifact_path``; tags and params are small JSON maps.
logged_models = sa.Table(
    "logged_models",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("experiment_id", BigInt, sa.ForeignKey("experiments.id"), nullable=False),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("model_type", sa.String(250), nullable=False, server_default=""),
    sa.Column("artifact_path", sa.String(1024), nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("lifecycle", sa.String(16), nullable=False, server_default="active"),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_logged_models_experiment", "experiment_id", "created_at"),
    sa.Index("ix_logged_models_run", "run_id"),
)

# Monitoring. A monitor's spec (features, window, tests, thresholds, reference) is one JSON value;
# next_run_at is claimed with a conditional UPDATE so that several hubs never run it twice.
monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("model", sa.String(250), nullable=False),
    sa.Column("version", sa.String(32), nullable=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("every_seconds", sa.Integer, nullable=True),
    sa.Column("next_run_at", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(250), nullable=False, server_default=""),
    sa.Index("ix_monitors_next_run", "next_run_at"),
)

monitor_results = sa.Table(
    "monitor_results",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("monitor_id", sa.String(32), sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("computed_at", sa.BigInteger, nullable=False),
    sa.Column("drifted", sa.JSON, nullable=False),
    sa.Column("features", sa.Integer, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("body_digest", sa.String(64), nullable=False),
    sa.Column("report_digest", sa.String(64), nullable=False, server_default=""),
    sa.Index("ix_monitor_results_monitor_computed", "monitor_id", "computed_at"),
)

alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("monitor_id", sa.String(32), sa.ForeignKey("monitors.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("threshold", sa.Double, nullable=False),
    sa.Column("metric", sa.String(64), nullable=True),
    sa.Column("webhook", sa.Text, nullable=True),
    sa.Column("command", sa.JSON, nullable=False),
    sa.Column("cooldown_seconds", sa.Integer, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("last_fired_at", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("rule_id", sa.String(32), sa.ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    sa.Column("monitor_id", sa.String(32), nullable=False),
    sa.Column("result_id", sa.String(32), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("delivered", sa.Boolean, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_alerts_monitor_at", "monitor_id", "at"),
)

# Delayed ground truth: the true outcome of one logged row, posted when it is known.
labels = sa.Table(
    "labels",
    metadata,
    sa.Column("model", sa.String(250), primary_key=True),
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("value_num", sa.Double, nullable=True),
    sa.Column("value_text", sa.Text, nullable=True),
    sa.Column("at", sa.BigInteger, nullable=False),
)
