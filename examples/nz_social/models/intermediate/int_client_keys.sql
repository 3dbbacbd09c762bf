-- Clients under a pseudonymous key, for analysis that does not need to know who anyone is.
select
    md5(client_number) as person_key,
    date_of_birth,
    region,
    benefit_type
from {{ ref('stg_msd_clients') }}
