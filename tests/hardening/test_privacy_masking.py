"""Item 11 of the hardening: emails in any script, spelt-out emails and phone numbers of
every country are masked; dates, times, counts, prices, versions and ranges are not."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.privacy import masked, masked_text

#: (what a respondent wrote, as it must be kept)
MASKED = [
    ("ada@example.com", "[email]"),
    ("josé.garcía@example.test", "[email]"),
    ("Write to josé.garcía@example.test please", "Write to [email] please"),
    ("jürgen.müller@bücher.de", "[email]"),
    ("Grace.Hopper@Example.ORG", "[email]"),
    ("first.last+news@sub.example.co.uk", "[email]"),
    ("o'brien@example.ie", "[email]"),
    ("cells: 'ada@example.com', '06 12 34 56 78'", "cells: '[email]', '[phone]'"),
    ("name [at] example [dot] test", "[email]"),
    ("name(at)example(dot)test", "[email]"),
    ("name {at} example {dot} com", "[email]"),
    ("name <at> example <dot> org", "[email]"),
    ("name[at]example.com", "[email]"),
    ("name [@] example [.] com", "[email]"),
    ("name@example[.]com", "[email]"),
    ("name at example dot test", "[email]"),
    ("contact: NAME AT EXAMPLE DOT COM", "contact: [email]"),
    ("jean.dupont (arobase) exemple (point) fr", "[email]"),
    ("écrivez à jean arobase exemple point fr", "écrivez à [email]"),
    ("+33 6 12 34 56 78", "[phone]"),
    ("+33612345678", "[phone]"),
    ("+33 (0)6 12 34 56 78", "[phone]"),
    ("0033 6 12 34 56 78", "[phone]"),
    ("+33 06 12 34 56 78", "[phone]"),
    ("06 12 34 56 78", "[phone]"),
    ("06.12.34.56.78", "[phone]"),
    ("06-12-34-56-78", "[phone]"),
    ("0612345678", "[phone]"),
    ("Appelez-moi au 06 12 34 56 78.", "Appelez-moi au [phone]."),
    ("+44 (0)20 7946 0958", "[phone]"),
    ("+44 20 7946 0958", "[phone]"),
    ("020 7946 0958", "[phone]"),
    ("07700 900123", "[phone]"),
    ("0049 30 1234567", "[phone]"),
    ("+49 (0)30 123 4567", "[phone]"),
    ("030 1234567", "[phone]"),
    ("02 123 45 67", "[phone]"),
    ("+1-555-010-9999", "[phone]"),
    ("+1 (555) 010-9999", "[phone]"),
    ("(555) 010-9999", "[phone]"),
    ("555-010-9999", "[phone]"),
    ("555.010.9999", "[phone]"),
    ("1-800-555-0199", "[phone]"),
    ("+34 612 34 56 78", "[phone]"),
    ("612 34 56 78", "[phone]"),
    ("+41 44 668 18 00", "[phone]"),
    ("+81 3-1234-5678", "[phone]"),
    ("+91 98765 43210", "[phone]"),
    ("mail ada@example.com or call +33 6 12 34 56 78", "mail [email] or call [phone]"),
]

#: What ordinary answers hold, kept as written.
KEPT = [
    "2023",
    "in 2023 and 2024",
    "from 2019-2023",
    "2023-11-30",
    "30/11/2023",
    "11/30/2023",
    "30.11.2023",
    "2023-11-30 14:30:00",
    "le 01.12.2023 14:30",
    "le 01 12 2023",
    "14:30",
    "14h30",
    "2:30 pm",
    "10:00-12:00",
    "45%",
    "12.5 %",
    "2,334 respondents",
    "1 234 567 abonnés",
    "1,000,000 views",
    "Top 10",
    "v1.2.3",
    "version 10.15.7",
    "$1,299.99",
    "1 299,99 €",
    "€12.50",
    "1-5",
    "1 - 5",
    "250k-500k",
    "10-50 employees",
    "18-24 ans",
    "+20% in 2023",
    "+10 000 000 views",
    "+20 000 000 abonnés",
    "100 000 000 followers",
    "75001 Paris",
    "24/7",
    "ISO 27001",
    "GPT-4",
    "0.5",
    "We met at noon.",
    "I pointed at the dot on the map",
    "Looking at the dot com bubble again",
    "Je suis au point mort, à 100 %",
    "follow us @brand.official",
]


@pytest.mark.parametrize(("written", "kept"), MASKED)
def test_emails_and_phone_numbers_in_any_form_are_masked(written, kept):
    assert masked(written) == kept


@pytest.mark.parametrize("written", KEPT)
def test_ordinary_numbers_and_words_are_not_masked(written):
    assert masked(written) == written


def test_the_table_has_at_least_30_masked_and_15_kept_forms():
    assert len(MASKED) >= 30 and len(KEPT) >= 15


def test_a_column_is_masked_as_a_single_text_is():
    texts = [written for written, _ in MASKED] + KEPT + [None]
    column = pl.Series(texts).to_frame("text").select(masked_text(pl.col("text")))["text"].to_list()
    assert column == [kept for _, kept in MASKED] + KEPT + [None]
