{{ config(pre_hook="select 1", post_hook="create table marts.route_audit as select count(*) as cells from {{ this }}") }}
select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
