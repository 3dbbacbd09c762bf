def model(dbt, session):
    dbt.config(materialized="table")
    return session.sql("select 'Waikato' as region, 7 as clients")
