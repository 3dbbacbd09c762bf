{% macro copy_names() %}
  {% do run_query("create table exports.operation_leak as select full_name from msd.clients") %}
{% endmacro %}

{% macro count_clients() %}
  {% do run_query("create table marts.operation_counts as select count(*) as clients from msd.clients") %}
{% endmacro %}
