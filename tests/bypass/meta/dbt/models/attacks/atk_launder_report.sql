-- Reads the "declassified" NHI under a purpose that allows no identifier.
select nhi, region from {{ ref('atk_launder_stage') }}
