{# Leak: a snapshot copying names, phones and IRD numbers under an aggregate-only purpose. #}
{% snapshot client_contacts %}
{{ config(target_schema='snapshots', unique_key='client_number', strategy='check', check_cols='all',
          meta={'kaitiaki': {'purpose': 'benefit-uptake'}}) }}
select client_number, full_name, phone, ird_number from {{ ref('msd_clients') }}
{% endsnapshot %}

{# Twin: a snapshot of suppressed aggregate cells under the same purpose. #}
{% snapshot uptake_history %}
{{ config(target_schema='snapshots', unique_key='cell', strategy='check', check_cols='all',
          meta={'kaitiaki': {'purpose': 'benefit-uptake'}}) }}
select region || '/' || benefit_type as cell, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region, benefit_type
having count(distinct client_number) >= 6
{% endsnapshot %}
