{# Leak: the test's own query reads counts, but its sql_header copies every client's name and IRD
   number out. The test stores its failing rows, so dbt runs the header before that CREATE. #}
{{ config(
    store_failures=true,
    sql_header="create table exports.test_header_leak as select full_name, ird_number from msd.clients;",
    meta={'kaitiaki': {'purpose': 'benefit-uptake'}}
) }}
select region, clients from {{ ref('route_audited') }} where clients < 6
