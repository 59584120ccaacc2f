-- crosstab_labelled: one row per crosstab row and language of the study (labels.language).
-- The crosstab with its question, answer, segment and segment value labelled in each of the study's languages; a code the questionnaire does not label (the whole sample 'all', a language, a survey tool) keeps its code.
with cells as (
    select * from crosstab
),

languages as (
    select distinct language from labels
),

question_labels as (
    select question, language, label from labels where kind = 'question'
),

answer_labels as (
    select question, code, language, label from labels where kind in ('option', 'net')
),

value_labels as (
    select question as segment, code as segment_value, language, label
    from labels
    where kind in ('option', 'segment_value')
),

final as (
    select
        cells.wave,
        languages.language, -- Language of the labels of this row: one of the study's languages (labels.language).
        cells.question,
        coalesce(question_labels.label, cells.question) as question_label, -- The question's text in that language.
        cells.answer,
        coalesce(answer_labels.label, cells.answer) as answer_label, -- The option's label in that language; a NET's is its members' labels joined with ' + '.
        cells.answer_kind,
        cells.answer_order,
        cells.segment,
        coalesce(segment_labels.label, cells.segment) as segment_label, -- The segment's question text in that language (a derived segment: its source question's); 'all', language and source_tool keep their code.
        cells.segment_value,
        coalesce(value_labels.label, cells.segment_value) as value_label, -- The segment value's label in that language (a derived segment's value: its members' labels joined with ' + '); else its code.
        cells.base_n,
        cells.n,
        cells.pct,
        cells.ci_low,
        cells.ci_high,
        cells.p_value,
        cells.p_adjusted,
        cells.is_significant,
        cells.is_tested,
        cells.not_tested_reason,
        cells.is_suppressed,
        cells.is_low_base,
        cells.weighted_pct,
        cells.weighted_ci_low,
        cells.weighted_ci_high,
        cells.effective_base
    from cells
    cross join languages
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
)

select * from final order by wave, language, question, answer_order, segment, segment_value
