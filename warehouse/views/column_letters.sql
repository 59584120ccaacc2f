-- column_letters: one row per wave, question, answer, segment and segment value tested in column_tests.
-- Each value's letter and the letters of the values it is significantly higher than, as SPSS Custom Tables and Q print them ("77% B D").
with tests as (
    select * from column_tests
),

columns as (
    select wave, question, answer, segment, value_a as segment_value, letter_a as letter, pct_a as pct from tests
    union
    select wave, question, answer, segment, value_b as segment_value, letter_b as letter, pct_b as pct from tests
),

beaten as (
    select
        wave,
        question,
        answer,
        segment,
        higher as segment_value,
        case when higher = value_a then letter_b else letter_a end as letter
    from tests
    where is_significant
),

higher_than as (
    select wave, question, answer, segment, segment_value, string_agg(letter, ' ' order by length(letter), letter) as letters
    from beaten
    group by wave, question, answer, segment, segment_value
),

final as (
    select
        columns.wave,
        columns.question,
        columns.answer,
        columns.segment,
        columns.segment_value, -- The segment value (a column of the table).
        columns.letter, -- The value's column letter: A, B, C... in questionnaire order (tool and language: name order).
        columns.pct, -- Percentage 0-100 of the answer in the value's base.
        higher_than.letters as higher_than, -- Letters of the columns this one is significantly higher than (space-separated); null for none.
        printf('%.0f%%', columns.pct) || coalesce(' ' || higher_than.letters, '') as cell -- The cell as printed: the rounded percentage, then those letters ("77% B D").
    from columns
    left join higher_than
      on higher_than.wave = columns.wave and higher_than.question = columns.question
     and higher_than.answer = columns.answer and higher_than.segment = columns.segment
     and higher_than.segment_value = columns.segment_value
)

select * from final order by wave, question, answer, segment, length(letter), letter
