"""shipyard deploy: Kubernetes manifests that run a model version's image."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli.common import TrackingOpt, client_for, command
from shipyard.cli.output import console

PORT = 8080


def _yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for plain data (dicts, lists, strings, numbers, booleans); strings are
    JSON-quoted, which YAML reads as the same strings."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{pad}{k}:\n{_yaml(v, indent + 1)}")
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict | list) and item:
                inner = _yaml(item, indent + 1).lstrip()
                lines.append(f"{pad}- {inner}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
        return "\n".join(lines)
    return pad + _scalar(value)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return json.dumps(str(v))


def manifests(
    name: str, version: int, image: str, *, replicas: int, max_replicas: int, cpu: str, memory: str, secret: str
) -> list[dict[str, Any]]:
    """Deployment, Service and HorizontalPodAutoscaler for one served model version."""
    app = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:50] or "model"
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/version": str(version), "shipyard.dev/model": name}
    probe = {"httpGet": {"path": "/v2/health/ready", "port": PORT}, "periodSeconds": 5, "failureThreshold": 3}
    container = {
        "name": "model",
        "image": image,
        "args": ["shipyard", "serve", f"{name}/{version}=bundle", "--host", "0.0.0.0", "--port", str(PORT)],  # noqa: S104
        "ports": [{"containerPort": PORT, "name": "http"}],
        "env": [{"name": "SHIPYARD_SERVE_API_KEYS", "valueFrom": {"secretKeyRef": {"name": secret, "key": "keys"}}}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "httpGet": {"path": "/v2/health/live", "port": PORT}, "periodSeconds": 10},
        "startupProbe": {**probe, "failureThreshold": 60},
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},  # let the Service stop routing first
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT)},
                },
                "spec": {"terminationGracePeriodSeconds": 40, "containers": [container]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "selector": {"app.kubernetes.io/name": app},
            "ports": [{"name": "http", "port": 80, "targetPort": PORT}],
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
            "minReplicas": replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }
    return [deployment, service, hpa]


@command
def deploy(
    ref: Annotated[str, typer.Argument(help="models:/NAME/VERSION or models:/NAME@ALIAS.")],
    target: Annotated[str, typer.Option("--target", help="Only k8s for now.")] = "k8s",
    output: Annotated[Path, typer.Option("--output", "-o", help="File for the manifests.")] = Path("deploy.yaml"),
    image: Annotated[
        str | None, typer.Option("--image", help="The image built from `shipyard models build` (default NAME:VERSION).")
    ] = None,
    replicas: Annotated[int, typer.Option("--replicas", min=1, help="Replicas (and the autoscaler's minimum).")] = 2,
    max_replicas: Annotated[int, typer.Option("--max-replicas", min=1, help="The autoscaler's maximum.")] = 10,
    cpu: Annotated[str, typer.Option("--cpu", help="CPU request per replica.")] = "1",
    memory: Annotated[str, typer.Option("--memory", help="Memory request and limit per replica.")] = "1Gi",
    secret_name: Annotated[
        str, typer.Option("--api-key-secret", help="Name of the Secret holding the API keys (key 'keys').")
    ] = "model-api-keys",  # noqa: S107 - the name of a Kubernetes Secret, not a secret
    tracking_uri: TrackingOpt = None,
) -> None:
    """Write Kubernetes manifests (Deployment with health probes, Service, HorizontalPodAutoscaler)
    that run a version's image, built with `shipyard models build`.

    Example: shipyard deploy models:/churn@production --target k8s -o churn.yaml --image registry/churn:3
    """
    if target != "k8s":
        raise typer.BadParameter("only k8s is supported", param_hint="--target")
    version = client_for(tracking_uri).get_model_version(ref)
    docs = manifests(
        version.name, version.version, image or f"{version.name.lower()}:{version.version}",
        replicas=replicas, max_replicas=max(max_replicas, replicas), cpu=cpu, memory=memory, secret=secret_name,
    )  # fmt: skip
    output.write_text("\n---\n".join(_yaml(d) for d in docs) + "\n", encoding="utf-8")
    console.print(f"Wrote {output}: Deployment, Service and HorizontalPodAutoscaler for {version.ref}.")
    create = f"kubectl create secret generic {secret_name} --from-literal=keys=$API_KEY"
    console.print(f"Next: {create} && kubectl apply -f {output}")
