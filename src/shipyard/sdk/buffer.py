"""Background batching of metric points for remote mode.

``log_metric`` only appends to a list; a daemon thread sends batches every ``interval`` seconds (or
sooner when ``max_points`` are waiting). Failed sends are retried with backoff and the points stay
queued; if they still cannot be sent, the next :meth:`MetricBuffer.flush` (called at run end and at
interpreter exit) raises, saying how many points are unsent. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence

from shipyard.domain.tracking import Metric
from shipyard.errors import FlushError, Unavailable

__all__ = ["FlushError", "MetricBuffer"]

log = logging.getLogger("shipyard.sdk")

_SEND_CHUNK = 20_000
_RETRIABLE = (Unavailable, OSError)


class MetricBuffer:
    """Queues points for one run and sends them in batches on a background thread.

    Args:
        send: delivers a batch (raises on failure).
        interval: seconds between background sends.
        max_points: queued points that wake the sender early.
        max_queued: above this many queued points ``add`` blocks until the sender catches up
            (back-pressure instead of unbounded memory).
        retries: attempts per batch before the failure is kept for the next ``flush``.
    """

    def __init__(
        self,
        send: Callable[[Sequence[Metric]], None],
        *,
        interval: float = 0.5,
        max_points: int = 5_000,
        max_queued: int = 2_000_000,
        retries: int = 5,
    ) -> None:
        self._send = send
        self._interval = interval
        self._max_points = max_points
        self._max_queued = max_queued
        self._retries = retries
        self._queue: list[Metric] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._sending = False
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="shipyard-metric-flush", daemon=True)
        self._thread.start()
        _OPEN.add(self)

    def add(self, points: Sequence[Metric]) -> None:
        with self._cond:
            if self._closed:
                raise FlushError("this run's metric buffer is closed; the run has ended")
            while len(self._queue) >= self._max_queued and self._error is None:
                self._cond.notify_all()
                self._cond.wait(0.5)
            self._queue.extend(points)
            if len(self._queue) >= self._max_points:
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _take(self) -> list[Metric]:
        batch = self._queue[:_SEND_CHUNK]
        del self._queue[:_SEND_CHUNK]
        self._sending = True
        return batch

    def _deliver(self, batch: list[Metric], retries: int) -> BaseException | None:
        delay = 0.05
        for attempt in range(retries):
            try:
                self._send(batch)
                return None
            except _RETRIABLE as exc:
                if attempt == retries - 1:
                    return exc
                time.sleep(delay)
                delay = min(delay * 4, 2.0)
            except BaseException as exc:  # a 4xx: retrying will not help
                return exc
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._queue) < self._max_points:
                    if self._cond.wait(self._interval) is False:
                        break
                if self._closed:
                    return
                if not self._queue or self._error is not None:
                    continue
                batch = self._take()
            err = self._deliver(batch, self._retries)
            with self._cond:
                self._sending = False
                if err is not None:
                    self._queue[:0] = batch  # keep them, in order
                    self._error = err
                    log.warning("shipyard: %d metric points not yet delivered: %s", len(self._queue), err)
                self._cond.notify_all()

    def flush(self) -> None:
        """Send everything queued now, in the caller's thread; raises :class:`FlushError` if any
        point cannot be delivered (the points stay queued)."""
        while True:
            with self._cond:
                while self._sending:
                    self._cond.wait()
                if not self._queue:
                    self._error = None
                    return
                batch = self._take()
            err = self._deliver(batch, self._retries)
            with self._cond:
                self._sending = False
                self._cond.notify_all()
                if err is not None:
                    self._queue[:0] = batch
                    self._error = err
                    raise FlushError(
                        f"{len(self._queue)} metric points could not be sent to the hub: {err}. "
                        "They are kept in memory; call flush() again once the hub is reachable."
                    ) from err

    def close(self) -> None:
        """Flush, then stop the background thread (raises like :meth:`flush`)."""
        try:
            self.flush()
        finally:
            with self._cond:
                if not self._queue:
                    self._closed = True
                    self._cond.notify_all()
                    _OPEN.discard(self)


_OPEN: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()


def flush_all_at_exit() -> None:
    """Flush every open buffer; report (never hide) what could not be sent."""
    for buf in list(_OPEN):
        try:
            buf.close()
        except FlushError as exc:
            log.error("shipyard: at exit, %s", exc)
            import sys

            print(f"shipyard: at exit, {exc}", file=sys.stderr)
