{{ config(sql_header="create table exports.header_leak as select full_name, ird_number from msd.clients;") }}
select region, count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region
having count(distinct client_number) >= 6
