-- dictionary: one row per column of every warehouse table and view.
-- The data dictionary, from the column comments generated from the pandera schemas.
with columns as (
    select table_name, column_index, column_name, data_type, comment
    from duckdb_columns()
    where schema_name = 'main' and database_name = current_database()
),

tables as (
    select table_name, comment as table_comment from duckdb_tables()
    where schema_name = 'main' and database_name = current_database()
    union all
    -- views described like a table (answers): their comment is their description
    select view_name, comment from duckdb_views()
    where schema_name = 'main' and database_name = current_database() and not internal
),

final as (
    select
        columns.table_name,
        columns.column_name,
        columns.data_type,
        columns.comment as description,
        tables.table_comment as table_description,
        columns.column_index
    from columns
    left join tables using (table_name)
    where columns.table_name <> 'dictionary'
)

select * from final order by table_name, column_index
