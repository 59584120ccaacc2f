"""The report page: one self-contained HTML file built from a small real warehouse.

The warehouse is the demo study's 2023 wave at 400 respondents: small enough that the
follower segments fall under the minimum base (suppressed), large enough for
significant differences by role and frequency of use.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pytest

from cli.main import main
from demo.study import write_demo_study
from report import build_report, charts, write_report
from report.strings import UI
from schemas.study import load_study
from surveyhouse.night import run_night
from surveyhouse.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
OUTLINE = load_study().outline
CHARTS = sum(len(section.charts) for section in OUTLINE.sections)
SECTION_IDS = [section.key for section in OUTLINE.sections] + ["claims", "quality"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_demo_study(root / "landing", seed=2023, waves=((2023, 400),))
    settings = load_settings(inbox=str(root / "landing"), warehouse=str(root / "surveyhouse.duckdb"))
    run_night(load_study(), settings)
    return settings.warehouse


@pytest.fixture(scope="module")
def page_en(warehouse) -> Path:
    return write_report(warehouse, warehouse.parent / "report-en.html", lang="en")


@pytest.fixture(scope="module")
def html_en(page_en) -> str:
    return page_en.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def html_fr(warehouse) -> str:
    return build_report(warehouse, lang="fr")


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_the_page_has_every_section_of_the_report_in_order(html_en):
    positions = [html_en.index(f'<section id="{key}">') for key in SECTION_IDS]
    assert positions == sorted(positions)
    for title in (
        "Who answered",
        "Interest in AI",
        "How often AI is used",
        "Wished-for uses in 2025",
        "Obstacles",
        "Data quality",
    ):
        assert f">{title}</h2>" in html_en


def test_every_chart_is_an_inline_svg_with_text_as_text(html_en):
    assert html_en.count('<svg class="chart-svg"') == CHARTS
    assert html_en.count('<figure class="chart" ') == CHARTS  # none came out empty
    assert "<text" in html_en and "<img" not in html_en


def test_the_page_loads_nothing_from_outside(html_en, html_fr):
    for html in (html_en, html_fr):
        outside = re.sub(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"', "", html)
        assert "http://" not in outside and "https://" not in outside
        assert "<script" not in html and " src=" not in html and '<link rel="stylesheet"' not in html
        assert "default-src 'none'" in html  # the browser itself refuses any outside resource


def test_ids_are_unique_across_the_inline_svgs(html_en):
    ids = re.findall(r' id="([^"]+)"', html_en)
    assert len(ids) == len(set(ids))


def test_french_labels_come_from_the_questionnaire(html_fr):
    assert '<html lang="fr">' in html_fr
    for label in (
        "Débutant",
        "Tous les jours",
        "Vice-président ou plus",
        "Création de visuels",
        "Qui a répondu",
        "Les obstacles",
    ):
        assert label in html_fr, label
    for english in ("Entry level", "Every day", "Who answered", "Published in the report"):
        assert english not in html_fr, english


def test_the_base_is_printed_on_every_chart(html_en):
    figures = re.findall(r'<figure class="chart" .*?</figure>', html_en, flags=re.DOTALL)
    assert len(figures) == CHARTS
    for figure in figures:
        assert "n = " in figure or "n=" in figure


def test_suppressed_values_are_shown_as_such_not_as_bars(warehouse, html_en):
    suppressed = query(warehouse, "select count(*) from crosstab where segment = 'followers' and is_suppressed")[0][0]
    assert suppressed, "the small warehouse should have follower groups under the minimum base"
    assert "base &lt; 30, not shown" in html_en  # the note on the chart, in the SVG's text
    assert "Base &lt; 30: not shown" in html_en  # and its legend entry
    assert sum(map(int, re.findall(r'data-suppressed="(\d+)"', html_en))) > 0
    figure = re.search(
        r'<figure class="chart" id="chart-want_more_ai-yes-by-followers".*?</figure>', html_en, flags=re.DOTALL
    )[0]
    base, pct = query(
        warehouse,
        "select base_n, pct from crosstab where question = 'want_more_ai' and answer = 'yes' "
        "and segment = 'followers' and segment_value = 'f1m_plus'",
    )[0]
    assert base < 30 and f"n = {base}: base &lt; 30" in figure
    assert f">{pct:.0f}%<" not in figure


def test_low_bases_are_marked_with_a_legend(warehouse, html_en):
    low = query(warehouse, "select count(*) from crosstab where is_low_base and not is_suppressed")[0][0]
    assert low, "the small warehouse should have bases from 30 to under 100"
    assert "%&#160;†<" in html_en or "% †<" in html_en or " †<" in html_en  # the mark after a percentage
    assert "Base &lt; 100: read with caution" in html_en


def test_significant_differences_are_marked_with_a_legend(html_en):
    assert sum(map(int, re.findall(r'data-significant="(\d+)"', html_en))) > 0
    assert "▲" in html_en and "▼" in html_en
    assert "Significantly higher / lower than the rest" in html_en


def test_published_figures_are_drawn_beside_the_recomputed_ones(warehouse, html_en):
    drawn = sum(map(int, re.findall(r'data-published="(\d+)"', html_en)))
    printed = query(
        warehouse,
        "select count(*) from claims where computed_pct is not null "
        "and status not in ('not_computable', 'below_minimum_base')",
    )[0][0]
    assert drawn >= printed > 0
    assert "Published in the report" in html_en


def test_the_claims_table_lists_every_figure_and_explains_the_contradiction(warehouse, html_en):
    claims = html_en[html_en.index('<section id="claims">') : html_en.index('<section id="quality">')]
    for (fid,) in query(warehouse, "select id from claims"):
        assert f"<td>{fid}</td>" in claims, fid
    assert '<span class="status bad">contradicted</span>' in claims
    assert "The report contradicts itself: F08c (11%) and F28 (71%)" in claims
    # 400 respondents: some published segments have a base under 30, computed but not signed.
    assert query(warehouse, "select count(*) from claims where status = 'below_minimum_base'")[0][0] > 0
    assert '<span class="status muted">base under the minimum</span>' in claims


def test_the_quality_section_shows_files_checks_flags_and_the_run_date(warehouse, html_en):
    quality = html_en[html_en.index('<section id="quality">') :]
    for (name,) in query(warehouse, "select source_file from files"):
        assert name.replace("&", "&amp;") in quality, name
    for (check,) in query(warehouse, "select distinct check_name from quarantine"):
        assert f"<code>{check}</code>" in quality
    finished = query(warehouse, "select max(finished_at) from runs")[0][0]
    assert f"{finished:%Y-%m-%d %H:%M} UTC" in quality
    assert "Failed the attention check" in quality and "Speeders" in quality


def test_the_same_warehouse_gives_the_same_page(warehouse, html_en):
    assert build_report(warehouse, lang="en") == html_en


def test_every_ui_string_exists_in_both_languages():
    assert set(UI["en"]) == set(UI["fr"])


def test_the_report_command_writes_beside_the_warehouse_without_prefect(warehouse):
    code = (
        "import sys, cli.main; rc = cli.main.main(['report', '--warehouse', sys.argv[1], '--lang', 'fr']); "
        "print(rc, 'prefect' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(warehouse)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "0 False"
    assert "Report written to" in out.stdout
    assert 'lang="fr"' in (warehouse.parent / f"{warehouse.stem}.report.html").read_text(encoding="utf-8")


def test_the_report_command_says_which_waves_exist(warehouse, capsys):
    assert main(["report", "--warehouse", str(warehouse), "--wave", "1999"]) == 2
    assert capsys.readouterr().err.strip() == "Error: wave 1999 is not in the warehouse (waves: 2023)"


def test_the_report_command_says_when_there_is_no_warehouse(tmp_path, capsys):
    assert main(["report", "--warehouse", str(tmp_path / "none.duckdb")]) == 2
    assert capsys.readouterr().err.startswith("Error: no warehouse at")


def test_the_report_command_of_a_warehouse_where_no_file_was_loaded_says_where_to_look(tmp_path, capsys):
    """Every export rejected: the warehouse exists, with no crosstab; the message names the commands
    that say why, not "run first" to a user who just ran."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "notes.csv").write_text("colour,size\nred,3\n", encoding="utf-8")
    settings = load_settings(inbox=str(tmp_path / "landing"), warehouse=str(tmp_path / "w.duckdb"))
    run = run_night(load_study(), settings, report=False)
    assert run.files_failed == 1
    assert main(["report", "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: the warehouse has no crosstab rows: no response has been accepted yet"), err
    assert "`surveyhouse files`" in err and "`surveyhouse quality`" in err and err.count("\n") == 1


MARKUP = "<script>alert(1)</script> R&D"


def test_markup_in_a_file_name_message_check_or_run_id_is_shown_as_text(warehouse, tmp_path):
    """A cell value from the data (a file name, its message, a failed check, the run id) never becomes markup."""
    copy = tmp_path / "markup.duckdb"
    shutil.copy(warehouse, copy)
    name = query(warehouse, "select source_file from files where quarantined > 0 order by file_order limit 1")[0][0]
    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "update files set source_file = ?, message = ? where source_file = ?", [MARKUP, MARKUP, name]
        )
        connection.execute(
            "update quarantine set source_file = ?, check_name = ? where source_file = ?", [MARKUP, MARKUP, name]
        )
        connection.execute("update runs set run_id = ?", [MARKUP])
    html = build_report(copy, lang="en")
    assert "<script" not in html and "R&D" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D"
    assert f'<span class="file">{escaped}</span>' in html
    assert f'<tr class="why"><td colspan="8">{escaped}</td></tr>' in html
    assert f"<code>{escaped}</code>" in html
    assert f"(run {escaped})" in html


