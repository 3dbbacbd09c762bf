{% macro client_contact(alias) -%}
    coalesce({{ alias }}.phone, {{ alias }}.email)
{%- endmacro %}
