select client_number, region from {{ ref('stg_msd_clients') }}
