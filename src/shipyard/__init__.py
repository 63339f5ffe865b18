"""Shipyard: ML models that ship like software.

Track runs locally (SQLite + a folder, no server) or against a hub (``SHIPYARD_TRACKING_URI=http://host:port``)::

    import shipyard

    with shipyard.start_run(experiment="churn") as run:
        run.log_params({"model": "rf", "depth": 8})
        for epoch in range(10):
            run.log_metric("loss", 1 / (epoch + 1), step=epoch)
        run.log_dataset(train_df, name="churn", role="train")  # versioned by content, profiled
        run.log_model(clf, input_example=X_test[:5], registered_model_name="churn")

    model = shipyard.load_model("models:/churn/latest")   # checks its input, then predicts

    client = shipyard.Client()
    best = client.search_runs(["churn"], filter='params.model = "rf"', order_by=["metrics.loss ASC"])
"""

from shipyard.domain.tracking import Metric, MetricBatch, RunStatus
from shipyard.errors import (
    AlreadyExists,
    Conflict,
    FlushError,
    IntegrityError,
    InvalidArgument,
    MissingDependency,
    NotFound,
    PermissionDenied,
    ShipyardError,
    Unavailable,
)
from shipyard.sdk import (
    ActiveRun,
    Client,
    active_run,
    end_run,
    load_model,
    log_dataset,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    register_model,
    set_tag,
    start_run,
)
from shipyard.sdk.provenance import seed_everything

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "Client",
    "Conflict",
    "FlushError",
    "IntegrityError",
    "InvalidArgument",
    "Metric",
    "MetricBatch",
    "MissingDependency",
    "NotFound",
    "PermissionDenied",
    "RunStatus",
    "ShipyardError",
    "Unavailable",
    "__version__",
    "active_run",
    "end_run",
    "load_model",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "seed_everything",
    "set_tag",
    "start_run",
]
