-- Check values of the secrets every process must share (issue 10 follow-up): an HMAC of a fixed
-- text under the secret, written by the first process that starts with it. A process started with
-- another PORTAL_PASSCODE_PEPPER refuses to start instead of issuing passcodes that the other
-- processes cannot verify (and failing theirs). The audit key has its own in audit_chain.
-- PostgreSQL twin of migrations/sqlite/0020 (BYTEA).
CREATE TABLE secret_checks (
    name        TEXT PRIMARY KEY,
    check_value BYTEA NOT NULL CHECK (length(check_value) = 32)
);
