"""The report page's own words in English and French, and number formatting.

Question texts and option labels come from the questionnaire (schemas/codebook.py), in
any of the study's languages; section titles, captions and the names of segments, NETs
and derived segment groups come from the study's report outline (schemas/outline.py).
This module holds only the page's own words (legends, notes, table headers); a page in
another language than English or French shows them in English.
"""

from __future__ import annotations

from schemas.codebook import Codebook
from schemas.outline import Outline, in_language

LANGUAGES = ("en", "fr")  # the languages of the page's own words (UI); labels: any study language

UI: dict[str, dict[str, str]] = {
    "en": {
        "title": "Survey report: {study}",
        "wave": "Wave {wave}",
        "intro": "Every figure on this page is recomputed from the survey responses in the warehouse, "
        "with its base (n) and its 95% confidence interval. Where a published report printed a "
        "figure, it is drawn beside the recomputed one.",
        "as_of": "Data of the run published on {date} UTC (run {run_id}), warehouse {warehouse}.",
        "no_run": "No published run is recorded in this warehouse.",
        "responses": "responses",
        "excluded": "excluded by screening",
        "in_bases": "in the bases",
        "claims_reproduced": "published figures reproduced",
        "contents": "Contents",
        "how_to_read": "How to read the charts",
        "read_bar": "Bar: the recomputed percentage; whisker: its 95% confidence interval (Wilson).",
        "read_published": "Diamond: the figure printed in the published report.",
        "read_significant": "▲ / ▼: significantly higher / lower than the rest of the sample "
        "(two-proportion test, Benjamini-Hochberg adjusted p < 0.05).",
        "read_suppressed": "Grey hatched band: base under {minimum}, the percentage is not shown.",
        "read_net": "Darker bars after a dashed line: NETs, answers counted together (once per respondent).",
        "pts": "pts",
        "legend_change": "Change since wave {previous} (* significant)",
        "read_change": "+5 pts after a percentage: its change since wave {previous}, in percentage points; "
        "* marks a significant change (two-proportion test, adjusted p < 0.05).",
        "read_weighted": "The figures are weighted to the population targets (raking): percentages and intervals "
        "are weighted, bases are respondents.",
        "read_changes_weighted": "The changes since the previous wave and their tests are weighted too.",
        "read_changes_unweighted": "The changes since the previous wave and their tests are on unweighted figures.",
        "weighted_key": "weighted figures",
        "claims_wave": "Published figures of wave {wave}",
        "no_figures": "This study has no published figures (a study folder may hold a `published_figures.csv`).",
        "sec_claims": "The published figures, recomputed",
        "sec_quality": "Data quality",
        "cap_claims": "Every figure of the published report next to the one recomputed from the data: "
        "reproduced when it rounds to the published figure, within tolerance when within {tolerance} points.",
        "cap_quality": "What was read, what was rejected and why, and which responses were left out of the bases.",
        "all_respondents": "All respondents",
        "base_all": "Base: all respondents who answered, n = {n}",
        "base_varies": "Base: respondents who answered, n = {low} to {high}",
        "by": "by {segment}",
        "answer": "Answer: {answer}",
        "segment_value": "{segment}: {value}",
        "file_loaded": "loaded",
        "file_failed": "rejected",
        "legend_bar": "Recomputed % and 95% interval",
        "legend_published": "Published in the report",
        "legend_significant": "Significantly higher / lower than the rest",
        "legend_suppressed": "Base < {minimum}: not shown",
        "legend_low_base": "Base < {low}: read with caution",
        "suppressed_note": "n = {n}: base < {minimum}, not shown",
        "no_data": "No data for this question in wave {wave}.",
        "axis": "% of respondents",
        "col_id": "Id",
        "col_figure": "Figure",
        "col_published": "Published",
        "col_recomputed": "Recomputed",
        "col_interval": "95% interval",
        "col_base": "Base",
        "col_status": "Status",
        "status_reproduced": "reproduced",
        "status_within_tolerance": "within tolerance",
        "status_not_reproduced": "not reproduced",
        "status_contradicted": "contradicted",
        "status_below_minimum_base": "base under the minimum",
        "status_not_computable": "not computable",
        "contradiction": "The report contradicts itself: {text}. The data side with the other figure.",
        "claims_summary": "{reproduced} of {total} published figures are reproduced from the data, "
        "{within_tolerance} more within the tolerance.",
        "quality_files": "Files read",
        "quality_checks": "Rows quarantined, by check",
        "quality_flags": "Responses flagged by screening",
        "col_file": "File",
        "col_tool": "Tool / layout",
        "col_language": "Language",
        "col_rows_read": "Rows read",
        "col_accepted": "Accepted",
        "col_quarantined": "Quarantined",
        "col_superseded": "Superseded",
        "col_check": "Check",
        "col_rows": "Rows",
        "col_files": "Files",
        "col_flag": "Flag",
        "col_flagged": "Flagged",
        "col_excluded": "Excluded from bases",
        "none_quarantined": "No row was quarantined.",
        "flag_is_speeder": "Speeders (too fast)",
        "flag_is_straightliner": "Straight-liners (same answer on the whole grid)",
        "flag_is_attention_failed": "Failed the attention check",
        "flag_is_duplicate": "Duplicates",
        "flag_is_gibberish": "Gibberish comments",
        "flag_is_excluded": "Excluded (any flag of the policy)",
        "footer": "Built by `surveyhouse report` from the warehouse alone; open offline in any browser.",
    },
    "fr": {
        "title": "Rapport d'enquête : {study}",
        "wave": "Vague {wave}",
        "intro": "Chaque chiffre de cette page est recalculé à partir des réponses de l'entrepôt, avec sa "
        "base (n) et son intervalle de confiance à 95 %. Lorsqu'un rapport publié donnait un "
        "chiffre, il figure à côté du chiffre recalculé.",
        "as_of": "Données du traitement publié le {date} UTC (exécution {run_id}), entrepôt {warehouse}.",
        "no_run": "Aucun traitement publié n'est enregistré dans cet entrepôt.",
        "responses": "réponses",
        "excluded": "exclues par le filtrage",
        "in_bases": "dans les bases",
        "claims_reproduced": "chiffres publiés reproduits",
        "contents": "Sommaire",
        "how_to_read": "Comment lire les graphiques",
        "read_bar": "Barre : le pourcentage recalculé ; moustache : son intervalle de confiance à 95 % (Wilson).",
        "read_published": "Losange : le chiffre imprimé dans le rapport publié.",
        "read_significant": "▲ / ▼ : significativement plus haut / plus bas que le reste de l'échantillon "
        "(test de deux proportions, p ajusté Benjamini-Hochberg < 0,05).",
        "read_suppressed": "Bande grise hachurée : base inférieure à {minimum}, le pourcentage n'est pas affiché.",
        "read_net": "Barres plus foncées après un trait pointillé : regroupements (NET), réponses comptées "
        "ensemble (une fois par répondant).",
        "pts": "pts",
        "legend_change": "Évolution depuis la vague {previous} (* significative)",
        "read_change": "+5 pts après un pourcentage : son évolution depuis la vague {previous}, en points de "
        "pourcentage ; * signale une évolution significative (test de deux proportions, p ajusté < 0,05).",
        "read_weighted": "Les chiffres sont pondérés sur les cibles de population (calage) : pourcentages et "
        "intervalles pondérés, bases en répondants.",
        "read_changes_weighted": "Les évolutions depuis la vague précédente et leurs tests sont pondérés eux aussi.",
        "read_changes_unweighted": "Les évolutions depuis la vague précédente et leurs tests portent sur les "
        "chiffres non pondérés.",
        "weighted_key": "chiffres pondérés",
        "claims_wave": "Chiffres publiés de la vague {wave}",
        "no_figures": "Cette étude n'a pas de chiffres publiés (un dossier d'étude peut contenir un "
        "`published_figures.csv`).",
        "sec_claims": "Les chiffres publiés, recalculés",
        "sec_quality": "Qualité des données",
        "cap_claims": "Chaque chiffre du rapport publié à côté de celui recalculé à partir des données : "
        "reproduit s'il s'arrondit au chiffre publié, dans la tolérance s'il est à {tolerance} points près.",
        "cap_quality": "Ce qui a été lu, ce qui a été rejeté et pourquoi, et quelles réponses sont hors des bases.",
        "all_respondents": "Ensemble des répondants",
        "base_all": "Base : tous les répondants à la question, n = {n}",
        "base_varies": "Base : répondants à la question, n = {low} à {high}",
        "by": "selon {segment}",
        "answer": "Réponse : {answer}",
        "segment_value": "{segment} : {value}",
        "file_loaded": "chargé",
        "file_failed": "rejeté",
        "legend_bar": "% recalculé et intervalle à 95 %",
        "legend_published": "Publié dans le rapport",
        "legend_significant": "Significativement plus haut / plus bas que le reste",
        "legend_suppressed": "Base < {minimum} : non affiché",
        "legend_low_base": "Base < {low} : à lire avec prudence",
        "suppressed_note": "n = {n} : base < {minimum}, non affiché",
        "no_data": "Pas de données pour cette question dans la vague {wave}.",
        "axis": "% des répondants",
        "col_id": "Id",
        "col_figure": "Chiffre",
        "col_published": "Publié",
        "col_recomputed": "Recalculé",
        "col_interval": "Intervalle à 95 %",
        "col_base": "Base",
        "col_status": "Statut",
        "status_reproduced": "reproduit",
        "status_within_tolerance": "dans la tolérance",
        "status_not_reproduced": "non reproduit",
        "status_contradicted": "contredit",
        "status_below_minimum_base": "base sous le minimum",
        "status_not_computable": "non calculable",
        "contradiction": "Le rapport se contredit (explication de l'entrepôt, en anglais) : « {text} ». "
        "Les données donnent raison à l'autre chiffre.",
        "claims_summary": "{reproduced} chiffres publiés sur {total} sont reproduits à partir des données, "
        "{within_tolerance} de plus dans la tolérance.",
        "quality_files": "Fichiers lus",
        "quality_checks": "Lignes mises en quarantaine, par contrôle",
        "quality_flags": "Réponses signalées par le filtrage",
        "col_file": "Fichier",
        "col_tool": "Outil / format",
        "col_language": "Langue",
        "col_rows_read": "Lignes lues",
        "col_accepted": "Acceptées",
        "col_quarantined": "En quarantaine",
        "col_superseded": "Remplacées",
        "col_check": "Contrôle",
        "col_rows": "Lignes",
        "col_files": "Fichiers",
        "col_flag": "Signalement",
        "col_flagged": "Signalées",
        "col_excluded": "Exclues des bases",
        "none_quarantined": "Aucune ligne n'a été mise en quarantaine.",
        "flag_is_speeder": "Trop rapides",
        "flag_is_straightliner": "Même réponse sur toute la grille",
        "flag_is_attention_failed": "Échec au contrôle d'attention",
        "flag_is_duplicate": "Doublons",
        "flag_is_gibberish": "Commentaires incohérents",
        "flag_is_excluded": "Exclues (tout signalement de la règle)",
        "footer": "Produit par `surveyhouse report` à partir de l'entrepôt seul ; s'ouvre hors ligne dans tout navigateur.",
    },
}

