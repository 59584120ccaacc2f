"""Settings: the one place that reads the environment.

Precedence: command-line flags, then ``SURVEYHOUSE_*`` environment variables, then
defaults. The state folder (archive of raw files, staged results, the run log, the
hashing key, Prefect's home) sits beside the warehouse: ``<warehouse dir>/.surveyhouse``
(``$SURVEYHOUSE_STATE`` when set; for a DuckLake warehouse, beside its data folder).

The warehouse is a file path, or a DuckLake spec ``ducklake:postgres:<libpq conninfo>``
with its data folder in ``lake_data`` (``--lake-data``, ``$SURVEYHOUSE_LAKE_DATA``).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from transforms.crosstab import CrosstabSettings
from transforms.screening import ScreeningPolicy

if TYPE_CHECKING:
    from warehouse.backend import Warehouse

ENV_PREFIX = "SURVEYHOUSE_"
LAKE_PREFIX = "ducklake:"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + name, default)


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path | str  # a DuckDB file, or a DuckLake spec "ducklake:postgres:<conninfo>"
    screening: ScreeningPolicy = field(default_factory=ScreeningPolicy)
    crosstab: CrosstabSettings = field(default_factory=CrosstabSettings)
    claim_tolerance_pts: float = 3.0
    secret: str | None = None  # HMAC key for personal data; generated locally when absent
    weights_file: Path | None = None  # population targets for raking (YAML: segment -> {value: share})
    cron: str = "0 2 * * *"  # when the served deployment runs (cron, in `timezone`)
    timezone: str = "UTC"  # IANA time zone of the cron (Europe/Paris...)
    run_timeout_s: float = 3600.0  # a run that takes longer fails (flow timeout)
    failure_webhook: str | None = None  # URL that gets a JSON POST when a run fails
    lake_data: Path | None = None  # a DuckLake warehouse's Parquet folder (writers need it)
    state: Path | None = None  # the state folder, when not the default beside the warehouse
    dask_address: str | None = None  # a Dask scheduler (tcp://host:port) for the per-file steps
    # The IANA zone of the local times a tool writes without one (source_tool -> zone; default UTC).
    time_zones: dict[str, str] = field(default_factory=dict)
    max_quarantined_share: float = 0.2  # a file with more of its rows quarantined is rejected whole
    report_lang: str = "en"  # the language of the report page each publish writes (en or fr)
    lake_keep_days: float = 30.0  # a DuckLake's snapshots older than this are expired, their files deleted
    settle_s: float = 5.0  # a landed file modified more recently is taken the next night (it may still be written)
    archive_days: float = 365.0  # raw files archived longer ago are deleted (their staged, masked results stay)

    def weighting_targets(self) -> dict[str, dict[str, float]] | None:
        """The raking targets, or None: the weights file when set, else none."""
        if self.weights_file is None:
            return None
        import yaml

        try:
            raw = yaml.safe_load(self.weights_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"cannot read the weighting targets {self.weights_file}: {error}") from error
        if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
            raise ValueError(f"{self.weights_file}: expected `segment: {{value: share, ...}}` entries")
        return {str(segment): {str(k): float(v) for k, v in shares.items()} for segment, shares in raw.items()}

    @property
    def is_lake(self) -> bool:
        return isinstance(self.warehouse, str) and self.warehouse.startswith(LAKE_PREFIX)

    @property
    def warehouse_name(self) -> str:
        """The warehouse's short name, for its files in the state folder (file stem, or the lake's dbname)."""
        if self.is_lake:
            from warehouse.lake import catalog_name

            return catalog_name(self.warehouse)
        return self.warehouse.stem

    def store(self) -> Warehouse:
        """The warehouse for ``warehouse.backend``: the file path, or the DuckLake."""
        if self.is_lake:
            from warehouse.lake import Lake

            return Lake(self.warehouse.removeprefix(LAKE_PREFIX), self.lake_data, self.state_dir / "extensions")
        return self.warehouse

    @property
    def state_dir(self) -> Path:
        if self.state is not None:
            return self.state
        if self.is_lake:
            return (self.lake_data.parent if self.lake_data else Path.cwd()) / ".surveyhouse"
        return self.warehouse.parent / ".surveyhouse"

    @property
    def archive_dir(self) -> Path:
        return self.state_dir / "archive"

    @property
    def report_file(self) -> Path:
        """The report page each publish writes: beside the warehouse file (a lake: beside its state folder)."""
        folder = self.state_dir.parent if self.is_lake else self.warehouse.parent
        return folder / f"{self.warehouse_name}.report.html"

    @property
    def staged_dir(self) -> Path:
        return self.state_dir / "staged" / self.warehouse_name

    @property
    def runs_log(self) -> Path:
        return self.state_dir / f"{self.warehouse_name}.runs.jsonl"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / f"{self.warehouse_name}.lock"

    @property
    def prefect_home(self) -> Path:
        return self.state_dir / "prefect"

    def hashing_key(self) -> bytes:
        """The deployment's key, or a local one generated on first use (never committed)."""
        if self.secret:
            return self.secret.encode("utf-8")
        key_file = self.state_dir / "secret.key"
        if not key_file.exists():
            # Written aside, then linked into place: a run killed here never leaves an
            # empty key behind, and of two racing runs the first key wins.
            key_file.parent.mkdir(parents=True, exist_ok=True)
            partial = key_file.with_name(f".secret.key.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(partial, key_file)
            except FileExistsError:
                pass
            finally:
                partial.unlink()
        return key_file.read_text().strip().encode("utf-8")

    def recorded(self) -> str:
        """What a run records of its settings (JSON; never the secret)."""
        return json.dumps(
            {
                "screening": asdict(self.screening),
                "crosstab": asdict(self.crosstab),
                "claim_tolerance_pts": self.claim_tolerance_pts,
                "weighting_targets": self.weighting_targets(),
                # Apply to files ingested from then on (a file is staged once; `rebuild` re-reads all).
                "time_zones": self.time_zones,
                "max_quarantined_share": self.max_quarantined_share,
            },
            sort_keys=True,
        )


def run_timeout_s() -> float:
    """The time limit of one run, seconds (read when the flow is defined)."""
    return float(_env("RUN_TIMEOUT_S", "3600"))


def dask_address() -> str | None:
    """The Dask scheduler that runs the per-file steps (tcp://host:port), or None (read when the flow is defined)."""
    return _env("DASK_ADDRESS") or None


def load_settings(
    *,
    inbox: str | None = None,
    warehouse: str | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    lake_data: str | None = None,
) -> Settings:
    """Settings from flags, then the environment, then defaults."""
    warehouse = warehouse or _env("WAREHOUSE", "surveyhouse.duckdb")
    lake_data = lake_data or _env("LAKE_DATA")
    speeder_share = float(_env("SPEEDER_SHARE", str(1 / 3)))
    exclude = _env("EXCLUDE", "is_attention_failed,is_speeder,is_duplicate")
    return Settings(
        inbox=Path(inbox or _env("INBOX", "landing")).expanduser().absolute(),
        warehouse=warehouse if warehouse.startswith(LAKE_PREFIX) else Path(warehouse).expanduser().absolute(),
        screening=ScreeningPolicy(
            speeder_share=speeder_share, exclude=tuple(flag for flag in exclude.split(",") if flag.strip())
        ),
        crosstab=CrosstabSettings(
            confidence=float(_env("CONFIDENCE", "0.95")),
            alpha=float(_env("ALPHA", "0.05")),
            adjust=_env("ADJUST", "bh"),
            minimum_base=int(_env("MINIMUM_BASE", "30")),
        ),
        claim_tolerance_pts=float(_env("CLAIM_TOLERANCE_PTS", "3")),
        secret=_env("SECRET"),
        weights_file=Path(_env("WEIGHTS")).expanduser().absolute() if _env("WEIGHTS") else None,
        cron=cron or _env("CRON", "0 2 * * *"),
        timezone=timezone or _env("TIMEZONE", "UTC"),
        run_timeout_s=run_timeout_s(),
        failure_webhook=_env("FAILURE_WEBHOOK") or None,
        lake_data=Path(lake_data).expanduser().absolute() if lake_data else None,
        state=Path(_env("STATE")).expanduser().absolute() if _env("STATE") else None,
        dask_address=dask_address(),
        time_zones=_time_zones(_env("TIME_ZONES", "")),
        max_quarantined_share=float(_env("MAX_QUARANTINED_SHARE", "0.2")),
        report_lang=_report_lang(_env("REPORT_LANG", "en")),
        lake_keep_days=_non_negative("LAKE_KEEP_DAYS", _env("LAKE_KEEP_DAYS", "30")),
        settle_s=float(_env("SETTLE_S", "5")),
        archive_days=_non_negative("ARCHIVE_DAYS", _env("ARCHIVE_DAYS", "365")),
    )


def _non_negative(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise ValueError(f"SURVEYHOUSE_{name}: expected a number of days, 0 or more, got {text!r}")
    return value


def _report_lang(text: str) -> str:
    if text not in ("en", "fr"):
        raise ValueError(f"SURVEYHOUSE_REPORT_LANG: expected en or fr, got {text!r}")
    return text


def _time_zones(text: str) -> dict[str, str]:
    """``surveymonkey=Europe/Paris,google_forms=Europe/Paris`` as a dict, each zone checked."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zones: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        tool, sep, zone = (piece.strip() for piece in item.partition("="))
        if not sep or not tool or not zone:
            raise ValueError(
                f"SURVEYHOUSE_TIME_ZONES: expected `tool=Area/City` items separated by commas, got {item!r}"
            )
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"SURVEYHOUSE_TIME_ZONES: {zone!r} (for {tool}) is not an IANA time zone") from error
        zones[tool] = zone
    return zones


def configure_prefect(settings: Settings) -> None:
    """Prefect's environment for an offline, project-local run; call before importing prefect.

    A project-local home, no analytics or telemetry (there is no network), and a long
    enough start-up timeout for the temporary server on a fresh machine. Values a user
    set in the environment win.
    """
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "PREFECT_HOME": str(settings.prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
