-- Invitations by mail and password resets by mail (issue 11). Only the SHA-256 of each link's
-- token is stored. A row lives while its link may still be used: accepting, revoking or
-- replacing an invitation deletes it, and so does using a reset link or asking for a newer one
-- (deleting is what makes a link single use, inside the transaction that uses it).
CREATE TABLE invitations (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL UNIQUE,             -- stored lower-cased; one pending invitation per address
    token_hash BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role       TEXT    NOT NULL CHECK (role IN ('operator', 'agent', 'clinic_admin')),
    clinic_id  INTEGER REFERENCES clinics(id),
    invited_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CHECK ((role = 'clinic_admin') = (clinic_id IS NOT NULL))
);
CREATE TABLE password_resets (
    token_hash BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);
