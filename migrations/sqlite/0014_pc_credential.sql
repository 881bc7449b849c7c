-- The online eligibility PC's sign-in details, which the guide shows to signed-in users on request
-- (audited): one installer-wide default (clinic_id NULL) and at most one override per clinic, set
-- by operators on the desk settings page or with `portal guide-credential set`. They used to be in
-- the guide's content file, and so in the repository and the binary.
--
-- The password is sealed: a version byte, a random 24-byte nonce, then XChaCha20-Poly1305 of the
-- password under a key derived from the passcode pepper (HMAC-SHA256), which is not in the
-- database; the row's scope is the associated data, so a sealed password only opens where it was
-- set. A copy of the database alone does not reveal it.
CREATE TABLE pc_credentials (
    id              INTEGER PRIMARY KEY,
    clinic_id       INTEGER REFERENCES clinics(id),
    username        TEXT    NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
    password_sealed BLOB    NOT NULL CHECK (length(password_sealed) BETWEEN 42 AND 1024),
    updated_at      INTEGER NOT NULL,
    updated_by      TEXT    NOT NULL CHECK (length(updated_by) BETWEEN 1 AND 300)
);
CREATE UNIQUE INDEX pc_credentials_per_clinic ON pc_credentials (clinic_id) WHERE clinic_id IS NOT NULL;
CREATE UNIQUE INDEX pc_credentials_one_default ON pc_credentials ((clinic_id IS NULL)) WHERE clinic_id IS NULL;
