-- Contact details through a macro: the finding points at the macro call.
{{ config(meta={'kaitiaki': {'purpose': 'benefit-uptake'}}) }}
select
    c.region,
    {{ client_contact('c') }} as contact
from {{ ref('msd_clients') }} as c
