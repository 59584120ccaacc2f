"""Settings: the one place that reads the environment, declared once and checked at start.

Precedence: command-line flags, then ``SURVEYHOUSE_*`` environment variables, then
defaults. ``load_settings`` reads and validates everything when a command starts (never
at import) and raises ``SettingsError`` naming the flag or variable and the values it
accepts: ``SURVEYHOUSE_CONFIDENCE=95 is not valid: a number between 0 and 1 (e.g. 0.95)``.

The state folder (archive of raw files, staged results, the run log, the hashing key,
Prefect's home) sits beside the warehouse: ``<warehouse dir>/.surveyhouse``
(``$SURVEYHOUSE_STATE`` when set; for a DuckLake warehouse, beside its data folder).

The warehouse is a file path, or a DuckLake spec ``ducklake:postgres:<libpq conninfo>``
with its data folder in ``lake_data`` (``--lake-data``, ``$SURVEYHOUSE_LAKE_DATA``).

Nothing here imports Polars (``surveyhouse sql`` starts in a fraction of a second): the
screening policy and crosstab options are built from their plain values when asked for.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from warehouse.spec import LAKE_PREFIX, default_report_file, default_state_dir, is_lake_spec, warehouse_name

if TYPE_CHECKING:
    from transforms.column_tests import ColumnTestSettings
    from transforms.crosstab import CrosstabSettings
    from transforms.screening import ScreeningPolicy
    from warehouse.lake import Lake

ENV_PREFIX = "SURVEYHOUSE_"
DEFAULT_EXCLUDE = "is_attention_failed,is_speeder,is_duplicate"
#: The command-line flag of each setting that has one (named in errors instead of the variable).
FLAGS = {
    "inbox": "--inbox",
    "warehouse": "--warehouse",
    "cron": "--cron",
    "timezone": "--timezone",
    "lake_data": "--lake-data",
    "study": "--study",
}
#: What a study folder holds, as its setting's error says it.
STUDY_ACCEPTS = "a study folder holding questionnaire.yaml (e.g. my-study; `surveyhouse study check DIR` checks one)"


class SettingsError(ValueError):
    """A setting's value is not valid: the message names the flag or variable and what it accepts."""


class SecretChanged(SettingsError):
    """SURVEYHOUSE_SECRET is not the key the warehouse's personal-data hashes were made with."""


def _fraction(example: str) -> str:
    return f"a number between 0 and 1 (e.g. {example})"