def test_markup_in_a_chart_label_is_escaped_in_the_svg():
    text = charts.ChartText(
        axis="% & <b>",
        legend_bar="bar",
        legend_published="published",
        legend_significant="significant",
        legend_suppressed="suppressed",
        suppressed_note=str,
        pct=lambda value: f"{value:.0f}%",
    )
    bar = charts.Bar(label=MARKUP, pct=40.0, ci_low=35.0, ci_high=45.0, base_n=300)
    svg = charts.chart_svg([charts.Panel(MARKUP, (bar,))], chart_id='x"><script>', text=text, label=MARKUP)
    assert "<script" not in svg and "R&D" not in svg and "& <b>" not in svg
    assert 'aria-label="&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D"' in svg
    assert 'data-chart="x&#34;&gt;&lt;script&gt;"' in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D</text>" in svg  # the bar's label, drawn as text


SVG = "{http://www.w3.org/2000/svg}"
CHART_TEXT = charts.ChartText(
    axis="% of respondents",
    legend_bar="Recomputed % and 95% interval",
    legend_published="Published in the report",
    legend_significant="Significantly higher / lower",
    legend_suppressed="Base < 30: not shown",
    suppressed_note=lambda n: f"n = {n}: base < 30, not shown",
    pct=lambda value: f"{value:.0f}%",
    legend_low_base="Base < 100: read with caution",
    change=lambda pts, significant: f"{pts:+.0f} pts" + ("*" if significant else ""),
    legend_change="Change since wave 2023 (* significant)",
)


