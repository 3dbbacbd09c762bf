-- Clients by region and benefit, counting people and suppressing cells under 6.
select
    region,
    benefit_type,
    count(distinct client_number) as clients
from {{ ref('stg_msd_clients') }}
group by region, benefit_type
having count(distinct client_number) >= 6
