{# Leak: a warn-level test that stores its failing rows: every client's name and IRD number. #}
{{ config(store_failures=true, severity='warn', meta={'kaitiaki': {'purpose': 'benefit-uptake'}}) }}
select full_name, ird_number from {{ ref('msd_clients') }} where ird_number is not null
