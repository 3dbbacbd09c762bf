{# Twin: the same test with a header that only sets the session (allowed, and the test runs). #}
{{ config(
    store_failures=true,
    sql_header="set threads = 1;",
    meta={'kaitiaki': {'purpose': 'benefit-uptake'}}
) }}
select region, clients from {{ ref('route_audited') }} where clients < 6
