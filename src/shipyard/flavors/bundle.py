"""Writing, verifying, archiving and loading bundles (see :mod:`shipyard.domain.bundle`)."""

from __future__ import annotations

import hashlib
import platform
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from shipyard.domain.bundle import MANIFEST, BundleManifest, FileEntry, check_bundle_files
from shipyard.domain.signature import Signature
from shipyard.errors import IntegrityError, InvalidArgument
from shipyard.flavors.base import Flavor, Predictor, flavor_for, get_flavor, pins
from shipyard.flavors.signature import as_columns, enforce, infer_signature, infer_spec

__all__ = ["LoadedModel", "bundle_files", "load_bundle", "pack_bundle", "save_bundle", "unpack_bundle", "verify_bundle"]

INPUT_EXAMPLE = "input_example.json"
MODEL_DIR = "model"
CARD = "MODEL_CARD.md"
MAX_EXAMPLE_ROWS = 20


class LoadedModel:
    """A bundle loaded for use: call it (or :meth:`predict`) with a table or tensor; the input is
    checked against the signature first, so a missing column or a wrong type is an error naming the
    column, never a silent cast."""

    def __init__(self, manifest: BundleManifest, predictor: Predictor, root: Path) -> None:
        self.manifest = manifest
        self.predictor = predictor
        self.root = root
        self.signature = Signature.from_dict(manifest.signature) if manifest.signature else None

    @property
    def flavor(self) -> str:
        return self.manifest.flavor

    @property
    def digest(self) -> str:
        return self.manifest.digest

    def check(self, data: Any) -> Any:
        """``data`` as the model will receive it (validated and widened), without predicting."""
        if self.signature is None:
            return data
        return enforce(self.signature, data)

    def predict(self, data: Any) -> Any:
        return self.predictor.predict(self.check(data))

    def predict_proba(self, data: Any) -> Any:
        method = getattr(self.predictor, "predict_proba", None)
        if method is None:
            raise InvalidArgument(f"this {self.flavor} model has no predict_proba", field="method")
        return method(self.check(data))

    __call__ = predict

    def input_example(self) -> Any:
        """The stored input example, as columns or an array (``None`` if the bundle has none)."""
        if self.manifest.input_example is None:
            return None
        return read_example((self.root / self.manifest.input_example).read_bytes())

    def __repr__(self) -> str:
        return f"<LoadedModel {self.flavor} sha256:{self.digest[:12]}>"


def _file_entry(path: Path) -> FileEntry:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return FileEntry(h.hexdigest(), path.stat().st_size)


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise IntegrityError(f"bundle file {path.relative_to(root).as_posix()!r} is a symlink")
        if path.is_file():
            yield path.relative_to(root).as_posix(), path


def write_example(example: Any) -> bytes:
    """An input example as JSON: ``{"columns": {name: [...]}}`` or ``{"tensor": [...], "dtype"}``.
    At most ``MAX_EXAMPLE_ROWS`` rows are kept."""
    spec = infer_spec(example)
    opts = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS
    if isinstance(example, np.ndarray) or not isinstance(spec, tuple):
        arr = np.asarray(example)[:MAX_EXAMPLE_ROWS]
        return orjson.dumps({"tensor": arr.tolist(), "dtype": str(arr.dtype)}, option=opts)
    cols = as_columns(example)
    return orjson.dumps({"columns": {k: _plain(v[:MAX_EXAMPLE_ROWS]) for k, v in cols.items()}}, option=opts)


def _plain(values: np.ndarray) -> list[Any]:
    if values.dtype.kind == "M":
        return [None if np.isnat(v) else str(v) for v in values]
    return [None if isinstance(v, float) and v != v else v for v in values.tolist()]


def read_example(raw: bytes) -> Any:
    doc = orjson.loads(raw)
    if "tensor" in doc:
        return np.asarray(doc["tensor"], dtype=doc.get("dtype"))
    return {
        k: np.asarray(v, dtype=object if any(x is None or isinstance(x, str) for x in v) else None)
        for k, v in doc["columns"].items()
    }


