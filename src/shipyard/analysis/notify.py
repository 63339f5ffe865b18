"""Alert delivery: a webhook POST (Slack-compatible JSON: a ``text`` field, plus Shipyard's
details) and a command run with the payload on stdin. Standard library only; every failure is
reported back as (False, reason), never raised: an alert that cannot be delivered is recorded so."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Notifier"]


class Notifier:
    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def webhook(self, url: str, payload: Mapping[str, Any]) -> tuple[bool, str]:
        data = json.dumps(payload, default=str).encode()
        headers = {"Content-Type": "application/json"}
        req = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - http(s) checked by the rule
                return 200 <= resp.status < 300, f"webhook {resp.status}"
        except urllib.error.HTTPError as exc:
            return False, f"webhook {exc.code}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            return False, f"webhook failed: {exc}"

    def command(self, argv: Sequence[str], payload: Mapping[str, Any]) -> tuple[bool, str]:
        try:
            done = subprocess.run(
                list(argv), input=json.dumps(payload, default=str).encode(), capture_output=True, timeout=600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"command failed: {exc}"
        return done.returncode == 0, f"command exited {done.returncode}"
