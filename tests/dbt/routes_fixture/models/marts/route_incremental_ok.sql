{{ config(materialized='incremental', unique_key='region') }}
select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
{% if is_incremental() %}
where region in (select region from {{ this }})
{% endif %}
group by region
having count(distinct client_number) >= 6
