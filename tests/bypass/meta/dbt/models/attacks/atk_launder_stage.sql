-- Passes on its own (health-service-planning may use NHIs); its YAML then declares the NHI harmless.
select nhi, region, admitted_on from {{ ref('stg_moh_patients') }}
