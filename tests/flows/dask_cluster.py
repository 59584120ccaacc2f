"""A Dask cluster started the way a team starts one: a `dask scheduler` process and
`dask worker` processes pointed at it, single-threaded, on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dask_command(*args: str) -> list[str]:
    script = BIN / "dask"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "dask", *args]


@contextmanager
def dask_cluster(folder: Path, *, workers: int = 2, timeout_s: float = 120) -> Iterator[tuple[str, list[Path]]]:
    """Scheduler and workers as processes (logs in ``folder``); yields (address, worker log files)."""
    from distributed import Client

    folder.mkdir(parents=True, exist_ok=True)
    address = f"tcp://127.0.0.1:{free_port()}"
    env = os.environ | {
        "PREFECT_HOME": str(folder / "prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env = {k: v for k, v in env.items() if k not in ("PREFECT_API_URL", "SURVEYHOUSE_DASK_ADDRESS")}
    logs = [folder / "scheduler.log", *[folder / f"worker-{i}.log" for i in range(1, workers + 1)]]
    commands = [
        dask_command("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"),
        *[dask_command("worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}")
          for i in range(1, workers + 1)],
    ]  # fmt: skip
    processes = []
    try:
        for command, log in zip(commands, logs):
            with open(log, "wb") as handle:
                processes.append(
                    subprocess.Popen(
                        command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT
                    )
                )
        with Client(address, timeout=timeout_s) as client:
            client.wait_for_workers(workers, timeout=timeout_s)
        yield address, logs[1:]
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
