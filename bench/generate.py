"""Synthetic exports at scale, cached: the demo model's respondents, written by the demo writers.

The writers are fast enough at these sizes (a 1M-response Qualtrics export in about
15 s), so the files are exactly what ``demo`` writes: no bench-only format. A file
of more than a million responses is written a million at a time (each chunk its own
seed, hence its own response ids) and appended without its header rows, so memory
stays that of one chunk.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from demo.model import inject_defects, simulate_respondents
from demo.study import EXPORTS

CHUNK = 1_000_000
#: Header rows of each channel's export (appended chunks leave them out).
HEADER_ROWS = {"qualtrics_en": 3, "qualtrics_fr": 3, "surveymonkey": 2, "google_forms": 1, "typeform": 1}


def respondents(n: int, *, seed: int) -> pl.DataFrame:
    """n demo respondents with their realistic defects (as the demo study draws them)."""
    frame, _ = inject_defects(simulate_respondents(n=n, seed=seed), seed=seed)
    return frame


def _write(channel: str, frame: pl.DataFrame, path: Path, seed: int) -> None:
    _, write = EXPORTS[channel]
    write(frame, path, seed)


def export(cache: Path, channel: str, n: int, *, seed: int = 1) -> Path:
    """One export of n responses in the layout of ``channel`` (every respondent written to it)."""
    path = cache / f"{channel}_{n}_s{seed}.csv"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("wb") as out:
        for start in range(0, n, CHUNK):
            size = min(CHUNK, n - start)
            chunk_seed = seed * 1000 + start // CHUNK
            piece = cache / f".{channel}_{n}_s{seed}.{start // CHUNK}.csv"
            _write(channel, respondents(size, seed=chunk_seed), piece, chunk_seed)
            with piece.open("rb") as handle:
                if start:
                    for _ in range(HEADER_ROWS[channel]):  # header rows: no quoted line breaks in them
                        handle.readline()
                shutil.copyfileobj(handle, out, 1 << 24)
            piece.unlink()
    partial.replace(path)
    return path


def mixed_exports(cache: Path, n: int, *, seed: int = 2) -> list[Path]:
    """n responses split over every layout, as the demo study splits its channels."""
    folder = cache / f"mix_{n}_s{seed}"
    done = folder / ".complete"
    if done.exists():
        return sorted(p for p in folder.iterdir() if p.suffix == ".csv")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    frame = respondents(n, seed=seed)
    for index, channel in enumerate(EXPORTS):
        part = frame.filter(pl.col("channel") == channel).sort("submitted_at")
        _write(channel, part, folder / f"{channel}.csv", seed + index)
    done.touch()
    return sorted(p for p in folder.iterdir() if p.suffix == ".csv")


def main(argv: list[str]) -> int:
    """``python -m bench.generate CACHE CHANNEL N SEED`` or ``... CACHE mix N SEED``: the path(s), one a line.

    The benchmark command generates in a child process: its own memory stays small, so
    the peak memory it measures for other child processes is theirs (a forked child's peak
    starts from its parent's).
    """
    cache, channel, n, seed = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    paths = mixed_exports(cache, n, seed=seed) if channel == "mix" else [export(cache, channel, n, seed=seed)]
    print("\n".join(str(path) for path in paths))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
