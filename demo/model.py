"""The demo study's respondents: a seeded statistical model, calibrated on the 2023 report.

Respondents are drawn, not looked up. Traits (role, industry, followers) come from
distributions; team size and AI-use frequency from ordinal logits on those traits; every
answer from conditional probabilities given the traits (ordinal logits for single-choice
questions, one logit per option for select-all-that-apply questions). The constants are
calibrated so the clean respondents reproduce every figure of the 2023 report
(``schemas/data/published_figures.csv``) but F28, which contradicts F08c.

Variance reduction keeps small segments (~90 respondents) on target while every draw stays
random: trait shares are allocated exactly (largest remainder) and shuffled, and answers are
drawn by systematic sampling along respondents sorted by their parents (report segments
first, random order within), so realised shares track the model's probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

import numpy as np
import polars as pl
import pyarrow as pa

from schemas.codebook import Question, codebook

# --- Who answers: exact shares ----------------------------------------------------------
CHANNEL_SHARES = {
    "qualtrics_en": 0.38,
    "qualtrics_fr": 0.17,
    "surveymonkey": 0.17,
    "google_forms": 0.15,
    "typeform": 0.13,
}
FRENCH_CHANNELS = ("qualtrics_fr",)
ROLE_SHARES = {"vp": 0.08, "senior_director": 0.37, "manager": 0.39, "entry": 0.16}  # F01a-d
INDUSTRY_SHARES = {  # F02a-d publish the top four; the rest are plausible, each below 11%
    "marketing_pr": 0.16,
    "retail": 0.14,
    "manufacturing": 0.13,
    "healthcare": 0.11,
    "technology": 0.10,
    "finance": 0.08,
    "education": 0.07,
    "hospitality": 0.06,
    "media": 0.06,
    "nonprofit": 0.05,
    "other": 0.04,
}
FOLLOWERS_SHARES = {  # F04 publishes lt_10k; bigger accounts are rarer
    "lt_10k": 0.44,
    "f10k_50k": 0.22,
    "f50k_100k": 0.11,
    "f100k_250k": 0.10,
    "f250k_500k": 0.06,
    "f500k_1m": 0.04,
    "f1m_plus": 0.03,
}


# --- How they answer ---------------------------------------------------------------------
@dataclass(frozen=True)
class Ordinal:
    """Ordinal logit (or probit): P(answer among order[:j+1]) = sigmoid(cuts[j] + score).

    score = sum over parent questions of effects[parent][the parent's answer] (0 if absent):
    a higher score moves answers towards order[0]. Parents are listed report segment
    first; the draw stratifies by them in that order.
    """

    order: tuple[str, ...]
    cuts: tuple[float, ...]
    effects: Mapping[str, Mapping[str, float]]
    link: str = "logit"  # or "probit": a normal latent, with thinner tails


@dataclass(frozen=True)
class MultiSelect:
    """Select-all-that-apply: the exclusive option first (a binary Ordinal ('none', 'some')),
    then each other option independently with logit base[option] + parent effects (a float
    shifts every option, a mapping the options it names). A respondent left with no option
    gets one, drawn in proportion to their option probabilities."""

    none: Ordinal
    base: Mapping[str, float]
    effects: Mapping[str, Mapping[str, float | Mapping[str, float]]]


AGREE5 = ("strongly_agree", "agree", "neutral", "disagree", "strongly_disagree")
FREQUENCY_WAVE_SHIFT = 0.35  # per wave after 2023: more frequent use, as the 2024 plans announce (F18a)

# Calibrated offline by least squares on the model's expected (not sampled) figures: the published
# ones, plus plausible shapes for what the report does not give. Parents are listed report segment
# first. Effects are net of the other parents: e.g. company use rises with followers mostly through
# frequency, which rises with followers.
TEAM_SIZE = Ordinal(  # F03; bigger accounts have bigger teams
    order=("t51_plus", "t11_50", "t2_10", "solo"),
    cuts=(-3.81, -2.273, 1.551),
    effects={
        "followers": {
            "lt_10k": 0.0,
            "f10k_50k": 0.5,
            "f50k_100k": 0.9,
            "f100k_250k": 1.3,
            "f250k_500k": 1.7,
            "f500k_1m": 2.1,
            "f1m_plus": 2.6,
        },
    },
)
FREQUENCY = Ordinal(  # F08a-c, F09a-d, F10a-c; seniors and bigger accounts use AI more
    order=("daily", "few_per_week", "weekly", "few_per_month", "rarely", "never"),
    cuts=(-2.345, -1.02, -0.201, 0.629, 1.595),
    effects={
        "followers": {
            "lt_10k": 0.0,
            "f10k_50k": 0.376,
            "f50k_100k": 0.817,
            "f100k_250k": 1.36,
            "f250k_500k": 1.408,
            "f500k_1m": 1.926,
            "f1m_plus": 2.167,
        },
        "role": {"vp": 0.473, "senior_director": 0.981, "manager": 0.0, "entry": -0.732},
    },
)
INTEREST = Ordinal(  # F05a-b, F06a-b, F07 (probit: thin tails, so almost nobody above 250k followers does not care)
    order=("very", "somewhat", "neutral", "not_very", "dont_care"),
    cuts=(-0.435, 0.661, 1.366, 2.282),
    effects={
        "ai_frequency": {
            "daily": 0.322,
            "few_per_week": 0.151,
            "weekly": 0.0,
            "few_per_month": -0.284,
            "rarely": -0.539,
            "never": -1.194,
        },
        "followers": {
            "lt_10k": 0.0,
            "f10k_50k": 0.048,
            "f50k_100k": 0.082,
            "f100k_250k": 0.079,
            "f250k_500k": 0.296,
            "f500k_1m": 0.242,
            "f1m_plus": 0.228,
        },
    },
    link="probit",
)
USEFUL = Ordinal(  # F11, F12, F13a-c, F14a-b
    order=("strongly_agree", "agree", "neutral", "disagree", "strongly_disagree"),
    cuts=(-1.229, 1.049, 2.294, 3.52),
    effects={
        "followers": {
            "lt_10k": 0.0,
            "f10k_50k": 0.024,
            "f50k_100k": -0.009,
            "f100k_250k": -0.105,
            "f250k_500k": 0.765,
            "f500k_1m": 0.82,
            "f1m_plus": 0.702,
        },
        "ai_frequency": {
            "daily": 0.566,
            "few_per_week": 0.288,
            "weekly": 0.0,
            "few_per_month": -0.578,
            "rarely": -1.038,
            "never": -2.058,
        },
        "role": {"vp": 0.247, "senior_director": 0.106, "manager": 0.0, "entry": -0.321},
    },
)
THREAT = Ordinal(  # no published figure: entry level feel most threatened
    order=("strongly_agree", "agree", "neutral", "disagree", "strongly_disagree"),
    cuts=(-2.315, -0.783, 0.408, 1.994),
    effects={
        "role": {"vp": -0.988, "senior_director": -0.42, "manager": 0.0, "entry": 0.452},
        "ai_frequency": {
            "daily": -0.11,
            "few_per_week": -0.124,
            "weekly": 0.0,
            "few_per_month": -0.043,
            "rarely": 0.042,
            "never": 0.167,
        },
    },
)
COMPANY_USES = Ordinal(  # F16, F17a-c
    order=("yes", "no"),
    cuts=(2.093,),
    effects={
        "followers": {
            "lt_10k": 0.0,
            "f10k_50k": -0.029,
            "f50k_100k": -0.097,
            "f100k_250k": -0.435,
            "f250k_500k": -0.645,
            "f500k_1m": -0.254,
            "f1m_plus": -0.06,
        },
        "ai_frequency": {
            "daily": 0.696,
            "few_per_week": 0.253,
            "weekly": 0.0,
            "few_per_month": -0.622,
            "rarely": -1.082,
            "never": -2.244,
        },
    },
)
PLANS = Ordinal(  # F18a-b, F19a-c, F20a-b
    order=("increase", "same", "decrease"),
    cuts=(0.918, 2.577),
    effects={
        "followers": {
            "lt_10k": 0.0,
            "f10k_50k": 0.106,
            "f50k_100k": 0.105,
            "f100k_250k": 0.935,
            "f250k_500k": 0.772,
            "f500k_1m": 1.103,
            "f1m_plus": 0.76,
        },
        "ai_frequency": {
            "daily": 0.66,
            "few_per_week": 0.142,
            "weekly": 0.0,
            "few_per_month": -0.281,
            "rarely": -0.63,
            "never": -1.38,
        },
        "company_uses_ai": {"yes": 0.0, "no": -1.271},
    },
)
WANT_MORE = Ordinal(  # F21a-b, F22, F23a-d, F24a-c
    order=("yes", "not_sure", "no"),
    cuts=(1.568, 2.295),
    effects={
        "followers": {
            "lt_10k": 0.0,
            "f10k_50k": -0.123,
            "f50k_100k": -0.184,
            "f100k_250k": -0.306,
            "f250k_500k": 0.411,
            "f500k_1m": 0.451,
            "f1m_plus": -0.022,
        },
        "ai_frequency": {
            "daily": 0.34,
            "few_per_week": 0.133,
            "weekly": 0.0,
            "few_per_month": -0.806,
            "rarely": -1.431,
            "never": -2.79,
        },
        "role": {"vp": 0.17, "senior_director": 0.1, "manager": 0.0, "entry": 0.069},
    },
)
AI_USES = MultiSelect(  # F15a-d; never-users pick 'none'
    none=Ordinal(
        order=("none", "some"),
        cuts=(-2.994,),
        effects={
            "ai_frequency": {
                "daily": -3.0,
                "few_per_week": -2.5,
                "weekly": -1.6,
                "few_per_month": -0.6,
                "rarely": 0.9,
                "never": 4.8,
            },
        },
    ),
    base={
        "visuals": -0.216,
        "post_ideas": -0.515,
        "copywriting": -0.658,
        "ads": -0.781,
        "ad_targeting": -1.549,
        "analytics": -1.199,
        "scheduling": -1.323,
        "replies": -1.755,
        "other": -3.443,
    },
    effects={
        "ai_frequency": {
            "daily": 0.9,
            "few_per_week": 0.5,
            "weekly": 0.2,
            "few_per_month": -0.2,
            "rarely": -0.7,
            "never": -1.6,
        },
        "role": {
            "vp": {"analytics": 0.4, "ads": 0.3, "replies": -0.4},
            "senior_director": {"analytics": 0.2, "ad_targeting": 0.2},
            "entry": {"scheduling": 0.3, "replies": 0.4, "visuals": 0.2, "analytics": -0.3},
        },
    },
)
USES_2025 = MultiSelect(  # F25a-d, F26a-g
    none=Ordinal(
        order=("none", "some"),
        cuts=(-4.709,),
        effects={
            "want_more_ai": {"yes": 0.0, "not_sure": 2.2, "no": 4.0},
            "ai_frequency": {"daily": -1.0, "few_per_week": -0.6, "weekly": -0.3, "rarely": 0.5, "never": 1.2},
        },
    ),
    base={
        "visuals": -0.375,
        "post_ideas": -0.422,
        "copywriting": -0.568,
        "ads": -0.841,
        "ad_targeting": -1.177,
        "analytics": -0.749,
        "research": -1.059,
    },
    effects={
        "role": {
            "vp": {"visuals": 0.14, "post_ideas": 0.389, "copywriting": 0.766, "analytics": 0.3, "research": 0.3},
            "senior_director": {"visuals": 0.346, "post_ideas": -0.029, "copywriting": 0.029},
            "entry": {"visuals": 0.065, "post_ideas": 0.33, "copywriting": 0.032, "ads": -0.2, "research": 0.1},
        },
        "ai_frequency": {
            "daily": 0.4,
            "few_per_week": 0.3,
            "weekly": 0.1,
            "few_per_month": -0.1,
            "rarely": -0.3,
            "never": -0.7,
        },
        "want_more_ai": {"yes": 0.3, "not_sure": -0.2, "no": -0.8},
    },
)
BARRIERS = MultiSelect(  # F27a-b
    none=Ordinal(
        order=("none", "some"),
        cuts=(-2.841,),
        effects={
            "ai_frequency": {"daily": 0.8, "few_per_week": 0.4, "rarely": -0.3, "never": -0.5},
        },
    ),
    base={
        "org_experience": -0.54,
        "understanding": -0.692,
        "cost": -1.088,
        "privacy": -0.856,
        "quality": -1.006,
        "brand_voice": -1.424,
        "legal": -1.433,
    },
    effects={
        "ai_frequency": {
            "daily": {"understanding": -0.7, "quality": 0.4, "brand_voice": 0.4, "cost": 0.2},
            "few_per_week": {"understanding": -0.4, "quality": 0.3, "brand_voice": 0.3},
            "few_per_month": {"understanding": 0.2, "org_experience": 0.1},
            "rarely": {"understanding": 0.5, "org_experience": 0.2, "quality": -0.2},
            "never": {"understanding": 0.8, "org_experience": 0.3, "quality": -0.4, "brand_voice": -0.3},
        },
        "team_size": {
            "solo": {"org_experience": 0.4, "cost": 0.4, "legal": -0.3},
            "t11_50": {"privacy": 0.2, "legal": 0.2, "org_experience": -0.1},
            "t51_plus": {"privacy": 0.4, "legal": 0.4, "org_experience": -0.3, "cost": -0.3},
        },
    },
)


# --- Draws -------------------------------------------------------------------------------
def _allocate(rng: np.random.Generator, shares: Mapping[str, float] | np.ndarray, n: int) -> np.ndarray:
    """Option indices with counts exactly proportional to `shares` (largest remainder), shuffled."""
    p = np.asarray(list(shares.values()) if isinstance(shares, Mapping) else shares, dtype=float)
    raw = p / p.sum() * n
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(counts - raw, kind="stable")[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(p)), counts))


_erf = np.vectorize(math.erf, otypes=[float])  # only ever applied per cell, never per respondent


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _effect(table: Mapping[str, float], parent: str) -> np.ndarray:
    return np.array([table.get(code, 0.0) for code in codebook().question(parent).option_codes])


def _ordinal_probs(model: Ordinal, codes: Mapping[str, np.ndarray], shift: float = 0.0) -> np.ndarray:
    """P(each answer in model.order): one row per entry of the code arrays (respondents or cells)."""
    score = shift + sum((_effect(table, parent)[codes[parent]] for parent, table in model.effects.items()), 0.0)
    latent = np.asarray(model.cuts)[None, :] + np.asarray(score, dtype=float).reshape(-1, 1)
    cdf = _sigmoid(latent) if model.link == "logit" else 0.5 * (1 + _erf(latent / math.sqrt(2)))
    cdf = np.hstack([cdf, np.ones((cdf.shape[0], 1))])
    return np.diff(cdf, axis=1, prepend=0.0)


def _option_probs(model: MultiSelect, codes: Mapping[str, np.ndarray]) -> np.ndarray:
    """P(each non-exclusive option, in model.base order): one row per entry of the code arrays."""
    options = list(model.base)
    logit = np.asarray(list(model.base.values()))[None, :]
    for parent, table in model.effects.items():
        parent_codes = codebook().question(parent).option_codes
        matrix = np.array(
            [
                [shift.get(option, 0.0) if isinstance(shift, Mapping) else shift for option in options]
                for shift in (table.get(code, 0.0) for code in parent_codes)
            ]
        )
        logit = logit + matrix[codes[parent]]
    return _sigmoid(logit)


def _cells(codes: Mapping[str, np.ndarray], parents: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each respondent's cell (combination of parents' answers) and every cell's parents' answers."""
    shape = tuple(len(codebook().question(parent).options) for parent in parents)
    cell = np.ravel_multi_index(tuple(codes[parent] for parent in parents), shape)
    return cell, dict(zip(parents, np.unravel_index(np.arange(int(np.prod(shape))), shape)))


def _order(rng: np.random.Generator, cell: np.ndarray) -> np.ndarray:
    """Respondents sorted by cell (report segments first), in random order within a cell."""
    shuffled = rng.permutation(cell.size)
    return shuffled[np.argsort(cell[shuffled].astype(np.int16), kind="stable")]  # radix sort: cells < 2**15


def _systematic(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """Deville's systematic sampling: unit i is drawn with probability p[i], and any run of
    consecutive units draws sum(p) rounded up or down."""
    cum = np.cumsum(p)
    cum += rng.random()
    np.floor(cum, out=cum)
    hits = np.empty(p.size, dtype=bool)
    hits[0] = cum[0] >= 1
    np.greater(cum[1:], cum[:-1], out=hits[1:])
    return hits


def _draw_binary(
    rng: np.random.Generator, p_cell: np.ndarray, cell: np.ndarray, eligible: np.ndarray | None = None
) -> np.ndarray:
    order = _order(rng, cell)
    p = p_cell[cell[order]] if eligible is None else p_cell[cell[order]] * eligible[order]
    hits = np.empty(cell.size, dtype=bool)
    hits[order] = _systematic(rng, p)
    return hits


def _draw_categorical(rng: np.random.Generator, p_cell: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """One category per respondent (p_cell: cells x categories), by successive binary systematic
    draws: the first category, else the second given not the first, and so on."""
    order = _order(rng, cell)
    sorted_cell = cell[order]
    tail = np.cumsum(p_cell[:, ::-1], axis=1)[:, ::-1]  # P(this category or a later one)
    conditional = np.divide(p_cell, tail, out=np.zeros_like(p_cell), where=tail > 1e-12).clip(0.0, 1.0)
    drawn = np.full(cell.size, p_cell.shape[1] - 1)
    undecided = np.ones(cell.size, dtype=bool)
    for j in range(p_cell.shape[1] - 1):
        hit = _systematic(rng, conditional[:, j][sorted_cell] * undecided)
        drawn[hit] = j
        undecided &= ~hit
    result = np.empty_like(drawn)
    result[order] = drawn
    return result


def _draw_single(rng, question: Question, model: Ordinal, codes, shift: float = 0.0) -> np.ndarray:
    """Option indices (questionnaire order) of a single-choice answer."""
    cell, cell_codes = _cells(codes, list(model.effects))
    drawn = _draw_categorical(rng, _ordinal_probs(model, cell_codes, shift), cell)
    return np.array([question.option_codes.index(code) for code in model.order])[drawn]


def _draw_multi(rng, question: Question, model: MultiSelect, codes) -> np.ndarray:
    """Boolean matrix, one row per respondent, one column per option in questionnaire order."""
    cell, cell_codes = _cells(codes, list(dict.fromkeys([*model.effects, *model.none.effects])))
    none = _draw_binary(rng, _ordinal_probs(model.none, cell_codes)[:, 0], cell)
    p_cell = _option_probs(model, cell_codes)
    picks = np.column_stack([_draw_binary(rng, p_cell[:, j], cell, ~none) for j in range(p_cell.shape[1])])
    empty = np.flatnonzero(~none & ~picks.any(axis=1))  # nothing picked: one option, in proportion
    cum = np.cumsum(p_cell[cell[empty]], axis=1)
    picks[empty, (cum < rng.random(empty.size)[:, None] * cum[:, -1:]).sum(axis=1)] = True
    matrix = np.zeros((cell.size, len(question.options)), dtype=bool)
    matrix[:, [question.option_codes.index(option) for option in model.base]] = picks
    matrix[:, question.option_codes.index(question.exclusive_codes[0])] = none
    return matrix


# --- Metadata and free text --------------------------------------------------------------
FIELDWORK_START, FIELDWORK_DAYS = datetime(2023, 10, 2), 45  # Oct 2 - Nov 15; later waves +1 year each
DURATION_MEDIAN_S, DURATION_SIGMA, DURATION_BOUNDS_S = 420.0, 0.45, (150.0, 3600.0)
EMAIL_SHARE, COMMENT_SHARE = 0.5, 0.2
LANGUAGES = ("en", "fr")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
FIRST_NAMES = {  # language -> ASCII spellings as in addresses; pools of one length per table
    "en": (
        "james",
        "mary",
        "john",
        "patricia",
        "robert",
        "jennifer",
        "michael",
        "linda",
        "david",
        "susan",
        "daniel",
        "emma",
    ),
    "fr": (
        "jean",
        "marie",
        "pierre",
        "nathalie",
        "nicolas",
        "isabelle",
        "julien",
        "camille",
        "thomas",
        "helene",
        "antoine",
        "chloe",
    ),
}
LAST_NAMES = {
    "en": (
        "smith",
        "johnson",
        "williams",
        "brown",
        "jones",
        "miller",
        "davis",
        "wilson",
        "taylor",
        "clark",
        "walker",
        "young",
    ),
    "fr": (
        "martin",
        "bernard",
        "dubois",
        "thomas",
        "robert",
        "richard",
        "petit",
        "durand",
        "leroy",
        "moreau",
        "simon",
        "lefebvre",
    ),
}
INDUSTRY_OTHER_TEXT = {
    "en": ("Real estate", "Public sector", "Agriculture", "Automotive", "Energy", "Legal services", "Sports"),
    "fr": ("Immobilier", "Secteur public", "Agriculture", "Automobile", "Énergie", "Services juridiques", "Sport"),
}
AI_USES_OTHER_TEXT = {
    "en": ("Translating posts", "Video subtitles", "Hashtag research", "Moderating comments", "Writing alt text"),
    "fr": (
        "Traduction des publications",
        "Sous-titres vidéo",
        "Recherche de hashtags",
        "Modération des commentaires",
        "Textes alternatifs",
    ),
}
COMMENTS = {  # sentiment (follows ai_useful: top2, neither, bottom2) -> language -> sentences
    "positive": {
        "en": (
            "AI saves me hours every week on first drafts.",
            "Great for brainstorming post ideas when I'm stuck.",
            "Our team can finally keep up with the posting calendar.",
            "It works best as an assistant, not a replacement.",
        ),
        "fr": (
            "L'IA me fait gagner des heures chaque semaine sur les premiers jets.",
            "Très utile pour trouver des idées de publications quand je bloque.",
            "Notre équipe arrive enfin à tenir le calendrier de publication.",
            "Ça marche mieux comme assistant que comme remplaçant.",
        ),
    },
    "neutral": {
        "en": (
            "Still early days for us, we are testing a few tools.",
            "Hard to say yet whether it pays off.",
            "Management is interested but there is no budget yet.",
            "We need clear guidelines before using it more.",
        ),
        "fr": (
            "C'est encore le début pour nous, nous testons quelques outils.",
            "Difficile de dire pour l'instant si c'est rentable.",
            "La direction est intéressée mais il n'y a pas encore de budget.",
            "Il nous faut des règles claires avant de l'utiliser davantage.",
        ),
    },
    "negative": {
        "en": (
            "The output sounds generic and off-brand.",
            "Too many errors, we rewrite almost everything.",
            "Worried about copyright and where our data goes.",
            "Audiences can tell when a post was written by AI.",
        ),
        "fr": (
            "Les résultats sont génériques et ne collent pas à notre marque.",
            "Trop d'erreurs, nous réécrivons presque tout.",
            "Inquiet pour les droits d'auteur et l'utilisation de nos données.",
            "Le public voit bien quand une publication est écrite par une IA.",
        ),
    },
}


def _pick(rng: np.random.Generator, pools: list[tuple[str, ...]], key: np.ndarray) -> pl.Series:
    """One random text per row from pools[key] (pools of one length)."""
    flat = pl.Series([text for pool in pools for text in pool], dtype=pl.Utf8)
    return flat.gather(key * len(pools[0]) + rng.integers(0, len(pools[0]), key.size))


def _text(option_codes: list[str] | tuple[str, ...], index: np.ndarray) -> pl.Series:
    return pl.Series(list(option_codes), dtype=pl.Utf8).gather(index)


def _timestamps(rng: np.random.Generator, n: int, wave: int) -> tuple[pl.Series, pl.Series]:
    """Sorted starts over the fieldwork (launch, reminder, last call; office hours) and lognormal durations."""
    day = np.arange(FIELDWORK_DAYS)
    weight = (
        0.15
        + np.exp(-day / 4)
        + 0.6 * np.exp(-(day - 14) / 3) * (day >= 14)
        + 0.4 * np.exp(-(day - 35) / 3) * (day >= 35)
    )
    seconds = np.sort(rng.choice(day, n, p=weight / weight.sum()) * 86_400 + (5 + 17.5 * rng.beta(2.2, 2.0, n)) * 3_600)
    duration = np.clip(DURATION_MEDIAN_S * np.exp(rng.normal(0, DURATION_SIGMA, n)), *DURATION_BOUNDS_S)
    start = np.datetime64(FIELDWORK_START.replace(year=wave), "us") + (seconds * 1e6).astype("timedelta64[us]")
    end = start + (duration * 1e6).astype("timedelta64[us]")
    return tuple(pl.Series(s).dt.replace_time_zone("UTC") for s in (start, end))


def _emails(rng: np.random.Generator, language: np.ndarray) -> pl.Series:
    """first.last@example.* for about half the respondents, numbered where an address repeats."""
    size = len(FIRST_NAMES["en"])
    first, last = (rng.integers(0, size, language.size) + language * size for _ in range(2))
    domain = rng.integers(0, len(EMAIL_DOMAINS), language.size)
    parts = pl.DataFrame(
        {
            "first": pl.Series([name for pool in FIRST_NAMES.values() for name in pool]).gather(first),
            "last": pl.Series([name for pool in LAST_NAMES.values() for name in pool]).gather(last),
            "domain": _text(EMAIL_DOMAINS, domain),
            "key": (first * 2 * size + last) * len(EMAIL_DOMAINS) + domain,
            "given": rng.random(language.size) < EMAIL_SHARE,
        }
    )
    repeat = pl.col("key").cum_count().over("key")
    number = pl.when(repeat > 1).then(repeat.cast(pl.Utf8)).otherwise(pl.lit(""))
    email = pl.concat_str("first", pl.lit("."), "last", number, pl.lit("@"), "domain")
    return parts.select(pl.when("given").then(email).alias("email")).to_series()


def _ip_addresses(rng: np.random.Generator, n: int) -> pl.Series:
    """Distinct IPv4: documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24) then 10/8."""
    doc = rng.permutation(3 * 254)[: min(n * 3 // 10, 3 * 254)]
    space = 256 * 256 * 254  # 10.a.b.c with c in 1..254; an affine map modulo `space` is a bijection
    step = int(rng.integers(1, space // 2)) * 2 + 1
    step += 2 * (step % 127 == 0)
    host = (step * np.arange(n - doc.size, dtype=np.int64) + int(rng.integers(0, space))) % space
    octets = pl.DataFrame(
        {
            "net": np.concatenate([np.array([192, 198, 203])[doc // 254], np.full(host.size, 10)]),
            "a": np.concatenate([np.array([0, 51, 0])[doc // 254], host // (256 * 254)]),
            "b": np.concatenate([np.array([2, 100, 113])[doc // 254], host // 254 % 256]),
            "c": np.concatenate([doc % 254, host % 254]) + 1,
        }
    )
    return (
        octets.select(pl.concat_str("net", "a", "b", "c", separator=".").alias("ip_address"))
        .to_series()
        .gather(rng.permutation(n))
    )


def _as_lists(matrix: np.ndarray, option_codes: list[str]) -> pl.Series:
    """Boolean matrix -> List(Utf8) of the chosen codes, in questionnaire order."""
    offsets = np.concatenate([[0], np.cumsum(matrix.sum(axis=1))]).astype(np.int32)
    values = _text(option_codes, np.nonzero(matrix)[1])
    return pl.from_arrow(pa.ListArray.from_arrays(pa.array(offsets), values.to_arrow()))


# --- The study ---------------------------------------------------------------------------
SINGLE_MODELS = {  # drawn in this order: parents first
    "team_size": TEAM_SIZE,
    "ai_frequency": FREQUENCY,
    "ai_interest": INTEREST,
    "ai_useful": USEFUL,
    "ai_threat": THREAT,
    "company_uses_ai": COMPANY_USES,
    "plans_2024": PLANS,
    "want_more_ai": WANT_MORE,
}
MULTI_MODELS = {"ai_uses": AI_USES, "uses_2025": USES_2025, "barriers": BARRIERS}


def simulate_respondents(*, n: int = 2334, seed: int = 2023, wave: int = 2023) -> pl.DataFrame:
    """Clean respondents of the demo study. One row per respondent, in order of start time.

    Columns: respondent, channel, language, started_at, submitted_at, email, ip_address, one
    Utf8 option code per single-choice question, one List(Utf8) per multi-select question,
    industry_other, ai_uses_other, comment. Later waves use AI more and run a year later each.
    """
    if n < 1 or wave < FIELDWORK_START.year:
        raise ValueError(f"need n >= 1 and wave >= {FIELDWORK_START.year}, got n={n}, wave={wave}")
    rng = np.random.default_rng(seed)
    cb = codebook()
    channel = _allocate(rng, CHANNEL_SHARES, n)
    language = np.isin(channel, [list(CHANNEL_SHARES).index(c) for c in FRENCH_CHANNELS]).astype(np.int64)
    # role x followers cells are allocated exactly, so every followers band has the sample's role mix
    joint = np.outer(list(ROLE_SHARES.values()), list(FOLLOWERS_SHARES.values())).ravel()
    role, followers = np.divmod(_allocate(rng, joint, n), len(FOLLOWERS_SHARES))
    codes = {"role": role, "industry": _allocate(rng, INDUSTRY_SHARES, n), "followers": followers}
    for code, model in SINGLE_MODELS.items():
        shift = FREQUENCY_WAVE_SHIFT * (wave - FIELDWORK_START.year) if code == "ai_frequency" else 0.0
        codes[code] = _draw_single(rng, cb.question(code), model, codes, shift)
    picks = {code: _draw_multi(rng, cb.question(code), model, codes) for code, model in MULTI_MODELS.items()}
    started_at, submitted_at = _timestamps(rng, n, wave)  # rows are exchangeable: sorted starts keep them random
    columns = {
        "respondent": pl.int_range(1, n + 1, dtype=pl.Int64, eager=True),
        "channel": _text(list(CHANNEL_SHARES), channel),
        "language": _text(LANGUAGES, language),
        "started_at": started_at,
        "submitted_at": submitted_at,
        "email": _emails(rng, language),
        "ip_address": _ip_addresses(rng, n),
    }
    for question in cb.closed:
        if question.type == "multi":
            columns[question.code] = _as_lists(picks[question.code], question.option_codes)
        elif question.code in codes:
            columns[question.code] = _text(question.option_codes, codes[question.code])
        else:  # the attention check: attentive respondents answer as asked
            columns[question.code] = pl.repeat(question.expected, n, dtype=pl.Utf8, eager=True)
    sentiment = np.array([0, 0, 1, 2, 2])[codes["ai_useful"]]  # COMMENTS order: top2, neither, bottom2
    texts = {
        "industry_other": (_pick(rng, list(INDUSTRY_OTHER_TEXT.values()), language), columns["industry"] == "other"),
        "ai_uses_other": (
            _pick(rng, list(AI_USES_OTHER_TEXT.values()), language),
            columns["ai_uses"].list.contains("other"),
        ),
        "comment": (
            _pick(rng, [p for s in COMMENTS.values() for p in s.values()], sentiment * 2 + language),
            pl.Series(rng.random(n) < COMMENT_SHARE),
        ),
    }
    return pl.DataFrame(columns).with_columns(
        pl.when(mask).then(text).alias(name) for name, (text, mask) in texts.items()
    )


# --- Defects -----------------------------------------------------------------------------
DEFECT_COUNTS = {  # per 2,334 respondents, scaled with n and jittered by up to 10% per seed
    "speeder": 30,
    "straightliner": 20,
    "attention_failed": 25,
    "duplicate": 1.5,
    "invalid_answer": 8,
    "missing_required": 8,
    "exclusive_conflict": 4,
    "pii_in_comment": 3,
    "gibberish": 3,
}
SPEEDER_SECONDS = (40.0, 80.0)  # under a fifth of the median duration
UNTIMED_CHANNELS = ("google_forms",)  # records only the submission time: no speeder can be seen there
INATTENTIVE_ANSWERS = {"agree": 0.35, "neutral": 0.3, "strongly_agree": 0.2, "strongly_disagree": 0.15}
INVALID_ANSWERS = {  # question -> language -> a label no option has (numeric exports: a position past the end)
    "ai_frequency": {"en": "Sometimes", "fr": "Parfois"},
    "role": {"en": "Intern", "fr": "Stagiaire"},
    "team_size": {"en": "100+", "fr": "100 et plus"},
    "company_uses_ai": {"en": "Maybe", "fr": "Peut-être"},
    "want_more_ai": {"en": "Maybe later", "fr": "Plus tard"},
    "ai_interest": {"en": "Extremely", "fr": "Passionné"},
}
PII_COMMENTS = {
    "en": ("Happy to talk, contact me at {email}", "Call me for details: +33 6 12 34 56 78"),
    "fr": ("Contactez-moi à {email} pour en parler", "Appelez-moi au +33 6 12 34 56 78"),
}
GIBBERISH = {
    "en": ("asdfghjkl qwerty", "sdfsdf sdf sdf", "jjjjjjjjjjjj"),
    "fr": ("azerty qsdfghjklm", "qsdqsd qsd", "mmmmmmmmmmmm"),
}


def _defect_counts(rng: np.random.Generator, n: int) -> dict[str, int]:
    counts = {d: max(1, round(base * n / 2334 * rng.uniform(0.9, 1.1))) for d, base in DEFECT_COUNTS.items()}
    if sum(counts.values()) > n // 2:
        raise ValueError(f"n={n} is too small to hold {sum(counts.values())} defect rows")
    return counts


def _without(pool: np.ndarray, rows: np.ndarray) -> np.ndarray:
    drop = np.zeros(max(pool.max(initial=-1), rows.max(initial=-1)) + 1, dtype=bool)
    drop[rows] = True
    return pool[~drop[pool]]


def _take(pool: np.ndarray, k: int, ok: np.ndarray) -> np.ndarray:
    """The first k rows of `pool` where `ok` holds."""
    return pool[ok[pool]][:k]


def _spread(rng: np.random.Generator, frame: pl.DataFrame, candidates: np.ndarray, k: int) -> np.ndarray:
    """k of the candidate rows: a systematic sample along them sorted by followers band, then by how
    many headline answers they give (F13, F17, F19, F23), so that excluding them leaves small
    segments' figures where they were. Every candidate is equally likely to be drawn."""
    headline = (
        pl.col("ai_useful").is_in(AGREE5[:2]).cast(pl.Int64)
        + pl.col("company_uses_ai").eq("yes")
        + pl.col("plans_2024").eq("increase")
        + pl.col("want_more_ai").eq("yes")
    )
    key = frame.select(pl.col("followers").rank("dense").cast(pl.Int64) * 10 + headline).to_series().to_numpy()
    order = candidates[np.argsort(key[candidates] + rng.random(candidates.size))]
    return order[np.floor(rng.random() + np.arange(k) * candidates.size / k).astype(np.int64)]


def _defect_rows(
    rng: np.random.Generator, frame: pl.DataFrame, counts: dict[str, int]
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Disjoint rows per defect, plus each duplicate's source row and the row left as its original."""
    language = frame["language"].to_numpy()
    sources = rng.choice(np.flatnonzero(frame["email"].is_not_null().to_numpy()), counts["duplicate"], replace=False)
    sources = sources[np.argsort(language[sources], kind="stable")]  # in LANGUAGES order
    pool = _without(rng.permutation(frame.height), sources)  # rows to spoil, in random order
    partners = np.concatenate([_take(pool, (language[sources] == lang).sum(), language == lang) for lang in LANGUAGES])
    pool = _without(pool, partners)
    # a source's answers fill its partner row (same language) too: the earlier row of the pair
    # is the respondent, the later one their copy
    original, rows = np.minimum(sources, partners), {"duplicate": np.maximum(sources, partners)}
    # half the straightliners line up on 'disagree': people who disagree anyway (useful in bottom 2),
    # so that keeping them in the base moves no published figure
    disagreeing = _take(pool, counts["straightliner"] // 2, frame["ai_useful"].is_in(AGREE5[3:]).to_numpy())
    pool = _without(pool, disagreeing)
    rest = {defect: count for defect, count in counts.items() if defect != "duplicate"}
    rest["straightliner"] -= disagreeing.size
    picked = rng.permutation(_spread(rng, frame, pool, sum(rest.values())))
    timed = ~frame["channel"].is_in(UNTIMED_CHANNELS).to_numpy()  # a speeder must be visible as one
    rows["speeder"] = picked[timed[picked]][: rest.pop("speeder")]
    picked = _without(picked, rows["speeder"])
    rows.update(zip(rest, np.split(picked, np.cumsum(list(rest.values()))[:-1])))
    rows["straightliner"] = np.concatenate([disagreeing, rows["straightliner"]])
    return rows, sources, original


def _patch(frame: pl.DataFrame, rows: np.ndarray, defect: str | None, **values) -> pl.DataFrame:
    """Overwrite `values` (one entry per row in `rows`) and name the defect on those rows."""
    patch = pl.DataFrame({"_row": rows.astype(np.int64), "defect": [defect] * rows.size, **values})
    patch = patch.cast({name: frame.schema[name] for name in patch.columns})
    return frame.update(patch, on="_row", include_nulls=True)


def _seconds(values: np.ndarray) -> pl.Series:
    return pl.Series(values * 1e6).cast(pl.Int64).cast(pl.Duration("us"))


# Spoilers: (rng, clean frame, rows) -> (rows, {column: new values}) patches.
def _speeders(rng, frame, r):
    yield r, {"submitted_at": frame["started_at"].gather(r) + _seconds(rng.uniform(*SPEEDER_SECONDS, r.size))}


def _straightliners(rng, frame, r):  # the first half on 'disagree' (they pass the attention check), the rest on 'agree'
    line = np.where(np.arange(r.size) < r.size // 2, "disagree", "agree")
    yield r, {q.code: line for q in codebook().grid_items("opinions")}


def _attention_failures(rng, frame, r):
    yield r, {"attention_check": rng.choice(list(INATTENTIVE_ANSWERS), r.size, p=list(INATTENTIVE_ANSWERS.values()))}


def _invalid_answers(rng, frame, r):  # a label no option has, or a position past the last option
    question, numeric, language = (
        rng.choice(list(INVALID_ANSWERS), r.size),
        rng.random(r.size) < 0.5,
        frame["language"].gather(r),
    )
    for code in np.unique(question):
        position = str(len(codebook().question(code).options) + 1)
        raw = [
            position if num else INVALID_ANSWERS[code][lang]
            for num, lang in zip(numeric[question == code], language.filter(question == code))
        ]
        yield r[question == code], {code: ["!" + text for text in raw]}


def _missing_answers(rng, frame, r):
    question = rng.choice([q.code for q in codebook().closed if q.required], r.size)
    for code in np.unique(question):
        yield (
            r[question == code],
            {code: [[] if codebook().question(code).type == "multi" else None] * (question == code).sum()},
        )


def _exclusive_conflicts(rng, frame, r):
    question = rng.choice([q.code for q in codebook().multi], r.size)
    for code in np.unique(question):
        q, at = codebook().question(code), r[question == code]
        others = [o for o in q.option_codes if o not in q.exclusive_codes]
        kept = [
            [o for o in picked if o in others] or [others[rng.integers(len(others))]]
            for picked in frame[code].gather(at).to_list()
        ]
        yield at, {code: [picked + q.exclusive_codes for picked in kept]}


def _pii_comments(rng, frame, r):  # alternately an email address and a phone number
    name = pl.Series(FIRST_NAMES["en"]).gather(rng.integers(0, len(FIRST_NAMES["en"]), r.size))
    language = frame["language"].gather(r)
    yield (
        r,
        {
            "comment": [
                PII_COMMENTS[lang][k % 2].format(email=f"{name[k]}.doe@example.org") for k, lang in enumerate(language)
            ]
        },
    )


def _gibberish(rng, frame, r):
    yield (
        r,
        {"comment": [GIBBERISH[lang][k] for lang, k in zip(frame["language"].gather(r), rng.integers(0, 3, r.size))]},
    )


SPOILERS = {
    "speeder": _speeders,
    "straightliner": _straightliners,
    "attention_failed": _attention_failures,
    "invalid_answer": _invalid_answers,
    "missing_required": _missing_answers,
    "exclusive_conflict": _exclusive_conflicts,
    "pii_in_comment": _pii_comments,
    "gibberish": _gibberish,
}


def inject_defects(frame: pl.DataFrame, *, seed: int) -> tuple[pl.DataFrame, dict[str, int]]:
    """Turn clean respondents into realistic defects, at counts returned as {defect: rows}.

    One row per respondent, as in `frame` (defects replace respondents: the row count is
    unchanged), plus `defect` (Utf8, null on clean rows). Invalid answers are "!" + the raw
    text a tool would export; a duplicate copies an earlier respondent with later timestamps.
    """
    rng = np.random.default_rng(seed)
    counts = _defect_counts(rng, frame.height)
    frame = frame.with_row_index("_row").with_columns(defect=pl.lit(None, dtype=pl.Utf8))
    rows, sources, original = _defect_rows(rng, frame, counts)
    counts = {defect: int(rows[defect].size) for defect in counts}  # as drawn (a tiny n may fall short)
    spoiled = frame[np.sort(np.concatenate([original, *rows.values()]))]  # patched here, written back once
    metadata = ("_row", "respondent", "channel", "language", "started_at", "submitted_at", "defect")
    answers = frame[sources].select(c for c in frame.columns if c not in metadata).to_dict()
    r = rows["duplicate"]
    own_start = frame["started_at"].gather(r)
    earliest = frame["submitted_at"].gather(original) + _seconds(rng.uniform(60, 3_600, r.size))
    started = own_start.zip_with(own_start > earliest, earliest)  # after the original was submitted
    spoiled = _patch(spoiled, original, None, **answers)
    spoiled = _patch(
        spoiled,
        r,
        "duplicate",
        **answers,
        started_at=started,
        submitted_at=started + (frame["submitted_at"] - frame["started_at"]).gather(r),
    )
    for defect, spoil in SPOILERS.items():
        for at, values in spoil(rng, frame, rows[defect]):
            spoiled = _patch(spoiled, at, defect, **values)
    return frame.update(spoiled, on="_row", include_nulls=True).drop("_row"), counts


# --- Check against the report --------------------------------------------------------------
def _base_filter() -> pl.Expr:
    """Rows that enter a base: not speeders, attentive, first copy, valid, complete, consistent."""
    cb = codebook()
    duration = (pl.col("submitted_at") - pl.col("started_at")).dt.total_seconds(fractional=True)
    keep = [
        duration >= 0.2 * duration.median(),
        pl.col(cb.attention_check.code) == cb.attention_check.expected,
        pl.col("email").is_null() | (pl.col("started_at").rank("ordinal").over("email") == 1),
    ]
    for q in cb.single:
        keep.append(pl.col(q.code).is_null() | pl.col(q.code).is_in(q.option_codes))
        keep.append(pl.col(q.code).is_not_null() | (not q.required))
    for q in cb.multi:
        keep.append(pl.col(q.code).list.len().fill_null(0) > 0)
        keep.extend(
            ~(pl.col(q.code).list.contains(code) & (pl.col(q.code).list.len() > 1)) for code in q.exclusive_codes
        )
    return pl.all_horizontal(keep)


def published_check(frame: pl.DataFrame) -> pl.DataFrame:
    """Every published figure recomputed over the rows that enter a base. One row per figure:
    id, published_pct, computed_pct, diff (computed - published, percentage points)."""
    cb = codebook()
    figures = pl.read_csv(
        resources.files("schemas").joinpath("data/published_figures.csv").read_bytes(),
        schema_overrides={"published_pct": pl.Float64},
    )
    shares = []
    for figure in figures.iter_rows(named=True):
        code, answers = figure["question"], figure["answers"].split("|")
        segment = pl.lit(True)
        if figure["segment"] != "all":
            segment_code, segment_answers = figure["segment"].split("=")
            segment = pl.col(segment_code).is_in(segment_answers.split("|"))
        if cb.question(code).type == "multi":  # share of respondents who picked any of the answers
            hit, answered = (
                pl.any_horizontal(pl.col(code).list.contains(a) for a in answers),
                pl.col(code).list.len() > 0,
            )
        else:
            hit, answered = pl.col(code).is_in(answers), pl.col(code).is_not_null()
        shares.append((100 * hit.filter(segment & answered).mean()).alias(figure["id"]))
    computed = frame.filter(_base_filter()).select(shares).cast(pl.Float64).row(0)
    return (
        figures.select("id", "published_pct")
        .with_columns(computed_pct=pl.Series(computed, dtype=pl.Float64))
        .with_columns(diff=pl.col("computed_pct") - pl.col("published_pct"))
    )