class EnvironmentSettings(BaseSettings):
    """Every setting, typed, with what it accepts as its description (the text of its error)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    inbox: Path = Field(Path("landing"), description="a folder path (e.g. landing)")
    warehouse: str = Field(
        "surveyhouse.duckdb",
        min_length=1,
        description="a DuckDB file path, or 'ducklake:postgres:dbname=... host=...'",
    )
    lake_data: Path | None = Field(None, description="a folder path")
    study: Path | None = Field(None, description=STUDY_ACCEPTS)
    state: Path | None = Field(None, description="a folder path")
    speeder_share: float = Field(1 / 3, gt=0, lt=1, description=_fraction("0.33"))
    exclude: str = Field(DEFAULT_EXCLUDE, description="screening flags separated by commas")
    confidence: float = Field(0.95, gt=0, lt=1, description=_fraction("0.95"))
    alpha: float = Field(0.05, gt=0, lt=1, description=_fraction("0.05"))
    adjust: Literal["bh", "bonferroni", "none"] = Field("bh", description="bh, bonferroni or none")
    column_adjust: Literal["bonferroni", "bh", "none"] = Field("bonferroni", description="bonferroni, bh or none")
    minimum_base: int = Field(30, ge=0, description="a whole number, 0 or more (e.g. 30)")
    adjust_family: Literal["table", "wave", "none"] = Field(
        "table", description="table (one question by one segment per wave), wave or none (no adjustment)"
    )
    low_base: int = Field(100, ge=0, description="a whole number of respondents, 0 or more (e.g. 100)")
    claim_tolerance_pts: float = Field(1.0, ge=0, description="percentage points, 0 or more (e.g. 1)")
    secret: str | None = Field(None, description="any text (the hashing key)")
    weights: Path | None = Field(None, description="a YAML file path")
    cron: str = Field("0 2 * * *", description="a cron schedule of five fields, e.g. '0 2 * * *'")
    timezone: str = Field("UTC", description="an IANA time zone such as UTC or Europe/Paris")
    run_timeout_s: float = Field(3600.0, gt=0, description="seconds, more than 0 (e.g. 3600)")
    failure_webhook: str | None = Field(None, description="a URL")
    dask_address: str | None = Field(None, description="a Dask scheduler address (e.g. tcp://host:8786)")
    time_zones: str = Field("", description="`tool=Area/City` items separated by commas")
    max_quarantined_share: float = Field(0.2, ge=0, le=1, description=_fraction("0.2"))
    report_lang: str | None = Field(None, description="a language of the study, ISO 639-1 (e.g. en, fr, es)")
    lake_keep_days: float = Field(30.0, ge=0, description="a number of days, 0 or more (e.g. 30)")
    max_file_mb: float = Field(2048.0, gt=0, description="megabytes, more than 0 (e.g. 2048)")
    max_cell_chars: int = Field(100_000, gt=0, description="a whole number of characters, more than 0 (e.g. 100000)")
    settle_s: float = Field(5.0, ge=0, description="seconds, 0 or more (e.g. 5)")
    archive_days: float = Field(365.0, ge=0, description="a number of days, 0 or more (e.g. 365)")
    build_memory_mb: int = Field(256, ge=16, description="megabytes, 16 or more (e.g. 256)")
    threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="a whole number, 1 or more (e.g. 2)"
    )

    @field_validator("speeder_share", "confidence", "alpha", "max_quarantined_share", "run_timeout_s", "lake_keep_days")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a number")
        return value

    @field_validator("study")
    @classmethod
    def _study_folder(cls, value: Path | None) -> Path | None:
        if value is not None and not (Path(value).expanduser() / "questionnaire.yaml").is_file():
            raise ValueError(STUDY_ACCEPTS)
        return value

    @field_validator("report_lang")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        from schemas.questionnaire_checks import is_language_code  # only when set: it imports yaml

        if value is not None and not is_language_code(value):
            raise ValueError("a language of the study, as its ISO 639-1 code (two lower-case letters: en, fr, es...)")
        return value

    @field_validator("exclude")
    @classmethod
    def _known_flags(cls, value: str) -> str:
        if value != DEFAULT_EXCLUDE:
            from transforms.screening import FLAGS as SCREENING_FLAGS  # only when set: it imports Polars

            unknown = sorted({f.strip() for f in value.split(",") if f.strip()} - set(SCREENING_FLAGS))
            if unknown:
                raise ValueError(f"screening flags separated by commas, among {', '.join(SCREENING_FLAGS)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise ValueError("an IANA time zone such as UTC or Europe/Paris")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        check_cron(value)
        return value

    @field_validator("time_zones")
    @classmethod
    def _time_zones(cls, value: str) -> str:
        parse_time_zones(value)
        return value


@dataclass(frozen=True)
class Settings:
    """The validated settings of one command (``load_settings``); ``dataclasses.replace`` makes a variant."""

    inbox: Path
    warehouse: Path | str  # a DuckDB file, or a DuckLake spec "ducklake:postgres:<conninfo>"
    speeder_share: float = 1 / 3  # speeder: duration under this share of the wave's median
    exclude: tuple[str, ...] = ("is_attention_failed", "is_speeder", "is_duplicate")  # flags left out of bases
    confidence: float = 0.95
    alpha: float = 0.05
    adjust: str = "bh"  # bh | bonferroni | none
    column_adjust: str = "bonferroni"  # column-proportion tests, within each row of a table: bonferroni | bh | none
    minimum_base: int = 30
    adjust_family: str = "table"  # table | wave | none: the p-values adjusted together
    low_base: int = 100  # bases from minimum_base up to under this are marked is_low_base
    claim_tolerance_pts: float = 1.0
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
    report_lang: str | None = None  # the report page's language (a study language); None: the study's first
    study: Path | None = None  # the study folder (questionnaire.yaml ...); None: the built-in study
    lake_keep_days: float = 30.0  # a DuckLake's snapshots older than this are expired, their files deleted
    max_file_bytes: int = 2048 * 1024 * 1024  # the largest export, uncompressed, a run reads
    max_cell_chars: int = 100_000  # the largest cell a run keeps
    settle_s: float = 5.0  # a landing file modified fewer seconds ago is left for the next night
    archive_days: float = 365.0  # archived raw exports older than this are deleted
    build_memory_mb: int = 256  # the rows of the responses table the build sorts at a time, in megabytes
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)  # files staged at once (a big one alone)

    @property
    def screening(self) -> ScreeningPolicy:
        """Which responses are flagged and which flags exclude them from every base."""
        from transforms.screening import ScreeningPolicy

        return ScreeningPolicy(speeder_share=self.speeder_share, exclude=self.exclude)

    @property
    def crosstab(self) -> CrosstabSettings:
        """The crosstab's interval level, test level, multiple-test adjustment and smallest base shown."""
        from transforms.crosstab import CrosstabSettings

        return CrosstabSettings(
            confidence=self.confidence,
            alpha=self.alpha,
            adjust=self.adjust,
            minimum_base=self.minimum_base,
            family=self.adjust_family,
            low_base=self.low_base,
        )

    @property
    def column_tests(self) -> ColumnTestSettings:
        """The column-proportion tests' level, adjustment (within each row of a table) and smallest base tested."""
        from transforms.column_tests import ColumnTestSettings

        return ColumnTestSettings(alpha=self.alpha, adjust=self.column_adjust, minimum_base=self.minimum_base)

    def weighting_targets(self) -> dict[str, dict[str, float]] | None:
        """The raking targets, or None: the weights file when set, else the study folder's
        ``weights.yaml`` (checked against the study when it was loaded), else none."""
        if self.weights_file is None:
            if self.study is not None and (self.study / "weights.yaml").is_file():
                from schemas.study import load_study

                return load_study(self.study).weighting_targets
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
    def warehouse_name(self) -> str:
        """The warehouse's short name, for its files in the state folder (file stem, or the lake's dbname)."""
        return warehouse_name(self.warehouse)

    def store(self) -> Path | Lake:
        """What names the warehouse for ``warehouse.backend`` (the readers): the file path, or the DuckLake.
        The writer's side is ``surveyhouse.night.warehouse_of``."""
        if is_lake_spec(self.warehouse):
            from warehouse.lake import Lake

            return Lake(self.warehouse.removeprefix(LAKE_PREFIX), self.lake_data, self.state_dir / "extensions")
        return self.warehouse

    @property
    def state_dir(self) -> Path:
        return self.state if self.state is not None else default_state_dir(self.warehouse, self.lake_data)

    @property
    def report_file(self) -> Path:
        """The report page each publish writes: beside the warehouse file (a lake: beside its state folder)."""
        return default_report_file(self.warehouse, self.state_dir)

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

    def key_fingerprint(self) -> str:
        """The hashing key's fingerprint (transforms.privacy.key_fingerprint): it tells keys apart, reveals none."""
        from transforms.privacy import key_fingerprint

        return key_fingerprint(self.hashing_key())

    def recorded(self) -> str:
        """What a run records of its settings (JSON; never the secret)."""
        return json.dumps(
            {
                "screening": asdict(self.screening),
                "crosstab": asdict(self.crosstab),
                "column_tests": asdict(self.column_tests),
                "claim_tolerance_pts": self.claim_tolerance_pts,
                "weighting_targets": self.weighting_targets(),
                # Apply to files ingested from then on (a file is staged once; `rebuild` re-reads all).
                "time_zones": self.time_zones,
                "max_quarantined_share": self.max_quarantined_share,
                # Which key hashed emails and IPs (never the key): hashes of two keys never match.
                "key_fingerprint": self.key_fingerprint(),
            }
            | ({"study": str(self.study)} if self.study is not None else {}),
            sort_keys=True,
        )


