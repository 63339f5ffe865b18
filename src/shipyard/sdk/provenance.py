"""Provenance collectors: what :func:`shipyard.start_run` records about the code, the environment
and the machine, in the process that trains.

Each collector is a function ``(Context) -> CollectorResult``. Built-in ones cover git, the command,
Python, installed distributions and lock files, the platform, GPUs, containers, an allow-list of
environment variables and seeds; third parties add more under the entry point group
``shipyard.provenance``. A collector that raises is recorded as failed in the manifest; the run
goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shipyard.domain.provenance import CollectorResult, Manifest, is_secret_name, redact_env, redact_url
from shipyard.domain.tracking import now_ms
from shipyard.errors import InvalidArgument

__all__ = ["Context", "capture", "collectors", "seed_everything"]

Collector = Callable[["Context"], CollectorResult]

ENV_ALLOW = frozenset(
    {
        "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
        "CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC",
        "LANG", "LC_ALL", "TZ",
    }
)  # fmt: skip
LOCK_FILES = ("uv.lock", "poetry.lock", "Pipfile.lock", "pdm.lock", "conda-lock.yml", "environment.yml")
SOURCE_SUFFIXES = frozenset(
    {".py", ".ipynb", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".json", ".sql", ".sh", ".txt", ".md", ".r", ".jl"}
)
MAX_UNTRACKED_BYTES = 256 * 1024
_SEEDS: dict[str, int] = {}  # process-wide by nature: the RNGs it describes are process-wide too


@dataclass(frozen=True)
class Context:
    """Where the run starts: the working directory and the command line."""

    cwd: Path
    argv: list[str]

    @classmethod
    def current(cls) -> Context:
        return cls(Path.cwd(), list(sys.argv))


# ------------------------------------------------------------------------------------ collectors
def _git(args: list[str], cwd: Path, ok_codes: tuple[int, ...] = (0,)) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30, check=False)
    if out.returncode not in ok_codes:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.decode(errors='replace').strip()}")
    return out.stdout.decode(errors="replace")


def collect_git(ctx: Context) -> CollectorResult:
    """Commit, branch, remote (credentials stripped), dirty flag and the full diff of tracked files
    plus small untracked source files, as one patch that ``git apply`` takes."""
    if shutil.which("git") is None:
        return CollectorResult(reproducible={"available": False})
    inside = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=ctx.cwd, capture_output=True, check=False)
    if inside.returncode != 0:
        return CollectorResult(reproducible={"repository": False})
    root = Path(inside.stdout.decode().strip())
    commit = _git(["rev-parse", "HEAD"], root).strip()
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], root).strip()
    remotes = _git(["remote"], root).split()
    remote = ""
    if remotes:
        name = "origin" if "origin" in remotes else remotes[0]
        remote = redact_url(_git(["remote", "get-url", name], root).strip())
    patch = _git(["diff", "HEAD", "--binary"], root).encode()
    untracked = []
    for rel in _git(["ls-files", "--others", "--exclude-standard", "-z"], root).split("\0"):
        path = root / rel
        is_source = rel and path.suffix.lower() in SOURCE_SUFFIXES and path.is_file() and not path.is_symlink()
        if is_source and path.stat().st_size <= MAX_UNTRACKED_BYTES:
            untracked.append(rel)
            patch += _git(["diff", "--no-index", "--binary", "/dev/null", rel], root, ok_codes=(0, 1)).encode()
    dirty = bool(_git(["status", "--porcelain"], root).strip())
    reproducible: dict[str, Any] = {  # the branch names where the commit sat, not what it is: host part
        "commit": commit,
        "remote": remote,
        "dirty": dirty,
        "untracked_sources": sorted(untracked),
        "diff_sha256": hashlib.sha256(patch).hexdigest() if patch else None,
    }
    return CollectorResult(reproducible, {"root": str(root), "branch": branch}, {"code.diff": patch} if patch else {})


def collect_command(ctx: Context) -> CollectorResult:
    """The command line (secret-looking option values redacted) and the entry point."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    entry = f"-m {spec.name}" if spec is not None and spec.name else (ctx.argv[0] if ctx.argv else "")
    if entry and not entry.startswith("-m ") and Path(entry).is_absolute():
        with contextlib.suppress(ValueError):
            entry = str(Path(entry).relative_to(ctx.cwd))
    argv = _redact_argv(ctx.argv[1:])
    return CollectorResult({"entry_point": entry, "args": argv}, {"cwd": str(ctx.cwd), "argv0": ctx.argv[:1]})


