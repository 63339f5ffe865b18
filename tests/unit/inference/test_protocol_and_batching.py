"""The Open Inference Protocol codec and the adaptive batcher, without a server."""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from shipyard.domain.signature import ColumnSpec, Signature, TensorSpec
from shipyard.errors import InvalidArgument, ModelError, Overloaded
from shipyard.inference.batching import Batcher
from shipyard.inference.protocol import DATATYPES, decode_infer, decode_predict, encode_infer

NUMERIC = {k: v for k, v in DATATYPES.items() if k not in ("BYTES", "FP16")}


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(NUMERIC)), st.data())
def test_tensors_round_trip_as_json_and_as_binary(datatype: str, data: st.DataObject) -> None:
    arr = data.draw(hnp.arrays(NUMERIC[datatype], hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)))
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr)  # JSON has no NaN
    sig = Signature(TensorSpec(arr.dtype.name, (-1, *arr.shape[1:])))
    as_json = orjson.dumps(
        {"inputs": [{"name": "x", "datatype": datatype, "shape": list(arr.shape), "data": arr.ravel().tolist()}]}
    )
    np.testing.assert_array_equal(decode_infer(as_json, sig).inputs, arr)
    head = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": datatype,
                    "shape": list(arr.shape),
                    "parameters": {"binary_data_size": arr.nbytes},
                }
            ]
        }
    )
    decoded = decode_infer(head + arr.tobytes(), sig, header_length=len(head))
    np.testing.assert_array_equal(decoded.inputs, arr)
    assert decoded.rows == arr.shape[0]


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_body_decodes_or_is_an_invalid_argument(body: bytes) -> None:
    sig = Signature((ColumnSpec("a", "float64"), ColumnSpec("b", "float64")))
    for decode in (lambda b: decode_infer(b, sig), decode_predict):
        with contextlib.suppress(InvalidArgument):  # anything else (a TypeError, a KeyError) fails the test
            decode(body)


def test_columns_one_matrix_and_binary_outputs() -> None:
    sig = Signature((ColumnSpec("a", "float64"), ColumnSpec("b", "float64")))
    per_column = orjson.dumps(
        {"id": "7", "inputs": [
            {"name": "a", "datatype": "FP64", "shape": [2], "data": [1, 2]},
            {"name": "b", "datatype": "FP64", "shape": [2, 1], "data": [3, 4]},
        ], "outputs": [{"name": "predict", "parameters": {"binary_data": True}}]}
    )  # fmt: skip
    decoded = decode_infer(per_column, sig)
    assert decoded.rows == 2 and list(decoded.inputs) == ["a", "b"] and decoded.inputs["b"].tolist() == [3, 4]
    body, head = encode_infer("m", "1", np.array([0.5, 1.5]), decoded)
    assert head is not None
    doc = orjson.loads(body[:head])
    assert doc["id"] == "7" and doc["outputs"][0]["parameters"]["binary_data_size"] == 16
    assert np.frombuffer(body[head:], dtype=np.float64).tolist() == [0.5, 1.5]
    matrix = orjson.dumps({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 2], "data": [5, 6]}]})
    assert decode_infer(matrix, sig).inputs["b"].tolist() == [6]
    with pytest.raises(InvalidArgument):
        decode_infer(
            orjson.dumps({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]}), sig
        )
    with pytest.raises(InvalidArgument) as err:
        decode_infer(orjson.dumps({"inputs": [{"name": "a", "datatype": "FP64", "shape": [3], "data": [1, 2]}]}), sig)
    assert err.value.field == "a"


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_concurrent_requests_share_model_calls_and_get_their_own_rows() -> None:
    calls: list[int] = []

    def predict(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        import time

        time.sleep(0.01)
        return x * 10

    async def main() -> list[Any]:
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher(predict, pool, max_batch=64)
            return await asyncio.gather(*(batcher.submit(np.array([[i], [i + 0.5]]), 2) for i in range(40)))

    results = _run(main())
    for i, r in enumerate(results):
        assert r.tolist() == [[i * 10], [(i + 0.5) * 10]]
    assert sum(calls) == 80 and len(calls) < 40 and max(calls) <= 64  # merged, never past max_batch


def test_a_raising_model_fails_its_batch_only_and_a_full_queue_refuses() -> None:
    def predict(x: np.ndarray) -> np.ndarray:
        if (x < 0).any():
            raise ValueError("negative")
        return x

    async def main() -> None:
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher(predict, pool, max_batch=1, max_queue=3)
            bad = batcher.submit(np.array([-1.0]), 1)
            good = [batcher.submit(np.array([float(i)]), 1) for i in range(3)]
            results = await asyncio.gather(bad, *good, return_exceptions=True)
            assert isinstance(results[0], ModelError) and "negative" in str(results[0])
            assert [r.tolist() for r in results[1:] if not isinstance(r, BaseException)] == [[0.0], [1.0]]
            assert isinstance(results[3], Overloaded)  # 3 rows were queued behind the running call
            assert (await batcher.submit(np.array([9.0]), 1)).tolist() == [9.0]  # and it recovers

    _run(main())


def test_fast_models_run_on_the_loop_and_slow_ones_on_the_pool() -> None:
    import threading
    import time

    def make(delay: float) -> tuple[Any, list[str]]:
        threads: list[str] = []

        def predict(x: np.ndarray) -> np.ndarray:
            threads.append(threading.current_thread().name)
            if delay:
                time.sleep(delay)
            return x

        return predict, threads

    async def main() -> tuple[list[str], list[str], str]:
        loop_thread = threading.current_thread().name
        with ThreadPoolExecutor(1, thread_name_prefix="pool") as pool:
            fast, fast_threads = make(0.0)
            slow, slow_threads = make(0.002)
            fast_batcher, slow_batcher = Batcher(fast, pool), Batcher(slow, pool)
            for i in range(5):
                await fast_batcher.submit(np.array([float(i)]), 1)
                await slow_batcher.submit(np.array([float(i)]), 1)
        return fast_threads, slow_threads, loop_thread

    fast_threads, slow_threads, loop_thread = _run(main())
    assert fast_threads[0].startswith("pool")  # the first call is measured on the pool
    assert all(t == loop_thread for t in fast_threads[1:])  # then it is cheaper to call it inline
    assert all(t.startswith("pool") for t in slow_threads)