CRON_ACCEPTS = "a cron schedule of five fields (minute hour day-of-month month day-of-week), e.g. '0 2 * * *' or @daily"


def _croniter():
    """Prefect's own cron parser (prefect/_vendor/croniter), loaded from its file: importing
    it through the ``prefect`` package would cost every command most of a second."""
    import importlib.util
    import sys

    name = "_surveyhouse_croniter"
    if name not in sys.modules:
        prefect = importlib.util.find_spec("prefect")
        path = Path(prefect.origin).parent / "_vendor" / "croniter" / "croniter.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name].croniter


def check_cron(cron: str) -> None:
    """ValueError unless Prefect would accept ``cron`` as a schedule of five fields (or an @alias)."""
    fields = cron.split()
    shaped = len(fields) == 5 or (len(fields) == 1 and cron.startswith("@"))
    random = any(f.casefold() in ("r", "h") for f in fields)  # croniter's random and hashed forms: Prefect refuses them
    if not shaped or random or not _croniter().is_valid(cron):
        raise ValueError(CRON_ACCEPTS)


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def parse_time_zones(text: str) -> dict[str, str]:
    """``surveymonkey=Europe/Paris,google_forms=Europe/Paris`` as a dict, each zone checked."""
    zones: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        tool, sep, zone = (piece.strip() for piece in item.partition("="))
        if not sep or not tool or not zone:
            raise ValueError(f"expected `tool=Area/City` items separated by commas, got {item!r}")
        if not is_time_zone(zone):
            raise ValueError(f"{zone!r} (for {tool}) is not an IANA time zone")
        zones[tool] = zone
    return zones


