{# A test that stores nothing: dbt-core 1.10 and 1.11 never run its sql_header (their flags carry no
   REQUIRE_SQL_HEADER_IN_TEST_CONFIGS), so a build does not decide it; from a manifest alone that
   flag cannot be read, and the leaking header is blocked. #}
{{ config(
    sql_header="create table exports.unstored_header_leak as select full_name from msd.clients;",
    meta={'kaitiaki': {'purpose': 'benefit-uptake'}}
) }}
select region, clients from {{ ref('route_audited') }} where clients < 6
