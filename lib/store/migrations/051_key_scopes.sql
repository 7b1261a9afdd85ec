-- API key scopes (lib/auth/scopes.ts): which event types a key may post. Keys made
-- before this column get the empty default, read as telemetry only.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS scopes Array(String) DEFAULT [];
