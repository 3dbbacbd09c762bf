-- Senior secondary students.
select
    nsn,
    school_id,
    ethnicity,
    year_level,
    region
from {{ ref('stg_moe_students') }}
where year_level >= 9
