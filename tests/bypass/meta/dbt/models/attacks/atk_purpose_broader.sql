-- In a staging folder whose purpose is narrower, the model claims a broader one for itself.
select client_number, region from {{ ref('stg_msd_clients') }}
