"""The report page's own words in English and French, and number formatting.

Question texts and option labels come from the questionnaire (schemas/codebook.py);
this module holds only what the questionnaire does not: section titles, captions,
legends, table headers, and names for NETs, segments and derived segment groups.
"""

from __future__ import annotations

from schemas.codebook import Codebook

LANGUAGES = ("en", "fr")

UI: dict[str, dict[str, str]] = {
    "en": {
        "title": "AI in social media: survey report",
        "wave": "Wave {wave}",
        "intro": "Every figure on this page is recomputed from the survey responses in the warehouse, "
        "with its base (n) and its 95% confidence interval. Where the published 2023 report printed a "
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
        "sec_who": "Who answered",
        "sec_interest": "Interest in AI",
        "sec_frequency": "How often AI is used",
        "sec_usefulness": "Is AI useful?",
        "sec_uses": "What AI is used for",
        "sec_company": "Company use and 2024 plans",
        "sec_want_more": "Wanting more AI",
        "sec_uses_2025": "Wished-for uses in 2025",
        "sec_barriers": "Obstacles",
        "sec_claims": "The published figures, recomputed",
        "sec_quality": "Data quality",
        "cap_who": "The sample by role level, industry, team size and followers of the company's accounts.",
        "cap_interest": "Interest in how AI will change social media, overall, by frequency of use and by account size.",
        "cap_frequency": "How often respondents use AI tools, overall, by role level, by account size and by followers.",
        "cap_usefulness": "Agreement that AI is a useful tool for social media management.",
        "cap_uses": "What respondents use AI for (several answers possible: shares of respondents).",
        "cap_company": "Whether the company uses AI for social media, and its plans for 2024.",
        "cap_want_more": "Whether respondents would like their company to use AI tools more.",
        "cap_uses_2025": "What respondents would like to use AI for in 2025 (several answers possible).",
        "cap_barriers": "The main obstacles to using AI (several answers possible).",
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
        "no_claims": "The published report gives no figures for wave {wave} (it covers wave {waves}: "
        "`surveyhouse report --wave {first}`).",
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
        "title": "L'IA dans les réseaux sociaux : rapport d'enquête",
        "wave": "Vague {wave}",
        "intro": "Chaque chiffre de cette page est recalculé à partir des réponses de l'entrepôt, avec sa "
        "base (n) et son intervalle de confiance à 95 %. Lorsque le rapport publié en 2023 donnait un "
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
        "sec_who": "Qui a répondu",
        "sec_interest": "L'intérêt pour l'IA",
        "sec_frequency": "À quelle fréquence l'IA est utilisée",
        "sec_usefulness": "L'IA est-elle utile ?",
        "sec_uses": "À quoi sert l'IA",
        "sec_company": "L'usage en entreprise et les projets pour 2024",
        "sec_want_more": "Vouloir plus d'IA",
        "sec_uses_2025": "Les usages souhaités en 2025",
        "sec_barriers": "Les obstacles",
        "sec_claims": "Les chiffres publiés, recalculés",
        "sec_quality": "Qualité des données",
        "cap_who": "L'échantillon par niveau de poste, secteur, taille d'équipe et abonnés des comptes de l'entreprise.",
        "cap_interest": "L'intérêt pour la façon dont l'IA va changer les réseaux sociaux, en tout, selon la "
        "fréquence d'utilisation et selon la taille du compte.",
        "cap_frequency": "La fréquence d'utilisation des outils d'IA, en tout, selon le niveau de poste, la "
        "taille du compte et le nombre d'abonnés.",
        "cap_usefulness": "L'accord avec l'idée que l'IA est un outil utile pour la gestion des réseaux sociaux.",
        "cap_uses": "Ce pour quoi les répondants utilisent l'IA (plusieurs réponses possibles : parts de répondants).",
        "cap_company": "Si l'entreprise utilise l'IA pour les réseaux sociaux, et ses projets pour 2024.",
        "cap_want_more": "Si les répondants aimeraient que leur entreprise utilise davantage les outils d'IA.",
        "cap_uses_2025": "Ce pour quoi les répondants aimeraient utiliser l'IA en 2025 (plusieurs réponses possibles).",
        "cap_barriers": "Les principaux obstacles à l'utilisation de l'IA (plusieurs réponses possibles).",
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
        "no_claims": "Le rapport publié ne donne aucun chiffre pour la vague {wave} (il porte sur la vague "
        "{waves} : `surveyhouse report --wave {first}`).",
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

#: Segment names as the page says them ("by role level").
SEGMENTS: dict[str, dict[str, str]] = {
    "en": {
        "role": "role level",
        "industry": "industry",
        "team_size": "team size",
        "followers": "followers",
        "ai_frequency": "frequency of AI use",
        "account_size": "account size",
        "usage_band": "usage band",
    },
    "fr": {
        "role": "niveau de poste",
        "industry": "secteur",
        "team_size": "taille d'équipe",
        "followers": "nombre d'abonnés",
        "ai_frequency": "fréquence d'utilisation de l'IA",
        "account_size": "taille du compte",
        "usage_band": "intensité d'usage",
    },
}

#: NETs of the questionnaire (they have codes, not labels). Unknown NETs fall back to their members' labels.
NETS: dict[str, dict[tuple[str, str], str]] = {
    "en": {
        ("ai_interest", "interested"): "Interested (very or somewhat)",
        ("ai_useful", "top2"): "Agree (strongly or not)",
        ("ai_useful", "bottom2"): "Disagree (strongly or not)",
        ("ai_threat", "top2"): "Agree (strongly or not)",
        ("ai_threat", "bottom2"): "Disagree (strongly or not)",
        ("ai_frequency", "weekly_plus"): "Once a week or more",
        ("ai_frequency", "few_per_week_plus"): "A few times a week or more",
        ("ai_frequency", "any_use"): "Uses AI (any frequency)",
    },
    "fr": {
        ("ai_interest", "interested"): "Intéressé(e) (très ou plutôt)",
        ("ai_useful", "top2"): "D'accord (tout à fait ou non)",
        ("ai_useful", "bottom2"): "Pas d'accord (du tout ou non)",
        ("ai_threat", "top2"): "D'accord (tout à fait ou non)",
        ("ai_threat", "bottom2"): "Pas d'accord (du tout ou non)",
        ("ai_frequency", "weekly_plus"): "Une fois par semaine ou plus",
        ("ai_frequency", "few_per_week_plus"): "Quelques fois par semaine ou plus",
        ("ai_frequency", "any_use"): "Utilise l'IA (quelle que soit la fréquence)",
    },
}

#: Groups of derived segments. Unknown groups fall back to their members' labels.
GROUPS: dict[str, dict[tuple[str, str], str]] = {
    "en": {
        ("account_size", "small"): "Small (under 50,000 followers)",
        ("account_size", "mid"): "Mid-size (50,000 - 249,999)",
        ("account_size", "large"): "Large (250,000 or more)",
        ("usage_band", "heavy"): "Heavy (a few times a week or more)",
        ("usage_band", "regular"): "Regular (weekly to monthly)",
        ("usage_band", "light"): "Light (rarely)",
        ("usage_band", "non_user"): "Non-user",
    },
    "fr": {
        ("account_size", "small"): "Petits (moins de 50 000 abonnés)",
        ("account_size", "mid"): "Moyens (50 000 à 249 999)",
        ("account_size", "large"): "Grands (250 000 ou plus)",
        ("usage_band", "heavy"): "Intensif (quelques fois par semaine ou plus)",
        ("usage_band", "regular"): "Régulier (de hebdomadaire à mensuel)",
        ("usage_band", "light"): "Occasionnel (rarement)",
        ("usage_band", "non_user"): "Non-utilisateur",
    },
}

NBSP = "\u00a0"


def ui(lang: str, key: str, **values: object) -> str:
    """One UI string in `lang`, with its {placeholders} filled."""
    return UI[lang][key].format(**values)


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


def answer_label(question: str, answer: str, lang: str, *, book: Codebook) -> str:
    """An option's label, or a NET's name, in `lang`."""
    q = book.question(question)
    if answer in q.option_codes:
        return q.option(answer).labels[lang]
    if answer in q.nets:
        fallback = " + ".join(q.option(code).labels[lang] for code in q.nets[answer])
        return NETS[lang].get((question, answer), fallback)
    return answer


def segment_value_label(segment: str, value: str, lang: str, *, book: Codebook) -> str:
    """A segment value's label in `lang` (question options, derived groups; others as they are)."""
    if segment == "all":
        return ui(lang, "all_respondents")
    if segment in [q.code for q in book.segment_questions]:
        return book.question(segment).option(value).labels[lang]
    if segment in [d.code for d in book.derived_segments]:
        derived = book.derived(segment)
        fallback = ", ".join(
            book.question(derived.source).option(c).labels[lang] for c in derived.groups.get(value, ())
        )
        return GROUPS[lang].get((segment, value), fallback or value)
    return value


def segment_values(segment: str, *, book: Codebook) -> list[str]:
    """A segment's values in questionnaire order."""
    if segment in [d.code for d in book.derived_segments]:
        return list(book.derived(segment).groups)
    return book.question(segment).option_codes
