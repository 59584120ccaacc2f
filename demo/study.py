"""The built-in demo study: the 2023 wave as the survey tools would have exported it."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from demo.exports.google_forms import write_google_forms
from demo.exports.qualtrics import write_qualtrics
from demo.exports.surveymonkey import write_surveymonkey
from demo.exports.typeform import write_typeform
from demo.model import inject_defects, simulate_respondents

#: channel -> (file name as the tool names its export, writer)
EXPORTS = {
    "qualtrics_en": (
        "AI+in+social+media+2023_November+16,+2023_09.12.csv",
        lambda frame, path, seed: write_qualtrics(frame, path, language="en", multi="joined", seed=seed),
    ),
    "qualtrics_fr": (
        "IA+et+reseaux+sociaux+2023+(FR)_16+novembre+2023_09.14.csv",
        lambda frame, path, seed: write_qualtrics(frame, path, language="fr", multi="split", seed=seed),
    ),
    "surveymonkey": (
        "AI in Social Media 2023 - SurveyMonkey Data_All_231116.csv",
        lambda frame, path, seed: write_surveymonkey(frame, path, seed=seed),
    ),
    "google_forms": (
        "AI in social media 2023 (Responses) - Form Responses 1.csv",
        lambda frame, path, seed: write_google_forms(frame, path),
    ),
    "typeform": (
        "responses-AI-social-media-2023.csv",
        lambda frame, path, seed: write_typeform(frame, path, seed=seed),
    ),
}


def demo_respondents(*, seed: int, n: int = 2334, wave: int = 2023) -> tuple[pl.DataFrame, dict[str, int]]:
    """The demo's respondents (with their known defects) and the defect counts."""
    return inject_defects(simulate_respondents(n=n, seed=seed, wave=wave), seed=seed)


#: The demo's waves: (wave, respondents). 2023 is the published study; 2024 is drawn from
#: the same model, shifted where the report's 2024 plans point (more daily use).
WAVES = ((2023, 2334), (2024, 2412))


def write_demo_study(inbox: Path, *, seed: int = 2023, waves: tuple[tuple[int, int], ...] = WAVES) -> list[Path]:
    """Write one export per channel and wave into the landing folder; returns the paths written.

    The published wave lands at the top of the folder, later waves in a folder named for
    their year (the flow reads the wave from it).
    """
    inbox.mkdir(parents=True, exist_ok=True)
    written = []
    for wave_index, (wave, n) in enumerate(waves):
        folder = inbox if wave_index == 0 else inbox / str(wave)
        folder.mkdir(parents=True, exist_ok=True)
        frame, _ = demo_respondents(seed=seed + wave_index, n=n, wave=wave)
        for index, (channel, (name, write)) in enumerate(EXPORTS.items()):
            part = frame.filter(pl.col("channel") == channel).sort("submitted_at")
            if part.is_empty():
                continue
            path = folder / name.replace("2023", str(wave)).replace("231116", f"{wave % 100}1116")
            write(part, path, seed + 100 * wave_index + index)
            written.append(path)
    return written
