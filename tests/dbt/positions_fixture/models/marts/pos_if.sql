{%- set extra = var('pos_extra_columns', true) -%}
{{ config(meta={'kaitiaki': {'purpose': 'benefit-uptake'}}) }}

select
    c.region,
{% if extra %}
    {# names are added in dev only #}
    c.full_name,
{% endif %}
    c.benefit_type
from {{ ref('msd_clients') }} as c
where {% if extra %}c.region is not null{% else %}true{% endif %}
