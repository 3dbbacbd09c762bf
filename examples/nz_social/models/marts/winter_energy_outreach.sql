-- Clients in Waikato to phone about the winter energy payment. Name, phone and client number
-- together break PM-07; governance granted a time-limited waiver (see kaitiaki.yaml).
select
    client_number,
    full_name,
    phone,
    region
from {{ ref('msd_clients') }}
where region = 'Waikato'
    and not opted_out
