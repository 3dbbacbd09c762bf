select person_key, date_of_birth, region from {{ ref('int_client_keys') }}
