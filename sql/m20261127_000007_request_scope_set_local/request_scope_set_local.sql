-- Applied by migration m20261127_000007_request_scope_set_local (never edited: change the schema
-- with a new migration; schema.sql at the top of the repository has today's definitions).
--
-- The server now opens a clinic's transaction with one simple-protocol batch of SET LOCAL
-- statements followed by `select where user_credential_stands(...)` (begin_tenant_transaction()):
-- Citus forwards SET LOCAL to its workers but not set_config(), which open_request() used.
-- Still one round trip; user_credential_stands() stays, the one definition of a standing token.

drop function open_request(uuid, uuid, text, smallint, int);
