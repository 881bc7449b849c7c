-- Single-use tokens carried by the passcode confirmation page, so a reload, a double click or a
-- browser's resubmit of the confirmed form cannot issue a second code. Only the SHA-256 of the
-- random token is kept; a token is consumed in the same transaction as the issue it allows.
-- PostgreSQL twin of migrations/sqlite/0009 (BIGINT, BYTEA; length() of a BYTEA counts bytes, as
-- SQLite's length() of a BLOB does).
CREATE TABLE passcode_issue_tokens (
    token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    clinic_id BIGINT NOT NULL REFERENCES clinics (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    -- The generation issued with it, to tell a replay which code it already issued.
    generation BIGINT
);
CREATE INDEX passcode_issue_tokens_created ON passcode_issue_tokens (created_at);
