select crm_id, email from {{ source('raw_crm', 'contacts') }}
