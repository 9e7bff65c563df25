select anonymous_id as customer_id, email, min(occurred_at) as signed_up_at
from {{ ref('stg_web__signups') }}
group by all
