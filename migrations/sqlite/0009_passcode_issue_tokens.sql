-- Single-use tokens carried by the passcode confirmation page, so a reload, a double click or a
-- browser's resubmit of the confirmed form cannot issue a second code. Only the SHA-256 of the
-- random token is kept; a token is consumed in the same transaction as the issue it allows.
CREATE TABLE passcode_issue_tokens (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    clinic_id INTEGER NOT NULL REFERENCES clinics (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    -- The generation issued with it, to tell a replay which code it already issued.
    generation INTEGER
);
CREATE INDEX passcode_issue_tokens_created ON passcode_issue_tokens (created_at);
