"""Schemathesis generates requests from the hub's own OpenAPI document (valid and invalid data,
boundary values, stateful sequences): no request may get a server error.

Run through schemathesis' CLI: its pytest plugin does not load under pytest 9 yet.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from shipyard.testing import HubProcess


def test_no_generated_request_gets_a_server_error(hub: HubProcess, tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("schemathesis")
    out = subprocess.run(
        [
            str(cli),
            "run",
            f"{hub.url}/api/v1/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "20261122",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # schemathesis keeps a cache in its working directory
    )
    report = out.stdout + out.stderr
    assert out.returncode == 0, report[-4000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated is not None, report[-2000:]
    assert int(generated.group(1)) > 300  # it really exercised the API
    assert generated.group(1) == generated.group(2)
    assert "Unresolvable references" not in report  # the OpenAPI document is self-contained