def _drawn_texts(svg: str) -> list[str]:
    """Every text of the SVG as a browser shows it, read with an XML parser (which refuses malformed markup)."""
    root = ElementTree.fromstring(str(svg))
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def test_a_chart_label_with_quotes_ampersands_brackets_or_any_script_is_drawn_as_its_own_text():
    labels = [
        "She said \"<b>yes</b>\" & 'no'",
        "Très intéressé·e",
        "非常に興味がある",
        "مهتم جدا",
        "Control\x01char 🙂",
    ]
    bars = tuple(charts.Bar(label=label, pct=40.0, ci_low=35.0, ci_high=45.0, base_n=300) for label in labels)
    title = 'Q1 "<all>" & more'
    svg = charts.chart_svg([charts.Panel(title, bars)], chart_id="q1", text=CHART_TEXT, label=title)
    assert "<b>" not in svg and "<all>" not in svg
    texts = _drawn_texts(svg)
    for label in labels[:-1]:
        assert label in texts, label
    assert "Controlchar 🙂" in texts  # a character XML cannot hold is dropped, the rest kept
    assert title in texts
    root = ElementTree.fromstring(str(svg))
    assert root.find(f"{SVG}title").text == title and root.get("aria-label") == title  # accessible name


def test_every_mark_a_chart_uses_is_drawn_and_explained_in_its_legend():
    bars = (
        charts.Bar("All", 50.0, 45.0, 55.0, 900, style="reference", published=51.0),
        charts.Bar(
            "Up", 60.0, 52.0, 68.0, 80, direction=1, is_low_base=True, change_pts=5.2, is_change_significant=True
        ),
        charts.Bar("Down", 30.0, 22.0, 38.0, 90, direction=-1, change_pts=-1.0),
        charts.Bar("Few", None, None, None, 12, is_suppressed=True),
    )
    svg = charts.chart_svg([charts.Panel("n = 12 to 900", bars)], chart_id="marks", text=CHART_TEXT, label="Marks")
    texts = _drawn_texts(svg)
    assert "50%" in texts and "60% ▲ †  +5 pts*" in texts and "30% ▼  -1 pts" in texts
    assert "n = 12: base < 30, not shown" in texts and "72%" not in texts
    for words in ("Recomputed % and 95% interval", "Published in the report", "Significantly higher / lower"):
        assert words in texts, words
    for words in ("Base < 100: read with caution", "Change since wave 2023 (* significant)", "Base < 30: not shown"):
        assert words in texts, words
    root = ElementTree.fromstring(str(svg))
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("fill") == charts.COLORS["option"]]) == 3  # 2 bars, legend
    assert len([p for p in root.iter(f"{SVG}polygon") if p.get("fill") == charts.PUBLISHED]) == 2  # diamond, legend
    assert len([r for r in root.iter(f"{SVG}rect") if r.get("fill") == "url(#hatch-marks)"]) == 2  # band, legend
    assert root.find(f"{SVG}defs/{SVG}pattern").get("id") == "hatch-marks"


