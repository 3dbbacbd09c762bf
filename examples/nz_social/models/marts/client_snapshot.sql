-- Everything about every client, for "convenience": select * on an identifiable table.
select *
from {{ ref('msd_clients') }}
