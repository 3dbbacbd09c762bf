{{ config(materialized='incremental', unique_key='region') }}
{% if is_incremental() %}
select region, ethnicity as label from {{ ref('stg_msd_clients') }}
{% else %}
select region, 'all' as label
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
{% endif %}
