-- Enrolled students, keyed by NSN (the Ministry of Education's own identifier).
select
    nsn,
    date_of_birth,
    ethnicity,
    school_id,
    year_level,
    region
from {{ ref('moe_students') }}
