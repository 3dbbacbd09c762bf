-- Matches benefit clients to hospital diagnoses on the NHI, with no linking approval: blocked.
select
    s.client_number,
    p.nhi,
    c.benefit_type,
    p.diagnosis_code
from {{ ref('msd_clients') }} as c
inner join {{ ref('idi_spine') }} as s on s.client_number = c.client_number
inner join {{ ref('moh_patients') }} as p on p.nhi = s.nhi
