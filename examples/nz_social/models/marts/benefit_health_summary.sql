-- A clean aggregate, but of a blocked model: kaitiaki excludes it with its parent.
select
    benefit_type,
    diagnosis_code,
    count(distinct client_number) as clients
from {{ ref('nhi_benefit_match') }}
group by benefit_type, diagnosis_code
having count(distinct client_number) >= 6
