-- banner: one row per wave, language, question, answer, segment (not 'all') and segment value.
-- The banner tables (a question's answers as rows, every segment's values as columns) in the long form, labelled in each of the study's languages: base, percentage, significance mark, the column letter and the letters of the columns a cell is significantly higher than ("77% B D", from column_letters), beside the whole sample's figure. The XLSX export pivots it into one sheet per wave and question.
with cells as (
    select * from crosstab
),

totals as (
    select wave, question, answer, base_n, coalesce(weighted_pct, pct) as pct from cells where segment = 'all'
),

languages as (
    select distinct language from labels
),

question_labels as (
    select question, language, label, position from labels where kind = 'question'
),

answer_labels as (
    select question, code, language, label from labels where kind in ('option', 'net')
),

value_labels as (
    select question as segment, code as segment_value, language, label, position
    from labels
    where kind in ('option', 'segment_value')
),

letters as (
    select distinct segment, segment_value, letter from column_letters
),

higher_than as (
    select wave, question, answer, segment, segment_value, higher_than as letters from column_letters
),

labelled as (
    select
        cells.wave,
        languages.language, -- Language of the labels: one of the study's languages (labels.language).
        cells.question,
        coalesce(question_labels.label, cells.question) as question_label, -- The question's text in that language.
        question_labels.position as question_order, -- Position of the question in the questionnaire (labels.position).
        cells.answer,
        coalesce(answer_labels.label, cells.answer) as answer_label, -- The answer's label in that language (a NET's: its members' labels joined with ' + ').
        cells.answer_kind,
        cells.answer_order,
        cells.segment,
        coalesce(segment_labels.label, cells.segment) as segment_label, -- The segment's question text in that language; language and source_tool keep their code.
        coalesce(segment_labels.position, 10000) as segment_order, -- Order of the segment in the banner: questionnaire order, then the segments the questionnaire does not declare.
        cells.segment_value,
        coalesce(value_labels.label, cells.segment_value) as value_label, -- The segment value's label in that language, else its code.
        value_labels.position as value_order, -- Position of the value in its segment (labels.position); null for language and source_tool values (name order).
        letters.letter, -- The segment value's column letter (A, B, C... as in column_tests); null where the value is never tested (its base is always under the minimum).
        cells.base_n,
        coalesce(cells.weighted_pct, cells.pct) as pct, -- Percentage 0-100 of the answer in the segment value: weighted (crosstab.weighted_pct) when weighting targets are set, as the column letters are; else crosstab.pct.
        cells.is_suppressed,
        cells.is_low_base,
        cells.is_significant, -- The value differs significantly from the rest of the sample (crosstab.is_significant, adjusted within its family).
        totals.base_n as total_base_n, -- Base of the question in the whole sample.
        totals.pct as total_pct, -- Percentage 0-100 of the answer in the whole sample (weighted when weighting targets are set).
        higher_than.letters as higher_than -- Letters of the columns of the same segment this value is significantly higher than (column-proportion test, column_tests); null for none.
    from cells
    cross join languages
    join totals on totals.wave = cells.wave and totals.question = cells.question and totals.answer = cells.answer
    left join question_labels
      on question_labels.question = cells.question and question_labels.language = languages.language
    left join answer_labels
      on answer_labels.question = cells.question and answer_labels.code = cells.answer
     and answer_labels.language = languages.language
    left join question_labels as segment_labels
      on segment_labels.question = cells.segment and segment_labels.language = languages.language
    left join value_labels
      on value_labels.segment = cells.segment and value_labels.segment_value = cells.segment_value
     and value_labels.language = languages.language
    left join letters on letters.segment = cells.segment and letters.segment_value = cells.segment_value
    left join higher_than
      on higher_than.wave = cells.wave and higher_than.question = cells.question
     and higher_than.answer = cells.answer and higher_than.segment = cells.segment
     and higher_than.segment_value = cells.segment_value
    where cells.segment <> 'all'
),

final as (
    select
        *,
        case
            when is_significant and pct > total_pct then '▲'
            when is_significant then '▼'
        end as mark, -- ▲ (▼): significantly higher (lower) than the rest of the sample (crosstab.is_significant); null otherwise.
        case
            when not is_suppressed then
                printf('%.0f%%', pct) || coalesce(' ' || mark, '') || coalesce(' ' || higher_than, '')
                || case when is_low_base then ' †' else '' end
        end as cell -- The cell as printed: the rounded percentage, the mark, the letters, then † on a low base (is_low_base: read with caution): "77% ▲ B D"; null where the base is under the minimum.
    from labelled
)

select * from final order by wave, language, question, answer_order, segment_order, segment, value_order, segment_value
