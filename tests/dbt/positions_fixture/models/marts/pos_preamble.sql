{{ config(
    materialized='table',
    tags=['retention:P1Y'],
    meta={'kaitiaki': {'purpose': 'benefit-uptake'}},
    alias='pos_preamble',
) }}
-- Benefit clients matched to patients on the NHI, with no linking approval: blocked.
select
    s.client_number,
    c.benefit_type,
    p.nhi
from {{ ref('msd_clients') }} as c
inner join {{ ref('idi_spine') }} as s on s.client_number = c.client_number
inner join {{ ref('moh_patients') }} as p on p.nhi = s.nhi
