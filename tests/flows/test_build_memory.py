"""The build's memory grows far less than the responses (issue 18: memory flat in the input
size): the responses table is written a part at a time and the crosstab sums a slice at a
time, within ``SURVEYHOUSE_BUILD_MEMORY_MB``; what the build holds whole is narrow (keys,
flags, weights). Each size is built in its own process, from a staged file of the demo's
rows repeated (new response ids, emails and IPs for each copy); the growth is its peak RSS
during the build over its RSS before."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from cli.main import MALLOC_CONF
from surveyhouse.night import Night
from tests.flows.builds import published_demo_night

#: Build and publish a staged warehouse folder in this process; print the peak RSS (MiB).
CHILD = """
import dataclasses, json, sys
from pathlib import Path
from schemas.study import load_study
from surveyhouse import night, runlog
from surveyhouse.settings import load_settings
folder = Path(sys.argv[1])
settings = load_settings(inbox=str(folder / "landing"), warehouse=str(folder / "w.duckdb"))
settings = dataclasses.replace(settings, build_memory_mb=16)
study = load_study()
run = runlog.RunSummary.starting()
staged = night.Night.of(study, settings)
status = lambda: {l.split(":")[0]: int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("Vm")}
Path("/proc/self/clear_refs").write_text("5")
before = status()["VmRSS"]
tables = night.build_night(staged, run, staged_dir=staged.state.staged_dir)
print(json.dumps({"growth_mib": status()["VmHWM"] - before}))
"""


@pytest.fixture(scope="module")
def demo_staged(tmp_path_factory) -> Night:
    root = tmp_path_factory.mktemp("memory")
    return published_demo_night(root)


def _staged_copies(night: Night, folder: Path, rows: int) -> Path:
    """A warehouse folder whose state holds one staged file: the demo's staged rows repeated to ``rows``."""
    loaded = [s for s in night.state.staged() if s.record["status"] == "loaded"]
    demo = pl.concat([pl.read_parquet(s.responses) for s in loaded]).with_columns(file_order=pl.lit(1, pl.Int64))
    copies = [
        demo.with_columns(pl.col("response_id", "email_hash", "ip_hash") + f"-{copy}")
        for copy in range(-(-rows // demo.height))
    ]
    first = loaded[0]
    staged = folder / ".surveyhouse" / "staged" / "w" / first.sha256
    staged.mkdir(parents=True)
    shutil.copy(night.state.root / "secret.key", folder / ".surveyhouse" / "secret.key")
    (staged / "file.json").write_text(json.dumps(first.record | {"file_order": 1}), encoding="utf-8")
    shutil.copy(first.quarantine, staged / "quarantine.parquet")
    pl.concat(copies).head(rows).write_parquet(staged / "responses.parquet")
    return folder


def _growth_mib(folder: Path) -> float:
    """How much the build of a staged folder's warehouse raised its process's peak RSS, MiB."""
    env = dict(os.environ, SURVEYHOUSE_SETTLE_S="0", _RJEM_MALLOC_CONF=MALLOC_CONF)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["growth_mib"]


def test_the_build_holds_less_than_twice_the_added_responses_more_for_six_times_the_responses(demo_staged, tmp_path):
    """Before issue 18 the build held the whole responses frame several times over (its
    growth from 50,000 to 300,000 responses was 2.5 times the added rows' size in memory);
    now what grows is narrow (keys, flags, weights): under 2 times, whatever the columns."""
    small_folder = _staged_copies(demo_staged, tmp_path / "small", 50_000)
    large_folder = _staged_copies(demo_staged, tmp_path / "large", 300_000)
    added_mib = (_rows_mib(large_folder) - _rows_mib(small_folder)) or 1.0
    small, large = _growth_mib(small_folder), _growth_mib(large_folder)
    assert large - small < 2 * added_mib, (
        f"the build grew {large:.0f} MiB at 300,000 responses and {small:.0f} MiB at 50,000: "
        f"{(large - small) / added_mib:.1f} times the added rows' {added_mib:.0f} MiB"
    )


def _rows_mib(folder: Path) -> float:
    """The staged responses' size as one frame in memory, MiB."""
    return pl.read_parquet(next(folder.rglob("responses.parquet"))).estimated_size("mb")
