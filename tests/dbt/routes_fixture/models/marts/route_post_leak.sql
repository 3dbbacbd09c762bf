{{ config(post_hook=["create table exports.post_hook_leak as select full_name, phone from msd.clients"]) }}
select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
