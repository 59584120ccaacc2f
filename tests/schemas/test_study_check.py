"""`surveyhouse study check` prints every mistake of a study folder, one line each naming the
file, the line and the fix, exit status 2; a clean folder gets one line saying what it holds.
A bad study folder stops every command with one line naming the option or variable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli.main import main
from schemas.study import StudyError, load_study, study_problems
from surveyhouse.settings import load_settings

STUDY = Path(__file__).resolve().parents[1] / "cases" / "studies" / "city_transit"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(STUDY, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def test_study_check_of_a_clean_folder_says_what_it_holds_in_one_line(capsys):
    assert main(["study", "check", str(STUDY)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "study city_transit, 9 questions (8 closed, 4 segments), languages en, es" in out
    assert "3 published figure(s), weighting targets for 1 segment(s): no problems." in out


def test_study_check_lists_every_mistake_of_the_questionnaire_each_on_its_line(tmp_path, capsys):
    folder = _copy(tmp_path)
    q = folder / "questionnaire.yaml"
    _edit(q, "languages: [en, es]", "languages: [en, es, spanish]")
    _edit(q, "study: city_transit\n", "study: city_transit\nowner: transit office\n")
    _edit(q, '{code: tram,       en: "Tram",               es: "Tranvía"}', '{code: tram, en: "Tram"}')
    _edit(q, '{code: east,   en: "East",   es: "Este"}', '{code: north,   en: "East",   es: "Este"}')
    _edit(q, "    weekly_plus: [daily, weekly]", "    weekly_plus: [daily, weekley]")
    _edit(q, "    from: age_band", "    from: recommend")
    assert main(["study", "check", str(folder)]) == 2
    lines = capsys.readouterr().out.splitlines()
    name = f"{folder}/questionnaire.yaml"
    expected = [
        f"{name}, line {_line_of(q, 'owner:')}: the questionnaire has an unknown key `owner`; the keys are study, "
        "wave, languages, waves, sections, grids, metadata, questions, nets, derived_segments",
        f"{name}, line {_line_of(q, 'languages:')}: 'spanish' is not an ISO 639-1 language code; write each "
        "language as its two lower-case letters (en, es, de, ...), quoted if it is `no`",
        f"{name}, line {_line_of(q, '{code: tram')}: question modes, option tram has no `es` label; "
        "write `es: <the wording in es>` there",
        f"{name}, line {_line_of(q, '{code: north,   en: ' + chr(34) + 'East')}: question district has option north "
        "twice; give each option of a question its own code",
        f"{name}, line {_line_of(q, 'weekly_plus:')}: NET frequency.weekly_plus names weekley, which is no option "
        "of frequency; use the option codes of frequency: daily, weekly, monthly, rarely",
        f"{name}, line {_line_of(q, 'from: recommend')}: derived segment age_group groups recommend, which is not a "
        "segment; add `segment: true` to question recommend, or group one of age_band, district, frequency",
        f"{name}, line {_line_of(q, 'younger:')}: derived segment age_group, group younger names under_25, which is "
        "no option of recommend; use the option codes of recommend: yes, no, unsure",
    ]
    for line in expected:
        assert line in lines
    assert len(lines) == len(set(lines))


def test_a_question_in_a_language_the_questionnaire_does_not_list_is_refused(tmp_path, capsys):
    folder = _copy(tmp_path)
    q = folder / "questionnaire.yaml"
    _edit(q, "languages: [en, es]", "languages: [en, es, de]")
    assert main(["study", "check", str(folder)]) == 2
    lines = capsys.readouterr().out.splitlines()
    name = f"{folder}/questionnaire.yaml"
    assert f"{name}, line {_line_of(q, 'How old are you?')}: question age_band's `text:` has no `de` label; " \
        "write `de: <the wording in de>` there" in lines  # fmt: skip
    assert f"{name}, line {_line_of(q, 'satisfaction: {en:')}: grid satisfaction has no `de` label; " \
        "write `de: <the wording in de>` there" in lines  # fmt: skip
    texts_and_options = 9 + 4 + 4 + 4 + 5 + 4 * 3 + 3 + 1  # question texts, options (the grid's shared), the grid
    assert len(lines) == texts_and_options
    assert all("has no `de` label" in line for line in lines)


def test_study_check_names_the_csv_line_of_every_figure_that_the_questionnaire_lacks(tmp_path, capsys):
    folder = _copy(tmp_path)
    figures = folder / "published_figures.csv"
    with figures.open("a", encoding="utf-8") as out:
        out.write("ghost,fares,cheap,all,10,,\n")
        out.write("taxi,modes,taxi,all,10,,\n")
        out.write("by-colour,modes,bus,colour=red,10,,\n")
        out.write("by-reco,modes,bus,recommend=yes,10,,2025\n")
        out.write("odd-group,modes,bus,age_band=a45_64|under_25,10,,\n")
    assert main(["study", "check", str(folder)]) == 2
    lines = capsys.readouterr().out.splitlines()
    name = f"{folder}/published_figures.csv"
    assert lines == [
        f"{name}, line 5: figure ghost names question 'fares', which is no closed question; use one of age_band, "
        "district, frequency, modes, sat_punctuality, sat_cleanliness, sat_safety, recommend",
        f"{name}, line 6: figure taxi names 'taxi', no option of question modes; use bus, tram, metro, bike_share, none",
        f"{name}, line 7: figure by-colour names segment 'colour=red', which is not `all` nor `<segment>=<code>` "
        "(`<code>|<code>` for a derived group); use one of age_band, district, frequency",
        f"{name}, line 8: figure by-reco names segment 'recommend=yes', which is not `all` nor `<segment>=<code>` "
        "(`<code>|<code>` for a derived group); use one of age_band, district, frequency",
        f"{name}, line 9: figure odd-group names a45_64|under_25, which is no group of segment age_band (a NET or "
        "derived segment group has exactly those members); name one option, or add that group to the questionnaire",
    ]


def test_study_check_names_weights_of_an_unknown_segment_or_value_and_shares_that_miss_one(tmp_path, capsys):
    folder = _copy(tmp_path)
    (folder / "weights.yaml").write_text(
        "district: {north: 0.5, south: 0.25, east: 0.2, west: 0.1}\n"
        "region: {coast: 1.0}\n"
        "age_band: {under_25: 0.5, a25_44: 0.5, teen: 0.0}\n",
        encoding="utf-8",
    )
    assert main(["study", "check", str(folder)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{folder}/weights.yaml, line 1: the shares of district add up to 1.05; make them add up to 1",
        f"{folder}/weights.yaml, line 2: 'region' is no segment; use one of age_band, district, frequency, age_group",
        f"{folder}/weights.yaml, line 3: 'teen' is no value of age_band; use under_25, a25_44, a45_64, a65_plus",
    ]


def test_loading_a_study_with_mistakes_raises_the_first_and_counts_the_others(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder / "questionnaire.yaml", "languages: [en, es]", "languages: [en, es, xx, yy]")
    with pytest.raises(StudyError) as caught:
        load_study(folder)
    assert "\n" not in str(caught.value)
    assert str(caught.value).endswith(f"(1 more: `surveyhouse study check {folder}` lists them)")
    assert len(caught.value.problems) == len(study_problems(folder)) == 2


def test_a_study_folder_setting_without_a_questionnaire_is_one_line_naming_the_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SURVEYHOUSE_STUDY", str(tmp_path))
    (tmp_path / "landing").mkdir()
    argv = ["run", "--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.duckdb")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"Error: SURVEYHOUSE_STUDY={tmp_path} is not valid: a study folder holding questionnaire.yaml "
        "(e.g. my-study; `surveyhouse study check DIR` checks one)\n"
    )
    monkeypatch.delenv("SURVEYHOUSE_STUDY")
    assert main([*argv, "--study", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.startswith(f"Error: --study={tmp_path / 'nowhere'} is not valid: a study folder")


def test_a_run_on_a_study_with_a_mistake_stops_with_its_first_line_before_anything_runs(tmp_path, capsys):
    folder = _copy(tmp_path)
    _edit(folder / "questionnaire.yaml", "    from: age_band", "    from: agebands")
    (tmp_path / "landing").mkdir()
    argv = ["run", "--study", str(folder), "--inbox", str(tmp_path / "landing"), "--warehouse", str(tmp_path / "w.db")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {folder}/questionnaire.yaml, line ")
    assert "derived segment age_group groups 'agebands', which is no question" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "w.db").exists()


def test_the_study_folder_is_recorded_and_its_weights_apply_unless_surveyhouse_weights_is_set(tmp_path, monkeypatch):
    settings = load_settings(warehouse=str(tmp_path / "w.duckdb"), study=str(STUDY))
    assert settings.study == STUDY
    assert settings.weighting_targets() == load_study(STUDY).weighting_targets
    assert f'"study": "{STUDY}"' in settings.recorded()
    weights = tmp_path / "weights.yaml"
    weights.write_text("age_band: {under_25: 1.0}\n", encoding="utf-8")
    monkeypatch.setenv("SURVEYHOUSE_WEIGHTS", str(weights))
    assert load_settings(study=str(STUDY)).weighting_targets() == {"age_band": {"under_25": 1.0}}
    assert '"study"' not in load_settings(warehouse=str(tmp_path / "w.duckdb")).recorded()


def test_the_report_language_is_any_language_of_the_study_else_its_first():
    study = load_study(STUDY)
    assert study.report_language(None) == "en"
    assert study.report_language("es") == "es"
    with pytest.raises(StudyError, match="the report language 'fr' is not a language of the study"):
        study.report_language("fr")


def test_study_check_without_a_folder_checks_the_built_in_study(monkeypatch, capsys):
    monkeypatch.delenv("SURVEYHOUSE_STUDY", raising=False)
    assert main(["study", "check"]) == 0
    assert capsys.readouterr().out == (
        "schemas/data: study ai_social_media, 16 questions (15 closed, 7 segments), languages en, fr, wave(s) 2023, 2024, "
        "71 published figure(s): no problems.\n"
    )
