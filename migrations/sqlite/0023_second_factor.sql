-- A second factor for staff (issue 11): TOTP (RFC 6238) with single-use recovery codes.
-- The secret is sealed under the key derived from the passcode pepper (auth::SealingKey), so a
-- copy of the database alone cannot make codes. A row with enabled_at NULL is an enrolment not
-- yet confirmed by a current code. last_step is the 30-second step of the last code accepted:
-- a code is accepted only for a later step, which makes every code single use, also across
-- processes (a conditional UPDATE).
CREATE TABLE user_totp (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret      BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    enabled_at  INTEGER,
    last_step   INTEGER NOT NULL DEFAULT 0
);
-- Ten per user, shown once; only their SHA-256 is kept (80 random bits each, so a fast hash is
-- enough: nothing to brute-force, unlike a password).
CREATE TABLE totp_recovery_codes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL UNIQUE,
    used_at    INTEGER
);
CREATE INDEX totp_recovery_codes_by_user ON totp_recovery_codes (user_id);
-- Operators' choice: require the second factor of every role, not only of operators.
CREATE TABLE account_policy (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    totp_required_for_all INTEGER NOT NULL DEFAULT 0 CHECK (totp_required_for_all IN (0, 1)),
    updated_at           INTEGER NOT NULL
);
INSERT INTO account_policy (id, totp_required_for_all, updated_at) VALUES (1, 0, 0);
