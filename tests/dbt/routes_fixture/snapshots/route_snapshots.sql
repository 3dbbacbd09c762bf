{# Leak: a snapshot copying names, phones and IRD numbers under an aggregate-only purpose. #}
{% snapshot client_contacts %}
{{ config(target_schema='snapshots', unique_key='client_number', strategy='check', check_cols='all',
          meta={'kaitiaki': {'purpose': 'benefit-uptake'}}) }}
select client_number, full_name, phone, ird_number from {{ ref('msd_clients') }}
{% endsnapshot %}

{# Twin: a snapshot of suppressed aggregate cells under the same purpose; its hooks count cells. #}
{% snapshot uptake_history %}
{{ config(target_schema='snapshots', unique_key='cell', strategy='check', check_cols='all',
          meta={'kaitiaki': {'purpose': 'benefit-uptake'}},
          pre_hook="select 1",
          post_hook="create table if not exists snapshots.uptake_audit as select count(*) as cells from {{ this }}") }}
select region || '/' || benefit_type as cell, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region, benefit_type
having count(distinct client_number) >= 6
{% endsnapshot %}

{# Leak: the suppressed cells are fine, but the snapshot's hooks copy people out. #}
{% snapshot uptake_hooked %}
{{ config(target_schema='snapshots', unique_key='cell', strategy='check', check_cols='all',
          meta={'kaitiaki': {'purpose': 'benefit-uptake'}},
          pre_hook="create table if not exists exports.snapshot_pre_leak as select phone from msd.clients",
          post_hook="create table exports.snapshot_post_leak as select full_name, ird_number from msd.clients") }}
select region as cell, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
{% endsnapshot %}
