import polars as pl
from polars.testing import assert_frame_equal

from tests.transforms.reference import canonical_responses, plain_canonical_rows
from transforms.headers import resolve_columns
from transforms.layouts import SourceColumn
from transforms.mapping import canonical_from_wide, map_cells, resolved_frame


def _map(book, columns, rows, *, other_in_place=False):
    """rows: {source_row: {column index: value}} -> canonical frame."""
    resolved, _ = resolve_columns(tuple(columns), book=book)
    cells = pl.LazyFrame(
        [(row, col, value) for row, values in rows.items() for col, value in values.items()],
        schema={"source_row": pl.Int64, "column": pl.Int32, "value": pl.Utf8},
        orient="row",
    )
    meta = pl.LazyFrame(
        {"source_row": list(rows), "language": [None] * len(rows)}, schema={"source_row": pl.Int64, "language": pl.Utf8}
    )
    answers, texts = map_cells(cells, resolved_frame(resolved), book=book, other_in_place=other_in_place)
    frame = canonical_responses(meta, answers, texts, book=book, header_language=None).collect()
    # The columnar path (what ingestion takes) gives the same frame.
    wide = pl.LazyFrame(
        {
            "source_row": list(rows),
            **{str(c.index): [values.get(c.index) for values in rows.values()] for c in columns},
        },
        schema={"source_row": pl.Int64, **{str(c.index): pl.Utf8 for c in columns}},
    )
    columnar = canonical_from_wide(meta, wide, resolved, book=book, other_in_place=other_in_place, header_language=None)
    assert_frame_equal(columnar.collect(), frame)
    # And what a plain reading of the cells gives.
    plain = plain_canonical_rows(
        cells.collect(), resolved, meta.collect(), book=book, other_in_place=other_in_place, header_language=None
    )
    assert frame.select(*plain[0]).to_dicts() == plain
    return frame


USES = "What do you use AI for in your social media work? (select all that apply)"


def test_joined_multi_select_is_split_by_known_labels_in_either_language(book):
    frame = _map(
        book, [SourceColumn(0, USES)], {2: {0: "Creating visuals,Post ideas"}, 3: {0: "Création de visuels, Rédaction"}}
    )
    assert frame["ai_uses"].to_list() == [["visuals", "post_ideas"], ["visuals", "copywriting"]]
    assert frame["language"].to_list() == ["en", "fr"]


def test_numeric_positions_map_to_codes(book):
    columns = [SourceColumn(0, "What is your current role level?"), SourceColumn(1, USES)]
    frame = _map(book, columns, {2: {0: "2", 1: "1,3,10"}})
    assert frame["role"].to_list() == ["senior_director"]
    assert frame["ai_uses"].to_list() == [["visuals", "copywriting", "none"]]


def test_unknown_label_is_kept_as_written_for_validation(book):
    frame = _map(
        book, [SourceColumn(0, "How often do you use AI tools for your social media work?")], {2: {0: "Sometimes"}}
    )
    assert frame["ai_frequency"].to_list() == ["Sometimes"]


def test_other_written_in_place_becomes_other_with_its_text(book):
    columns = [SourceColumn(0, "Which industry does your company work in?"), SourceColumn(1, USES)]
    frame = _map(book, columns, {2: {0: "Space tourism", 1: "Creating visuals, Writing haiku"}}, other_in_place=True)
    assert frame["industry"].to_list() == ["other"]
    assert frame["industry_other"].to_list() == ["Space tourism"]
    assert frame["ai_uses"].to_list() == [["visuals", "other"]]


def test_split_columns_read_labels_ones_and_zeros(book):
    columns = [
        SourceColumn(0, USES, "Creating visuals"),
        SourceColumn(1, USES, "Post ideas"),
        SourceColumn(2, USES, "Other (please specify)"),
    ]
    frame = _map(book, columns, {2: {0: "Creating visuals", 2: "Making memes"}, 3: {0: "1", 1: "0"}})
    assert frame["ai_uses"].to_list() == [["visuals", "other"], ["visuals"]]
    assert frame["ai_uses_other"].to_list() == ["Making memes", None]


def test_a_row_without_answers_keeps_its_place_with_empty_answers(book):
    frame = _map(book, [SourceColumn(0, "What is your current role level?")], {2: {0: "Manager"}, 3: {}})
    assert frame.height == 2
    assert frame["role"].to_list() == ["manager", None]


def test_a_filled_other_box_implies_other_for_a_single_choice_left_empty(book):
    # Typeform: the question's column is empty, the text sits in the box that follows it.
    columns = [
        SourceColumn(0, "Which industry does your company work in?"),
        SourceColumn(1, "Which industry does your company work in? - Other (please specify) - Text"),
    ]
    frame = _map(book, columns, {2: {1: "Space tourism"}, 3: {0: "Retail", 1: "stale text"}})
    assert frame["industry"].to_list() == ["other", "retail"]
    assert frame["industry_other"].to_list() == ["Space tourism", "stale text"]


def test_the_other_text_of_a_joined_cell_is_only_what_is_left_after_known_labels(book):
    frame = _map(book, [SourceColumn(0, USES)], {2: {0: "Scheduling, Hashtag research"}}, other_in_place=True)
    assert frame["ai_uses"].to_list() == [["scheduling", "other"]]
    assert frame["ai_uses_other"].to_list() == ["Hashtag research"]


def test_single_answers_come_as_categories_checked_and_typed_once_per_distinct_value(book):
    from schemas.canonical import contract_failures
    from transforms.layouts import META_SCHEMA
    from transforms.quarantine import typed_responses

    column = SourceColumn(0, "What is your current role level?")
    resolved, _ = resolve_columns((column,), book=book)
    answers = ["Manager", "Astronaut", None, "Manager"]
    wide = pl.LazyFrame({"source_row": [2, 3, 4, 5], "0": answers}, schema={"source_row": pl.Int64, "0": pl.Utf8})
    meta = pl.LazyFrame({"source_row": [2, 3, 4, 5], "response_id": ["a", "b", "c", "d"]}, schema={"source_row": pl.Int64, "response_id": pl.Utf8})  # fmt: skip
    meta = meta.with_columns(pl.lit(None).cast(dtype).alias(name) for name, dtype in META_SCHEMA.items() if name not in ("source_row", "response_id"))  # fmt: skip
    frame = canonical_from_wide(meta, wide, resolved, book=book, other_in_place=False, header_language=None).collect()
    # A category: its few distinct values are what the checks and the typing look at, not every row's text.
    assert frame.schema["role"] == pl.Categorical
    assert frame["role"].cast(pl.Utf8).to_list() == ["manager", "Astronaut", None, "manager"]
    failed = contract_failures(frame, book).filter(pl.col("column") == "role")
    # (a required question: the empty answer fails too)
    assert failed.select("check", "failure_case", "index").rows() == [
        ("not_nullable", None, 2),
        ("valid_option", "Astronaut", 1),
    ]
    typed = typed_responses(frame.filter(pl.col("source_row") != 3).lazy(), book=book).collect()
    assert typed.schema["role"] == book.question("role").dtype
    assert typed["role"].to_list() == ["manager", None, "manager"]