def _redact_argv(args: list[str]) -> list[str]:
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append("<redacted>")
            hide_next = False
            continue
        name, eq, _value = arg.partition("=")
        if name.startswith("-") and is_secret_name(name):
            if eq:
                out.append(f"{name}=<redacted>")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(redact_url(arg) if "://" in arg else arg)
    return out


def collect_python(ctx: Context) -> CollectorResult:
    return CollectorResult(
        {"version": platform.python_version(), "implementation": platform.python_implementation()},
        {"executable": sys.executable, "prefix": sys.prefix},
    )


@cache
def _distributions() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(``name==version`` of every installed distribution, (name, local path) of those installed
    from a local folder or in editable mode: no package index has those)."""
    seen: dict[str, str] = {}
    local: dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        if not name:
            continue
        key = name.lower().replace("_", "-")
        seen[key] = f"{name}=={dist.version}"
        direct = dist.read_text("direct_url.json")
        if direct:
            url = json.loads(direct).get("url", "")
            if url.startswith("file://"):
                local[name] = unquote(urlsplit(url).path)
    return tuple(sorted(seen.values(), key=str.lower)), tuple(sorted(local.items()))


def collect_packages(ctx: Context) -> CollectorResult:
    """Every installed distribution (name==version) and the project's lock files, if any."""
    files: dict[str, bytes] = {}
    locks: dict[str, str] = {}
    roots = {ctx.cwd}
    if ctx.argv and Path(ctx.argv[0]).is_file():
        roots.add(Path(ctx.argv[0]).resolve().parent)
    for root in sorted(roots):
        candidates = [root / n for n in LOCK_FILES] + sorted(root.glob("requirements*.txt"))
        for path in candidates:
            if path.is_file() and path.name not in files:
                data = path.read_bytes()
                files[path.name] = data
                locks[path.name] = hashlib.sha256(data).hexdigest()
    dists, local = _distributions()
    return CollectorResult({"distributions": list(dists), "lock_files": locks}, {"local": dict(local)}, files)


@cache
def _platform() -> dict[str, Any]:
    info: dict[str, Any] = {
        "os": platform.system(),
        "release": platform.release(),
        "version": platform.version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "hostname": socket.gethostname(),
    }
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().split("\n", 1)[0].split()
        if len(first) >= 2 and first[1].isdigit():
            info["memory_bytes"] = int(first[1]) * 1024
    return info


def collect_platform(ctx: Context) -> CollectorResult:
    return CollectorResult({}, dict(_platform()))


def collect_gpu(ctx: Context) -> CollectorResult:
    """GPUs from nvidia-smi, and CUDA/cuDNN as the already-imported framework reports them."""
    gpus: list[dict[str, str]] = []
    if shutil.which("nvidia-smi"):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        for line in out.stdout.decode(errors="replace").splitlines():
            name, _, rest = line.partition(",")
            driver, _, memory = rest.partition(",")
            gpus.append({"name": name.strip(), "driver": driver.strip(), "memory": memory.strip()})
    host: dict[str, Any] = {"gpus": gpus}
    torch = sys.modules.get("torch")  # never imported here: too heavy to pay for when unused
    if torch is not None:
        host["torch_cuda"] = getattr(torch.version, "cuda", None)
        backends = getattr(torch, "backends", None)
        cudnn = getattr(backends, "cudnn", None)
        host["cudnn"] = cudnn.version() if cudnn is not None and cudnn.is_available() else None
    return CollectorResult({}, host)