NBSP = "\u00a0"


def ui(lang: str, key: str, **values: object) -> str:
    """One UI string in `lang` (English for a language the page has no words in), its {placeholders} filled."""
    return UI.get(lang, UI["en"])[key].format(**values)


def format_int(value: int, lang: str) -> str:
    """2,334 in English, 2 334 in French (non-breaking space)."""
    text = f"{value:,}"
    return text.replace(",", NBSP) if lang == "fr" else text


def format_number(value: float, lang: str, digits: int = 1) -> str:
    """89.4 in English, 89,4 in French."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def format_pct(value: float, lang: str, digits: int = 0) -> str:
    """47% in English, 47 % in French (non-breaking space); <1% for a share that rounds to 0 but is not 0."""
    unit = NBSP + "%" if lang == "fr" else "%"
    if 0 < value < 0.5 * 10**-digits:
        return "<" + format_number(10**-digits, lang, digits) + unit
    return format_number(value, lang, digits) + unit


def format_change(change_pts: float, lang: str) -> str:
    """+5 pts, -12 pts, ±0 pts (a change in percentage points, rounded)."""
    rounded = round(change_pts)
    sign = "+" if rounded > 0 else "−" if rounded < 0 else "±"
    return f"{sign}{abs(rounded)}{NBSP}{ui(lang, 'pts')}"


def question_text(question: str, lang: str, *, book: Codebook) -> str:
    """A question's text in `lang` (else English, else its first language)."""
    return in_language(book.question(question).text, lang, fallback=question)


