-- Written under the catalog's own name (schema msd, alias clients) to confuse the lookup.
select client_number, full_name, region from {{ ref('msd_clients') }}
