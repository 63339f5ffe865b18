"""shipyard serve"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from shipyard.cli.common import TrackingOpt, command
from shipyard.cli.output import console


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@command
def serve(
    sources: Annotated[
        list[str], typer.Argument(help="models:/NAME@ALIAS, models:/NAME/3, or a bundle folder (NAME=PATH to name it).")
    ],
    host: Annotated[str, typer.Option("--host", help="Address to bind; beyond loopback an API key is required.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8080,
    api_key: Annotated[
        list[str] | None,
        typer.Option("--api-key", envvar="SHIPYARD_SERVE_API_KEYS", help="Accepted Bearer key (repeatable)."),
    ] = None,
    max_batch: Annotated[int, typer.Option("--max-batch", min=1, help="Most rows per model call.")] = 64,
    max_wait_ms: Annotated[
        float, typer.Option("--max-wait-ms", min=0.0, help="Wait this long to fill a batch (0: adaptive only).")
    ] = 0.0,
    max_queue: Annotated[int, typer.Option("--max-queue", min=1, help="Rows queued per model before 503.")] = 2048,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Threads running model calls.")] = 2,
    onnx: Annotated[
        bool, typer.Option("--onnx/--no-onnx", help="Use a version's ONNX export when it passed parity.")
    ] = (True),
    trust: Annotated[bool, typer.Option("--trust", help="Allow loading pickled models.")] = False,
    log_uri: Annotated[
        str | None,
        typer.Option(
            "--log-uri",
            help="Where the inference log goes: a folder or s3://bucket/prefix. Default <home>/inference-log.",
        ),
    ] = None,
    log_sample: Annotated[
        float, typer.Option("--log-sample", min=0.0, max=1.0, help="Share of requests recorded in the inference log.")
    ] = 1.0,
    route: Annotated[
        list[str] | None,
        typer.Option("--route", help="Split traffic between served versions: NAME=3:90,4:10 (repeatable)."),
    ] = None,
    shadow: Annotated[
        list[str] | None,
        typer.Option("--shadow", help="Mirror every request to a version, answer from the routed one: NAME=4."),
    ] = None,
    sticky_header: Annotated[
        str | None,
        typer.Option("--sticky-header", help="Requests with the same value of this header get the same version."),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, help="Seconds before a request gets 504.")] = 30.0,
    access_log: Annotated[bool, typer.Option("--access-log", help="One JSON line per request on stdout.")] = False,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.05, help="Seconds between checks that an alias has moved.")
    ] = 5.0,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Serve models over the Open Inference Protocol (/v2/...) and plain JSON (/predict/NAME).

    Prometheus metrics at /metrics, health at /v2/health/live and /ready, an OpenAPI document at
    /openapi.json. Requests to a model are batched adaptively: while it is busy, the requests that
    arrive are merged into its next call. An alias (models:/NAME@ALIAS) is followed: when it moves,
    the new version is loaded and warmed, then swapped in; requests in flight finish on the old one.

    Example: shipyard serve models:/churn@production --port 8080
    """
    import uvicorn

    from shipyard import __version__
    from shipyard.config import Settings
    from shipyard.inference.app import InferenceApp
    from shipyard.inference.request_log import RequestLog
    from shipyard.inference.serving import (
        Metrics,
        ModelSet,
        ServeOptions,
        Watcher,
        load_sources,
        parse_route,
        warm,
    )
    from shipyard.sdk.client import Client
    from shipyard.stores.artifacts import open_artifact_store

    keys = [k for value in api_key or () for k in value.split(",") if k.strip()]
    if not keys and not _loopback(host):
        raise typer.BadParameter(
            f"binding {host} without an API key would expose the models to anyone; pass --api-key", param_hint="--host"
        )
    options = ServeOptions(
        max_batch=max_batch, max_wait=max_wait_ms / 1000, max_queue=max_queue, threads=threads, prefer_onnx=onnx,
        trust=trust, poll_interval=poll_interval,
    )  # fmt: skip
    client = Client(tracking_uri) if any(s.startswith("models:/") for s in sources) else None
    models = ModelSet(options, Metrics())
    watchers = []
    for name, version, model, source, variant in load_sources(sources, options, client):
        warm(models.add(name, version, model, source, variant).model)
        if client is not None and source.startswith("models:/") and ("@" in source or source.endswith("/latest")):
            watchers.append(Watcher(models, client, source, name, version))  # follows the alias, no downtime
        using = f" (its {variant} export)" if variant else ""
        console.print(f"serving [bold]{name}[/bold] v{version} from {source}{using}: {model.flavor}")
    for text in route or ():
        models.set_route(*parse_route(text))
    for text in shadow or ():
        shadow_name, _, shadow_version = text.partition("=")
        models.set_shadow(shadow_name, shadow_version)
    request_log = None
    if log_sample > 0:
        settings = Settings.load()
        uri = log_uri or settings.resolved_inference_log_uri()
        store = open_artifact_store(uri, s3_endpoint_url=settings.s3_endpoint_url)
        request_log = RequestLog(store, sample=log_sample)
        models.metrics.watch_log(request_log)
        console.print(f"inference log: {uri} (sampling {log_sample:.0%})")
    app = InferenceApp(
        models, server_version=__version__, api_keys=keys, watchers=watchers, request_log=request_log,
        sticky_header=sticky_header, timeout=timeout, access_log=access_log,
    )  # fmt: skip
    if access_log:
        import logging
        import sys

        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger("shipyard.access")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    console.print(f"listening on http://{host}:{port}  (try: curl http://{host}:{port}/v2/models/{name})")
    uvicorn.run(
        app, host=host, port=port, log_level="warning", access_log=False, http="httptools", loop="uvloop",
        timeout_graceful_shutdown=30,
    )  # fmt: skip
