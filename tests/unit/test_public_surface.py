"""The public SDK surface is deliberate, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import shipyard

EXPECTED = {
    "ActiveRun",
    "AlreadyExists",
    "Client",
    "Conflict",
    "FlushError",
    "IntegrityError",
    "Metric",
    "MetricBatch",
    "InvalidArgument",
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
    "log_model",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "register_model",
    "seed_everything",
    "set_tag",
    "start_run",
}


def test_exported_names_snapshot() -> None:
    assert set(shipyard.__all__) == EXPECTED
    for name in shipyard.__all__:
        assert hasattr(shipyard, name)


def test_import_pulls_in_no_server_database_or_ml_framework() -> None:
    code = (
        "import sys, shipyard; heavy = ['fastapi', 'starlette', 'uvicorn', 'sqlalchemy', 'alembic', 'boto3', "
        "'httpx', 'urllib3', 'sklearn', 'torch', 'numpy', 'pyarrow', 'typer']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_errors_have_stable_codes_and_http_statuses() -> None:
    from shipyard import errors

    table = {cls.code: cls.http_status for cls in errors.ShipyardError.__subclasses__()}
    assert table["NOT_FOUND"] == 404
    assert table["INVALID_ARGUMENT"] == 400
    assert table["CONFLICT"] == 409
    assert issubclass(errors.NotFound, LookupError)
    assert issubclass(errors.InvalidArgument, ValueError)
    assert issubclass(errors.MissingDependency, ImportError)
    assert "pip install 'shipyard[s3]'" in str(errors.MissingDependency("boto3", "s3"))
    for code in table:
        assert errors.error_class_for_code(code).code == code
