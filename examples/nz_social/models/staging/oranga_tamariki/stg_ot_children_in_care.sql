-- Children in care. The NHI is another agency's identifier: only its hash leaves this model,
-- and it is the one key kept (the child_id stays in the source).
select
    md5(nhi) as nhi_key,
    ra_whanau as date_of_birth,
    placement_type,
    entered_care_on,
    region
from {{ ref('ot_children_in_care') }}
