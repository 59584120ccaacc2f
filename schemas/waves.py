"""The study's waves, declared (questionnaire.yaml `waves:`), and the rules that put a file in one.

    waves:
      - {wave: 2023, start: 2023-10-02, end: 2023-12-15, folder: "2023", label: "Autumn 2023"}
      - {wave: 2024, start: 2024-10-01, end: 2024-12-13}

A wave is an integer; its field period runs from ``start`` to ``end``, both days included,
in UTC; its landing subfolder is ``folder`` (default: the wave's number). Without
`waves:`, the study has one wave, the questionnaire's `wave:`, with no field period, and
the rule of earlier versions: a year-named subfolder (``2024``, ``wave=2024``), else `wave:`.

A file's wave (``place_file``): its landing subfolder's when it sits in one, else the wave
whose field period holds its submission dates. A file whose submissions fall outside its
wave's field period, span two periods or fall in none is held back, with the one line that
says so and how to fix it. Pure: nothing here reads a file or the clock.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

Where = tuple[str | int, ...]  # where a value sits in the questionnaire file: keys and list positions
WAVE_KEYS = ("wave", "start", "end", "folder", "label")

#: The folder rule of a study without `waves:`: a folder named for a year.
_YEAR_FOLDER = re.compile(r"^(?:wave[=_-]?)?(\d{4})$", re.IGNORECASE)


@dataclass(frozen=True)
class Wave:
    wave: int
    start: str | None = None  # the field period, both days included (ISO 8601 dates, UTC); None: no field period
    end: str | None = None
    folder: str | None = None  # the landing subfolder; None: the year-folder rule (no `waves:` declared)
    label: str | None = None

    @property
    def period(self) -> str:
        return f"{self.start}..{self.end}" if self.start else "no field period"

    def holds(self, first: str, last: str) -> bool:
        """Whether every day from ``first`` to ``last`` (ISO dates) is in the field period (no period: any day)."""
        return self.start is None or (self.start <= first and last <= self.end)


def parse_waves(raw: dict) -> tuple[Wave, ...]:
    """The waves of a checked questionnaire (``check_waves``): the declared ones, else its one `wave:`."""
    declared = raw.get("waves")
    if not declared:
        return (Wave(int(raw["wave"])),)
    for _where, problem, fix in check_waves(raw)[:1]:
        raise ValueError(f"questionnaire.yaml: {problem}; {fix}")
    return tuple(
        Wave(
            wave=int(item["wave"]),
            start=_date(item["start"]),
            end=_date(item["end"]),
            folder=str(item.get("folder", item["wave"])),
            label=None if item.get("label") is None else str(item["label"]),
        )
        for item in declared
    )


def _date(value: object) -> str:
    """A date of the questionnaire as ISO 8601 (``2024-10-01``; YAML reads it as a date, or as text
    when quoted): ISO dates compare as their text does. ValueError when it is no date."""
    text = str(value)
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if not match:
        raise ValueError(text)
    year, month, day = map(int, match.groups())
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(text)
    return text


def check_waves(raw: dict) -> list[tuple[Where, str, str]]:
    """Every mistake of a questionnaire's `waves:`, as (where, what is wrong, what to write instead)."""
    declared = raw.get("waves")
    if declared is None:
        return []
    if not isinstance(declared, list) or not declared:
        return [
            (
                ("waves",),
                "`waves:` is not a list of waves",
                "write one `- {wave: 2024, start: 2024-10-01, end: 2024-12-13}` per wave",
            )
        ]
    problems: list[tuple[Where, str, str]] = []
    seen: dict[str, Where] = {}
    for index, item in enumerate(declared):
        where = ("waves", index)
        if not isinstance(item, dict):
            problems.append(
                (where, "a wave is not a mapping", "write `- {wave: 2024, start: 2024-10-01, end: 2024-12-13}`")
            )
            continue
        problems += _wave_problems(where, item)
        for key in ("wave", "folder"):
            value = str(item.get(key, item.get("wave")))
            if f"{key}={value}" in seen:
                problems.append(((*where, key), f"{key} {value} is declared twice", f"give each wave its own {key}"))
            seen[f"{key}={value}"] = where
    problems += _overlaps([item for item in declared if isinstance(item, dict)], declared)
    return problems


