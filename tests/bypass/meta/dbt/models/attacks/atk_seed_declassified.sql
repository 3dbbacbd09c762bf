-- The seed's own YAML says full_name is not identifying; the catalog says it is.
select full_name, region from {{ ref('msd_clients') }}
