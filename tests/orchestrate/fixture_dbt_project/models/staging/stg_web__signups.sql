select anonymous_id, lower(trim(email)) as email, occurred_at
from {{ source('raw_web', 'events') }}
where event_type = 'signup' and email is not null
