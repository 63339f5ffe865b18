"""Adaptive micro-batching: concurrent requests to one model become one model call.

There is no fixed timer on the way in. When the model is idle a request is run at once (no added
latency at low load); while the model is busy, requests queue, and the next call takes everything
queued, up to ``max_batch`` rows. So the batch size follows the load by itself. Model calls run on
a thread pool, except for models measured to be faster than a thread hand-off (``inline_below``),
which run on the event loop directly. ``max_wait`` adds an
optional short wait to gather a fuller batch once at least one request is waiting. Past
``max_queue`` queued rows a request is refused at once (:class:`Overloaded`) rather than waiting
behind a queue that cannot drain in time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.errors import ModelError, Overloaded

__all__ = ["Batcher"]


@dataclass
class _Item:
    inputs: Any
    rows: int
    future: asyncio.Future[Any]


def _concat(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def _split(result: Any, sizes: list[int]) -> list[Any]:
    if len(sizes) == 1:
        return [result]
    bounds = np.cumsum(sizes)[:-1]
    if isinstance(result, dict):
        pieces = {k: np.split(np.asarray(v), bounds) for k, v in result.items()}
        return [{k: pieces[k][i] for k in pieces} for i in range(len(sizes))]
    module = type(result).__module__.split(".", 1)[0]
    if module == "pandas":
        starts = [0, *bounds.tolist()]
        return [result.iloc[a : a + n] for a, n in zip(starts, sizes, strict=True)]
    return np.split(np.asarray(result), bounds)


class Batcher:
    """Runs ``predict`` on ``pool`` for batches of queued requests (see the module docstring).

    ``observe(batch_rows, queue_rows)`` is called for every model call (for metrics).
    """

    def __init__(
        self,
        predict: Callable[[Any], Any],
        pool: ThreadPoolExecutor,
        *,
        max_batch: int = 64,
        max_wait: float = 0.0,
        max_queue: int = 2048,
        observe: Callable[[int, int], None] | None = None,
        inline_below: float = 0.0002,
    ) -> None:
        self.predict = predict
        self.pool = pool
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.observe = observe
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._running = False
        self.in_flight = 0
        self._task: asyncio.Task[None] | None = None
        # Seconds per model call, smoothed. A model this fast (an ONNX tree ensemble takes ~10 µs)
        # runs on the event loop itself: handing it to a thread would cost more than the call.
        self.call_seconds = float("inf")
        self.inline_below = inline_below

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    async def submit(self, inputs: Any, rows: int) -> Any:
        """The model's output for ``inputs`` (``rows`` rows), computed in some batch."""
        if self._queued_rows and self._queued_rows + rows > self.max_queue:  # one big request alone is fine
            raise Overloaded(f"the model's queue is full ({self._queued_rows} rows waiting); retry shortly")
        loop = asyncio.get_running_loop()
        item = _Item(inputs, rows, loop.create_future())
        self._queue.append(item)
        self._queued_rows += rows
        self.in_flight += 1
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._drain())
        try:
            return await item.future
        except asyncio.CancelledError:
            item.future.cancel()
            raise
        finally:
            self.in_flight -= 1

    def _timed(self, inputs: Any) -> tuple[Any, float]:
        """The model's output and how long the call itself took (no thread hand-off counted)."""
        started = time.perf_counter()
        result = self.predict(inputs)
        return result, time.perf_counter() - started

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        rows = 0
        dropped = 0
        while self._queue and (not batch or rows + self._queue[0].rows <= self.max_batch):
            item = self._queue.popleft()
            if item.future.done():  # its caller gave up (a timeout): do not compute it
                dropped += item.rows
                continue
            batch.append(item)
            rows += item.rows
        self._queued_rows -= rows + dropped
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                if self.max_wait > 0 and self._queued_rows < self.max_batch:
                    await asyncio.sleep(self.max_wait)
                batch = self._take()
                if not batch:
                    continue
                sizes = [i.rows for i in batch]
                if self.observe is not None:
                    self.observe(sum(sizes), self._queued_rows)
                try:
                    merged = _concat([i.inputs for i in batch])
                    if self.call_seconds < self.inline_below:
                        result, took = self._timed(merged)
                    else:
                        result, took = await loop.run_in_executor(self.pool, self._timed, merged)
                    self.call_seconds = (
                        took if self.call_seconds == float("inf") else 0.8 * self.call_seconds + 0.2 * took
                    )
                    parts = _split(result, sizes)
                except Exception as exc:  # the model raised: every request of this batch gets the error
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(ModelError(f"the model raised {type(exc).__name__}: {exc}"))
                    continue
                for item, part in zip(batch, parts, strict=True):
                    if not item.future.done():
                        item.future.set_result(part)
        finally:
            self._running = False
            if self._queue:  # a request arrived between the last check and here
                self._running = True
                self._task = loop.create_task(self._drain())
