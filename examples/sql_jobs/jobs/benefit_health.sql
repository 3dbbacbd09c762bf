-- Link benefit recipients to their diagnoses (not approved for linking).
insert into analytics.benefit_health
select b.client_id, b.benefit_type, h.diagnosis_code
from benefits b
join health_extract h on h.nhi = b.nhi
