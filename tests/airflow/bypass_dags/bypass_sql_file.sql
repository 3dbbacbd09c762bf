-- A .sql template file: rendered and checked like inline SQL.
create table loot.sql_file as select {{ "full_name" }} from msd.clients where not opted_out
