{{ config(pre_hook="create table exports.pre_hook_leak as select full_name, phone from {{ ref('msd_clients') }}") }}
select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
