-- Approved linking (purpose child-wellbeing-linking): children in care to their hospital
-- admissions, joined on the hashed NHI; only that pseudonymous key leaves the model.
select
    c.nhi_key as person_key,
    c.region,
    c.placement_type,
    p.diagnosis_code
from {{ ref('stg_ot_children_in_care') }} as c
inner join {{ ref('stg_moh_patients') }} as p
    on c.nhi_key = md5(p.nhi)