def save_bundle(
    model: Any,
    dest: Path,
    *,
    flavor: str | None = None,
    input_example: Any = None,
    signature: Signature | None = None,
    card: str | None = None,
    requirements: tuple[str, ...] = (),
) -> BundleManifest:
    """Write ``model`` as a bundle into the new folder ``dest`` and return its manifest.

    The signature is inferred from ``input_example`` (and from the model's output on it) unless
    given; the example's first rows are stored. The model is loaded back and called on the example
    before the manifest is written, so a bundle that cannot predict is never produced.
    """
    if dest.exists() and any(dest.iterdir()):
        raise InvalidArgument(f"{dest} is not empty", field="dest")
    fl: Flavor = get_flavor(flavor) if flavor else flavor_for(model)
    (dest / MODEL_DIR).mkdir(parents=True)
    checked = None
    if input_example is not None and signature is None:
        signature = infer_signature(input_example)
    if input_example is not None and signature is not None:
        checked = enforce(signature, input_example)
    saved = fl.save(model, dest / MODEL_DIR, input_example=checked)
    if signature is None and saved.signature is not None:  # an import brought its own
        signature = saved.signature
    if input_example is None and saved.input_example is not None and signature is not None:
        input_example = saved.input_example
        checked = enforce(signature, input_example)
    example_file = None
    if input_example is not None and signature is not None:
        (dest / INPUT_EXAMPLE).write_bytes(write_example(input_example))
        example_file = INPUT_EXAMPLE
        predictor = fl.load(dest / MODEL_DIR, saved.config, trust=True)  # what we just wrote
        output = predictor.predict(checked)
        if signature.outputs is None and output is not None:
            signature = Signature(signature.inputs, infer_spec(np.asarray(output)))
    (dest / CARD).write_text(card or f"# Model\n\nFlavor: {fl.name}\n", encoding="utf-8")
    files = {rel: _file_entry(path) for rel, path in _walk(dest) if rel != MANIFEST}
    manifest = BundleManifest(
        flavor=fl.name,
        files=files,
        flavor_config=dict(saved.config),
        signature=signature.to_dict() if signature else None,
        input_example=example_file,
        requirements=tuple(sorted(set(saved.requirements) | set(requirements) | set(pins("shipyard")))),
        python_version=platform.python_version(),
        card=CARD,
    )
    (dest / MANIFEST).write_bytes(manifest.to_json())
    return manifest


def verify_bundle(root: Path, expected_digest: str | None = None) -> BundleManifest:
    """The manifest of the bundle at ``root`` after checking every file against it (and the
    manifest against ``expected_digest``); raises :class:`IntegrityError` naming what differs."""
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise IntegrityError(f"{root} holds no {MANIFEST}; is it a bundle?")
    manifest = BundleManifest.from_json(manifest_path.read_bytes())
    if expected_digest is not None and manifest.digest != expected_digest:
        raise IntegrityError(
            f"bundle file {MANIFEST!r} was changed: sha256 {manifest.digest[:12]}, expected {expected_digest[:12]}"
        )
    check_bundle_files(manifest, {rel: _file_entry(path) for rel, path in _walk(root)})
    return manifest


def load_bundle(root: Path, *, trust: bool = False, expected_digest: str | None = None) -> LoadedModel:
    """Verify and load the bundle at ``root``. Formats that run code when read (pickle) need
    ``trust=True``."""
    manifest = verify_bundle(root, expected_digest)
    predictor = get_flavor(manifest.flavor).load(root / MODEL_DIR, manifest.flavor_config, trust=trust)
    return LoadedModel(manifest, predictor, root)


def pack_bundle(root: Path, archive: Path) -> Path:
    """One file (``.tar.gz``) holding the verified bundle at ``root``."""
    verify_bundle(root)
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for rel, path in _walk(root):
            info = tar.gettarinfo(str(path), arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0  # the same bundle packs to the same archive
            with open(path, "rb") as fh:
                tar.addfile(info, fh)
    return archive


def unpack_bundle(archive: Path, dest: Path) -> BundleManifest:
    """Extract a bundle archive into the new folder ``dest`` (only regular files under it) and
    verify it."""
    if dest.exists() and any(dest.iterdir()):
        raise InvalidArgument(f"{dest} is not empty", field="dest")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar.getmembers():
                if not member.isfile() and not member.isdir():
                    raise IntegrityError(f"bundle archive member {member.name!r} is not a regular file")
            tar.extractall(dest, filter="data")
    except tarfile.TarError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise IntegrityError(f"{archive} is not a bundle archive: {exc}") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return verify_bundle(dest)


def bundle_files(root: Path) -> list[tuple[str, Path]]:
    """Every file of a bundle folder, manifest included, as ``(relative path, path)``."""
    return list(_walk(root))
