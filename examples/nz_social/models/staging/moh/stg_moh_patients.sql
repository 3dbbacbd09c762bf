-- Hospital admissions, keyed by NHI (the Ministry of Health's own identifier).
select
    nhi,
    date_of_birth,
    ethnicity,
    region,
    diagnosis_code,
    admitted_on
from {{ ref('moh_patients') }}
