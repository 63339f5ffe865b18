"""The Python SDK: :class:`Client` and the fluent helpers."""

from shipyard.sdk.client import Client
from shipyard.sdk.fluent import (
    ActiveRun,
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

__all__ = [
    "ActiveRun",
    "Client",
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
    "set_tag",
    "start_run",
]
