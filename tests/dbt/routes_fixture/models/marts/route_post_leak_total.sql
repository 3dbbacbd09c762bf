select sum(clients) as clients from {{ ref('route_post_leak') }}