def test_the_report_page_is_drawn_without_importing_matplotlib(warehouse, tmp_path):
    """Drawing 30 charts with matplotlib took 95% of the page's time: the charts are written as SVG directly."""
    code = (
        "import sys; from pathlib import Path; from report import write_report; "
        f"write_report(Path({str(warehouse)!r}), Path({str(tmp_path / 'page.html')!r}), lang='en'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'PIL')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "page.html").read_text(encoding="utf-8").count('<svg class="chart-svg"') == CHARTS


PAGE_TAG = re.compile(r"</?(html|body|section|figure|h[1-6]|p|ul|ol|li|table|tr|th|td|div|span|code|strong|a)\b")
SQL = re.compile(r"\bselect\b.+\bfrom\b", flags=re.IGNORECASE | re.DOTALL)


def _report_modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted((ROOT / "report").glob("*.py"))]


def test_the_report_code_holds_no_sql_and_writes_no_html_by_hand():
    """The markup is in report/templates (autoescaped), the SQL in warehouse/queries."""
    for path, tree in _report_modules():
        imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imports |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "html" not in imports, f"{path.name} escapes by hand"
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not PAGE_TAG.search(node.value), f"{path.name}:{node.lineno} writes HTML: {node.value[:60]!r}"
                assert not SQL.search(node.value), f"{path.name}:{node.lineno} holds SQL: {node.value[:60]!r}"


def test_every_function_of_the_report_is_under_60_lines():
    for path, tree in _report_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                assert lines < 60, f"{path.name}:{node.lineno} {node.name} has {lines} lines"


# ---------------------------------------------------------------- in a browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1280,900", "--remote-debugging-port=0",
]  # fmt: skip


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, url: str):
        from websockets.sync.client import connect

        self.socket = connect(url, max_size=None, open_timeout=30)
        self.events: list[dict] = []
        self.last_id = 0

    def send(self, method: str, **params) -> dict:
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.01))))
        return next(e for e in self.events if e.get("method") == method)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"]["value"]

    def of(self, method: str) -> list[dict]:
        return [e["params"] for e in self.events if e.get("method") == method]


@pytest.fixture
def chromium(tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (.ci/run does)")
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium); CI runs this test")
    profile = tmp_path / "profile"
    process = subprocess.Popen(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as response:
            target = next(t for t in json.load(response) if t["type"] == "page")
        devtools = DevTools(target["webSocketDebuggerUrl"])
        yield devtools
        devtools.socket.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def test_the_page_renders_offline_in_headless_chromium(chromium, page_en):
    for domain in ("Page", "Runtime", "Log", "Network"):
        chromium.send(f"{domain}.enable")
    chromium.send("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    url = page_en.resolve().as_uri()
    chromium.send("Page.navigate", url=url)
    chromium.wait_for("Page.loadEventFired")
    time.sleep(0.3)  # let late console messages arrive
    boxes = chromium.evaluate(
        "[...document.querySelectorAll('svg.chart-svg')].map(s => {const r = s.getBoundingClientRect();"
        " return [s.dataset.chart, r.width, r.height, s.querySelectorAll('text').length]})"
    )
    assert len(boxes) == CHARTS
    for chart, width, height, texts in boxes:
        assert width > 300 and height > 100 and texts > 5, (chart, width, height, texts)
    assert chromium.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"

    shot = chromium.send("Page.captureScreenshot", format="png")
    artifact = ROOT / "test-artifacts" / "report-first-screen.png"
    artifact.parent.mkdir(exist_ok=True)
    artifact.write_bytes(base64.b64decode(shot["data"]))

    errors = [e for e in chromium.of("Runtime.consoleAPICalled") if e["type"] in ("error", "assert")]
    errors += [e for e in chromium.of("Log.entryAdded") if e["entry"]["level"] == "error"]
    errors += chromium.of("Runtime.exceptionThrown")
    assert not errors, errors
    requested = {e["request"]["url"] for e in chromium.of("Network.requestWillBeSent")}
    assert requested == {url}, requested


def test_chart_text_stays_at_least_11_px_on_a_phone_420_px_wide(chromium, page_en):
    """A chart keeps its natural width on a narrow screen (it scrolls sideways in its own box)."""
    chromium.send("Page.enable")
    chromium.send("Emulation.setDeviceMetricsOverride", width=420, height=900, deviceScaleFactor=1, mobile=True)
    chromium.send("Page.navigate", url=page_en.resolve().as_uri())
    chromium.wait_for("Page.loadEventFired")
    sizes = chromium.evaluate(
        "[...document.querySelectorAll('svg.chart-svg text')].map(t => "
        "parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
    )
    assert len(sizes) > 100
    assert min(sizes) >= 11, f"the smallest chart text is {min(sizes):.1f} px at 420 px wide"
    assert chromium.evaluate("window.innerWidth") == 420
    assert chromium.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
