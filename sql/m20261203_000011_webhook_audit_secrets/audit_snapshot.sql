-- Applied by migration m20261203_000011_webhook_audit_secrets (never edited: change the schema
-- with a new migration; schema.sql at the top of the repository has today's definitions).
--
-- Secrets never reach an audit snapshot: besides password hashes and the current sealed secret
-- (of an API key or a webhook endpoint), a webhook endpoint's previous secret, kept sealed while a
-- rotation's overlap lasts (sql/m20261203_000010_webhooks/webhooks.sql), is removed too.

create or replace function audit_snapshot(row_image jsonb) returns jsonb
language sql immutable as $$
  select case
           when row_image ? 'phi_data' and row_image ->> 'phi_data' is not null
             then jsonb_set(row_image - array['password_hash', 'secret_ciphertext', 'previous_secret_ciphertext'],
                            '{phi_data}', '"[encrypted]"')
           else row_image - array['password_hash', 'secret_ciphertext', 'previous_secret_ciphertext']
         end
$$;
