-- dictionary: one row per column of every warehouse table and view.
-- The data dictionary: tables' column comments come from the pandera schemas, views' from their SQL (or the table column they pass on).
with columns as (
    select table_name, column_index, column_name, data_type, comment
    from duckdb_columns()
    where schema_name = 'main' and database_name = current_database()
),

relations as (
    select table_name, comment as table_comment from duckdb_tables()
    where schema_name = 'main' and database_name = current_database()
    union all
    -- views described like a table (answers): their comment is their description
    select view_name as table_name, comment as table_comment from duckdb_views()
    where schema_name = 'main' and database_name = current_database() and not internal
),

final as (
    select
        columns.table_name, -- The table or view.
        columns.column_name, -- The column.
        columns.data_type, -- Its DuckDB type (ENUM types list their values in questionnaire order).
        columns.comment as description, -- What the column holds, with its unit.
        relations.table_comment as table_description, -- The table's or view's grain and purpose.
        columns.column_index -- The column's position in its table or view (1-based).
    from columns
    left join relations using (table_name)
)

select * from final order by table_name, column_index
