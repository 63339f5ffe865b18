"""Settings: the one typed, documented configuration model.

Precedence, highest first: explicit arguments > ``SHIPYARD_*`` environment variables >
``shipyard.toml`` in the working directory > defaults. Nothing is read at import time: call
:meth:`Settings.load` (or construct :class:`Settings`) where configuration is needed.

Example:
    >>> s = Settings(home="/tmp/sy")
    >>> s.resolved_metadata_uri()
    'sqlite:////tmp/sy/shipyard.db'
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "default_user"]


def default_user() -> str:
    """The local principal's name: the OS user, or ``local`` when there is none."""
    try:
        return getpass.getuser() or "local"
    except (KeyError, OSError):
        return "local"


class Settings(BaseSettings):
    """Shipyard's configuration (environment variables are ``SHIPYARD_<FIELD>``)."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPYARD_",
        toml_file="shipyard.toml",
        extra="ignore",
        frozen=True,
    )

    home: Path = Field(
        default=Path(".shipyard"),
        description="Folder for the embedded defaults (SQLite file and local artifacts).",
    )
    metadata_uri: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database; default sqlite:///<home>/shipyard.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db (extra 'postgres').",
    )
    artifact_uri: str | None = Field(
        default=None,
        description="Where artifact blobs live: a folder (default <home>/artifacts) or "
        "s3://bucket/prefix (extra 's3').",
    )
    inference_log_uri: str | None = Field(
        default=None,
        description="Where model servers write the inference log and monitors read it: a folder "
        "(default <home>/inference-log) or s3://bucket/prefix.",
    )
    monitor_interval: float = Field(
        default=10.0,
        ge=0,
        description="Seconds between the hub's checks for monitors that are due (0: the hub runs none).",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible server (MinIO, moto, Ceph...)."
    )
    tracking_uri: str | None = Field(
        default=None,
        description="Where clients send data: unset or a path means in-process services over "
        "the local home; http(s)://host:port means a hub.",
    )
    host: str = Field(default="127.0.0.1", description="Address the hub binds to.")
    port: int = Field(default=8420, ge=0, le=65535, description="Port the hub listens on.")
    user: str = Field(default_factory=default_user, description="The acting principal's name.")
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="Durability of acknowledged writes (SQLite metadata and local artifact files alike). "
        "NORMAL survives a crash of the process (kill -9) but may lose the last writes on power loss; "
        "FULL also survives power loss (fsync on every commit and stored file).",
    )
    capture_provenance: bool = Field(
        default=True,
        description="Record a run manifest (git, command, packages, platform, seeds...) at start_run.",
    )
    max_batch_points: int = Field(
        default=100_000, gt=0, description="Most metric points the hub accepts in one request."
    )
    flush_interval: float = Field(
        default=0.5, gt=0, description="Seconds between background metric flushes (remote mode)."
    )
    flush_max_points: int = Field(default=5_000, gt=0, description="Points that trigger an early background flush.")
    cache_dir: Path | None = Field(
        default=None,
        description="Where loaded model bundles are kept (verified, by digest); default <home>/cache.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings from every source, with ``overrides`` (ignoring ``None`` values) on top."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def resolved_metadata_uri(self) -> str:
        """The metadata URL, defaulting to a SQLite file in ``home``."""
        if self.metadata_uri:
            return self.metadata_uri
        return f"sqlite:///{self.home.expanduser().absolute() / 'shipyard.db'}"

    def resolved_artifact_uri(self) -> str:
        """The artifact location, defaulting to ``<home>/artifacts``."""
        if self.artifact_uri:
            return self.artifact_uri
        return str(self.home.expanduser().absolute() / "artifacts")

    def resolved_inference_log_uri(self) -> str:
        """The inference log's location, defaulting to ``<home>/inference-log``."""
        if self.inference_log_uri:
            return self.inference_log_uri
        return str(self.home.expanduser().absolute() / "inference-log")

    def resolved_cache_dir(self) -> Path:
        return (self.cache_dir or self.home / "cache").expanduser().absolute()

    def is_remote(self) -> bool:
        """True when clients should talk to a hub over HTTP."""
        uri = self.tracking_uri or ""
        return uri.startswith(("http://", "https://"))
