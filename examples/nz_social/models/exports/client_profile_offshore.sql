-- Person-level client profiles sent to an overseas analytics vendor.
select
    person_key,
    date_of_birth,
    region,
    benefit_type
from {{ ref('int_client_keys') }}