def option_label(question: str, option: str, lang: str, *, book: Codebook) -> str:
    return in_language(book.question(question).option(option).labels, lang, fallback=option)


def segment_name(segment: str, lang: str, *, outline: Outline) -> str:
    """A segment as the page says it ("role level"): from the outline's `segments:`, else its code."""
    return in_language(outline.segments.get(segment, {}), lang, fallback=segment.replace("_", " "))


def answer_label(question: str, answer: str, lang: str, *, book: Codebook, outline: Outline) -> str:
    """An option's label, or a NET's name (the outline's `nets:`, else its members' labels), in `lang`."""
    q = book.question(question)
    if answer in q.option_codes:
        return option_label(question, answer, lang, book=book)
    if answer in q.nets:
        fallback = " + ".join(option_label(question, code, lang, book=book) for code in q.nets[answer])
        return in_language(outline.nets.get(question, {}).get(answer, {}), lang, fallback=fallback)
    return answer


def segment_value_label(segment: str, value: str, lang: str, *, book: Codebook, outline: Outline) -> str:
    """A segment value's label in `lang` (question options, derived groups; others as they are)."""
    if segment == "all":
        return ui(lang, "all_respondents")
    if segment in [q.code for q in book.segment_questions]:
        return option_label(segment, value, lang, book=book)
    if segment in [d.code for d in book.derived_segments]:
        derived = book.derived(segment)
        fallback = ", ".join(option_label(derived.source, c, lang, book=book) for c in derived.groups.get(value, ()))
        return in_language(outline.groups.get(segment, {}).get(value, {}), lang, fallback=fallback or value)
    return value


def segment_values(segment: str, *, book: Codebook) -> list[str]:
    """A segment's values in questionnaire order."""
    if segment in [d.code for d in book.derived_segments]:
        return list(book.derived(segment).groups)
    return book.question(segment).option_codes
