-- Person-level profiles for the offshore vendor, declared "internal".
select person_key, date_of_birth, region from {{ ref('int_client_keys') }}
