-- Children in care with a hospital admission, by placement type (cells of 6 or more).
select
    placement_type,
    count(distinct person_key) as children
from {{ ref('int_child_health_link') }}
group by placement_type
having count(distinct person_key) >= 6