def _wave_problems(where: Where, item: dict) -> list[tuple[Where, str, str]]:
    problems = [
        ((*where, key), f"a wave has the unknown key `{key}:`", f"use only {', '.join(WAVE_KEYS)}")
        for key in item
        if key not in WAVE_KEYS
    ]
    if not isinstance(item.get("wave"), int) or isinstance(item.get("wave"), bool):
        problems.append(
            ((*where, "wave"), f"a wave's `wave:` is {item.get('wave')!r}", "write its number, e.g. `wave: 2024`")
        )
    dates = {}
    for key in ("start", "end"):
        try:
            dates[key] = _date(item[key])
        except (KeyError, ValueError, TypeError):
            problems.append(
                (
                    (*where, key),
                    f"wave {item.get('wave')}'s `{key}:` is {item.get(key)!r}",
                    f"write `{key}:` as a date, e.g. 2024-10-01",
                )
            )
    if len(dates) == 2 and dates["end"] < dates["start"]:
        problems.append(
            ((*where, "end"), f"wave {item.get('wave')} ends before it starts", "write `end:` on or after `start:`")
        )
    folder = item.get("folder", item.get("wave"))
    if not re.fullmatch(r"[^/\\\x00-\x1f]+", str(folder)) or str(folder) in {".", ".."}:
        problems.append(
            (
                (*where, "folder"),
                f"wave {item.get('wave')}'s `folder:` is {folder!r}",
                'write one folder name, e.g. `folder: "2024"`',
            )
        )
    return problems


def _overlaps(items: list[dict], declared: list) -> list[tuple[Where, str, str]]:
    """Two field periods that share a day: a file in both could be either wave's."""
    periods = []
    for item in items:
        try:
            periods.append((_date(item["start"]), _date(item["end"]), item.get("wave"), declared.index(item)))
        except (KeyError, ValueError, TypeError):
            continue
    periods.sort(key=lambda period: period[0])
    return [
        (
            ("waves", later[3], "start"),
            f"wave {later[2]}'s field period overlaps wave {earlier[2]}'s",
            "make the periods follow one another",
        )
        for earlier, later in zip(periods, periods[1:])
        if later[0] <= earlier[1]
    ]


@dataclass(frozen=True)
class Placement:
    """Where a file's wave comes from: a wave already given (its subfolder, an assignment), or its dates."""

    wave: int | None  # None: from the submission dates
    checked: bool = True  # False: an assigned or recorded wave, taken as it is


def folder_placement(parts: tuple[str, ...], waves: tuple[Wave, ...], *, default: int) -> Placement | str:
    """A file's placement from its folders below the landing folder (``parts``, outermost first),
    or why it is held back: it sits in a folder that is no declared wave's."""
    if all(wave.folder is None for wave in waves):  # no `waves:`: the year-folder rule of earlier versions
        for part in reversed(parts):
            match = _YEAR_FOLDER.match(part)
            if match:
                return Placement(int(match.group(1)), checked=False)
        return Placement(default, checked=False)
    by_folder = {wave.folder: wave.wave for wave in waves}
    for part in reversed(parts):
        if part in by_folder:
            return Placement(by_folder[part])
    if parts:
        return (
            f"it sits in the folder {parts[0]}/, which is no declared wave's (the waves' folders: "
            f"{', '.join(sorted(by_folder))}); move it into one of them, or declare the wave under `waves:` in questionnaire.yaml"
        )
    return Placement(None)


def place_file(
    name: str, placement: Placement, days: tuple[str, str] | None, waves: tuple[Wave, ...], *, default: int
) -> int | str:
    """The file's wave, or the one line saying why it is held back.

    ``days``: its first and last submission day (UTC, ISO 8601), None when no row says. A file
    without a submission date goes to its given wave, else to ``default`` (`wave:`).
    """
    if not placement.checked or days is None:
        return default if placement.wave is None else placement.wave
    first, last = days
    span = f"{first}..{last}" if first != last else str(first)
    fix = f"run `surveyhouse assign {name} --wave W` to file it in a wave all the same"
    if placement.wave is not None:
        wave = next(w for w in waves if w.wave == placement.wave)
        if wave.holds(first, last):
            return wave.wave
        right = _holding(waves, first, last)
        move = (
            f"move it to landing/{right.folder}/ or run `surveyhouse assign {name} --wave {right.wave}`"
            if right
            else fix
        )
        return f"{name}: submissions {span} fall outside wave {wave.wave}'s field period {wave.period}; {move}"
    right = _holding(waves, first, last)
    if right is not None:
        return right.wave
    touched = [w for w in waves if w.start and w.start <= last and first <= w.end]
    if len(touched) > 1:
        return (
            f"{name}: submissions {span} span the field periods of waves {', '.join(str(w.wave) for w in touched)}; "
            f"split the export by wave, or {fix}"
        )
    periods = ", ".join(f"{w.wave} {w.period}" for w in waves)
    return (
        f"{name}: submissions {span} fall in no wave's field period ({periods}); move it to a wave's folder "
        f"(landing/<folder>/), declare its wave under `waves:` in questionnaire.yaml, or {fix}"
    )


def _holding(waves: tuple[Wave, ...], first: str, last: str) -> Wave | None:
    return next((w for w in waves if w.start is not None and w.holds(first, last)), None)
