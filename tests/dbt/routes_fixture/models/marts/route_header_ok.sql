{{ config(sql_header="set threads = 1;") }}
select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
