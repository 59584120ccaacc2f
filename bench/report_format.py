"""How BENCHMARKS.md writes a figure: seconds, MiB, ratios, verdicts; and reading a measure that may have failed."""

from __future__ import annotations

GIB = 1024


def is_ok(part) -> bool:
    return isinstance(part, dict) and "error" not in part


def get(part, key: str):
    return part.get(key) if is_ok(part) else None


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def mib(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / GIB:.2f} GiB" if value >= GIB else f"{value:.0f} MiB"


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def error_of(part) -> str:
    return part["error"] if isinstance(part, dict) and "error" in part else "not measured"


def verdict(met: bool | None, miss: str = "") -> str:
    if met is None:
        return "not measured"
    return "**met**" if met else f"**missed**{' ' + miss if miss else ''}"
