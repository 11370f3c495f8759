"""Settings read from the command line and the environment.

One frozen object, so every part of the service (API, scheduler, workers, the
Python services) agrees on the data directory, the database and the timezone.
The timezone matters more than it looks: Twig's ``"now"|date("Y-m-d H:i:s")``
renders naive local time and the register reads naive values back in the same
zone, so both must use this one setting or fresh datasets would be hidden for
an hour.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """Bytes from ``1048576``, ``500M``, ``4G`` or ``2GB`` (binary units: ``1K`` is 1024)."""
    value = str(text).strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (value[:-1], value[-1]) if value[-1:] in _UNITS else (value, "")
    try:
        size = int(float(number) * _UNITS[unit])
    except ValueError:
        raise ValueError(f"Not a size: {text!r}; use bytes or a number with K, M, G or T") from None
    if size <= 0:
        raise ValueError(f"A size must be more than 0, got {text!r}")
    return size


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=lambda: Path("data"))
    database_url: str | None = None
    timezone: str = "Europe/Amsterdam"
    admin_password: str | None = None
    secret_key: str | None = None
    scheduler: bool = True
    base_url: str | None = None
    mapping_seconds: float = 5.0
    """Work limit: seconds one record's mapping may take (runs and mapping tests)."""
    mapping_max_output: int = 10_000_000
    """Work limit: characters one record's templates may produce, all keys together."""
    #: Networks that may read ``/metrics`` without a login (comma-separated, e.g. ``127.0.0.1/32``).
    metrics_allow: str | None = None
    #: Where files on objects are kept: None for ``<data_dir>/files``, a directory, or
    #: ``s3://bucket/prefix?endpoint=http://host:9000&region=eu-west-1`` (``files/storage.py``).
    files_url: str | None = None
    #: Largest file accepted, in bytes (``OPENCONNECTOR_FILES_MAX_SIZE`` also takes ``500M``, ``4G``).
    files_max_size: int = 4 * 1024**3

    def __post_init__(self) -> None:
        if not isinstance(self.data_dir, Path):
            object.__setattr__(self, "data_dir", Path(self.data_dir))

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``OPENCONNECTOR_*`` variables; keyword overrides win when not None."""
        settings = cls(
            host=_env("OPENCONNECTOR_HOST", "127.0.0.1") or "127.0.0.1",
            port=int(_env("OPENCONNECTOR_PORT", "8080") or 8080),
            data_dir=Path(_env("OPENCONNECTOR_DATA_DIR", "data") or "data"),
            database_url=_env("OPENCONNECTOR_DATABASE_URL"),
            timezone=_env("OPENCONNECTOR_TIMEZONE", "Europe/Amsterdam") or "Europe/Amsterdam",
            admin_password=_env("OPENCONNECTOR_ADMIN_PASSWORD"),
            secret_key=_env("OPENCONNECTOR_SECRET_KEY"),
            base_url=_env("OPENCONNECTOR_BASE_URL"),
            mapping_seconds=float(_env("OPENCONNECTOR_MAPPING_SECONDS", "5") or 5),
            mapping_max_output=int(_env("OPENCONNECTOR_MAPPING_MAX_OUTPUT", "10000000") or 10_000_000),
            metrics_allow=_env("OPENCONNECTOR_METRICS_ALLOW"),
            files_url=_env("OPENCONNECTOR_FILES_URL"),
            files_max_size=parse_size(_env("OPENCONNECTOR_FILES_MAX_SIZE", "4G") or "4G"),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in clean:
            clean["data_dir"] = Path(str(clean["data_dir"]))
        return replace(settings, **clean)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        """The database URL: the given one, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openconnector.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")