def _error_text(error: dict, flags: dict[str, Any]) -> str:
    """One validation error as `NAME=value is not valid: what it accepts`."""
    import shlex

    from transforms.display import excerpt

    name = str(error["loc"][0])
    shown = FLAGS[name] if name in flags else ENV_PREFIX + name.upper()
    accepted = EnvironmentSettings.model_fields[name].description
    if error["type"] == "value_error":
        accepted = str(error["ctx"]["error"])
    return f"{shown}={shlex.quote(excerpt(error['input']))} is not valid: {accepted}"


def read_environment(**flags: Any) -> EnvironmentSettings:
    """The validated settings: ``flags`` (those not None) over the environment over defaults."""
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return EnvironmentSettings(**given)
    except ValidationError as error:
        raise SettingsError("; ".join(_error_text(e, given) for e in error.errors())) from None


def _path(value: Path | None) -> Path | None:
    return None if value is None else Path(value).expanduser().absolute()


def load_settings(
    *,
    inbox: str | None = None,
    warehouse: str | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    lake_data: str | None = None,
    study: str | None = None,
) -> Settings:
    """Settings from flags, then the environment, then defaults; SettingsError names a bad one."""
    env = read_environment(
        inbox=inbox, warehouse=warehouse, cron=cron, timezone=timezone, lake_data=lake_data, study=study
    )
    return Settings(
        inbox=_path(env.inbox),
        warehouse=env.warehouse if is_lake_spec(env.warehouse) else _path(Path(env.warehouse)),
        speeder_share=env.speeder_share,
        exclude=tuple(flag.strip() for flag in env.exclude.split(",") if flag.strip()),
        confidence=env.confidence,
        alpha=env.alpha,
        adjust=env.adjust,
        column_adjust=env.column_adjust,
        minimum_base=env.minimum_base,
        adjust_family=env.adjust_family,
        low_base=env.low_base,
        claim_tolerance_pts=env.claim_tolerance_pts,
        secret=env.secret,
        weights_file=_path(env.weights),
        cron=env.cron,
        timezone=env.timezone,
        run_timeout_s=env.run_timeout_s,
        failure_webhook=env.failure_webhook,
        lake_data=_path(env.lake_data),
        state=_path(env.state),
        dask_address=env.dask_address,
        time_zones=parse_time_zones(env.time_zones),
        max_quarantined_share=env.max_quarantined_share,
        report_lang=env.report_lang,
        study=_path(env.study),
        lake_keep_days=env.lake_keep_days,
        max_file_bytes=int(env.max_file_mb * 1024 * 1024),
        max_cell_chars=env.max_cell_chars,
        settle_s=env.settle_s,
        archive_days=env.archive_days,
        build_memory_mb=env.build_memory_mb,
        threads=env.threads,
    )


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