def collect_container(ctx: Context) -> CollectorResult:
    """Whether we run in a container, and the image digest when the platform exposes it."""
    in_container = Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()
    cgroup = Path("/proc/1/cgroup")
    if not in_container and cgroup.exists():
        text = cgroup.read_text(errors="replace")
        in_container = any(k in text for k in ("docker", "kubepods", "containerd", "libpod"))
    digest = os.environ.get("SHIPYARD_IMAGE_DIGEST") or os.environ.get("IMAGE_DIGEST")
    reproducible = {"image_digest": digest} if digest else {}
    return CollectorResult(reproducible, {"in_container": in_container})


def collect_env(ctx: Context) -> CollectorResult:
    """Allow-listed variables that change results (threads, determinism, locale), secrets redacted."""
    return CollectorResult({"variables": redact_env(os.environ, ENV_ALLOW)}, {})


def collect_seeds(ctx: Context) -> CollectorResult:
    return CollectorResult({"seeds": dict(sorted(_SEEDS.items()))} if _SEEDS else {}, {})


BUILTIN: dict[str, Collector] = {
    "git": collect_git,
    "command": collect_command,
    "python": collect_python,
    "packages": collect_packages,
    "platform": collect_platform,
    "gpu": collect_gpu,
    "container": collect_container,
    "env": collect_env,
    "seeds": collect_seeds,
}


@cache
def collectors() -> dict[str, Collector]:
    """Built-in collectors plus those registered under the ``shipyard.provenance`` entry points
    (a plugin that fails to load is reported as a failed collector). Looked up once per process."""
    found: dict[str, Collector] = dict(BUILTIN)
    for ep in metadata.entry_points(group="shipyard.provenance"):
        try:
            found.setdefault(ep.name, ep.load())
        except Exception as exc:
            found.setdefault(ep.name, _failing(f"cannot load {ep.value}: {exc}"))
    return found


def _failing(message: str) -> Collector:
    def collector(ctx: Context) -> CollectorResult:
        raise RuntimeError(message)

    return collector


def capture(ctx: Context | None = None, only: dict[str, Collector] | None = None) -> tuple[Manifest, dict[str, bytes]]:
    """Run every collector; returns the manifest and the files to store (``<collector>/<name>``)."""
    ctx = ctx or Context.current()
    reproducible: dict[str, Any] = {}
    host: dict[str, Any] = {}
    status: dict[str, dict[str, Any]] = {}
    files: dict[str, bytes] = {}
    for name, collector in sorted((only or collectors()).items()):
        t0 = time.perf_counter()
        try:
            result = collector(ctx)
        except Exception as exc:  # recorded, never fatal
            status[name] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500]}
            continue
        status[name] = {"status": "ok", "seconds": round(time.perf_counter() - t0, 4)}
        if result.reproducible:
            reproducible[name] = result.reproducible
        if result.host:
            host[name] = result.host
        for fname, data in result.files.items():
            files[f"{name}/{fname}"] = data
    return Manifest(reproducible, host, status, now_ms()), files


def seed_everything(seed: int) -> int:
    """Seed Python's ``random``, NumPy and PyTorch (each when installed) with ``seed``, and record
    it so that runs started afterwards list it in their manifest. Returns ``seed``.

    Example:
        >>> import shipyard
        >>> shipyard.seed_everything(42)
        42
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InvalidArgument("a seed is an integer in [0, 2**32)", field="seed")
    random.seed(seed)
    _SEEDS["python"] = seed
    os.environ["PYTHONHASHSEED"] = str(seed)  # takes effect in child processes
    if _installed("numpy"):
        import numpy

        numpy.random.seed(seed)
        _SEEDS["numpy"] = seed
    if _installed("torch"):
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
        _SEEDS["torch"] = seed
    return seed


def _installed(module: str) -> bool:
    return module in sys.modules or importlib.util.find_spec(module) is not None
