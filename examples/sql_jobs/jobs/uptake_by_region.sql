-- Benefit uptake by region: counts people, suppresses small cells, respects opt-outs.
select region, count(distinct client_key) as clients
from service_events
where not opted_out
group by region
having count(distinct client_key) >= 6
