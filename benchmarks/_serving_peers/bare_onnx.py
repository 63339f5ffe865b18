"""The ceiling: the least work an HTTP endpoint in Python can do for this model.

One FastAPI POST route: parse the body with orjson, build a float32 NumPy array, run an onnxruntime
session, answer with orjson. No validation beyond what the array construction does, no metrics, no
batching. Served by uvicorn (httptools, uvloop, one worker, no access log).

Usage: python bare_onnx.py MODEL.onnx PORT [THREADS]

THREADS: onnxruntime's intra-op threads; "default" (the default) leaves onnxruntime's own choice,
as Shipyard's ONNX flavor does; "1" runs each call on the event loop's thread alone.
"""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

options = ort.SessionOptions()
threads = sys.argv[3] if len(sys.argv) > 3 else "default"
if threads != "default":
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name
label_name = session.get_outputs()[0].name
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.post("/predict")
async def predict(request: Request) -> Response:
    rows = np.asarray(orjson.loads(await request.body())["inputs"], dtype=np.float32)
    (labels,) = session.run([label_name], {input_name: rows})
    body = orjson.dumps({"predictions": labels}, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, media_type="application/json")


@app.get("/health")
async def health() -> Response:
    return Response(b'{"ok":true}', media_type="application/json")


if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[2]), workers=1, http="httptools", loop="uvloop",
        access_log=False, log_level="warning",
    )  # fmt: skip
