-- MSD clients who have not opted out, without names or contact details.
select
    client_number,
    date_of_birth,
    ethnicity,
    region,
    benefit_type
from {{ ref('msd_clients') }}
where not opted_out
