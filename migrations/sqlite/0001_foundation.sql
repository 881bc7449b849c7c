-- Foundation schema: clinics, people, card readers, passcodes and the audit trail.
-- Times are Unix seconds (UTC); they are rendered in Japan time by the UI.

CREATE TABLE clinics (
    id                  INTEGER PRIMARY KEY,
    code                TEXT    NOT NULL UNIQUE,       -- 10-digit 医療機関コード, validated by the app
    name                TEXT    NOT NULL,
    phone               TEXT    NOT NULL DEFAULT '',
    address             TEXT    NOT NULL DEFAULT '',
    contact_name        TEXT    NOT NULL DEFAULT '',
    passcode_generation INTEGER NOT NULL DEFAULT 0,    -- +1 at every issue; 0 = never issued
    created_at          INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,             -- stored lower-cased
    password_hash TEXT    NOT NULL,                    -- argon2id PHC string
    role          TEXT    NOT NULL CHECK (role IN ('operator', 'agent', 'clinic_admin')),
    clinic_id     INTEGER REFERENCES clinics(id),
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER,
    CHECK ((role = 'clinic_admin') = (clinic_id IS NOT NULL))
);

CREATE TABLE readers (
    id                   INTEGER PRIMARY KEY,
    clinic_id            INTEGER NOT NULL REFERENCES clinics(id),
    name                 TEXT    NOT NULL,
    install_type         TEXT    NOT NULL CHECK (install_type IN ('standalone', 'shared')),
    token_hash           BLOB    UNIQUE,               -- SHA-256 of the device token; NULL once revoked
    enrolled_at          INTEGER NOT NULL,
    revoked_at           INTEGER,
    last_seen_at         INTEGER,
    last_seen_generation INTEGER,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,   -- consecutive wrong passcodes
    lockouts             INTEGER NOT NULL DEFAULT 0,   -- lockouts since the last success
    locked_until         INTEGER,
    UNIQUE (clinic_id, name)
);

CREATE TABLE passcodes (
    id                   INTEGER PRIMARY KEY,
    clinic_id            INTEGER NOT NULL REFERENCES clinics(id),
    generation           INTEGER NOT NULL,
    code_hash            TEXT    NOT NULL,             -- argon2id keyed with the server pepper
    issued_at            INTEGER NOT NULL,
    issued_by            INTEGER REFERENCES users(id), -- NULL when issued from the command line
    issued_via           TEXT    NOT NULL CHECK (issued_via IN ('web', 'cli')),
    superseded_at        INTEGER,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,   -- consecutive wrong codes across the clinic
    disabled_at          INTEGER,
    disabled_reason      TEXT,
    UNIQUE (clinic_id, generation)
);
-- At most one current (not superseded) passcode per clinic.
CREATE UNIQUE INDEX passcodes_one_current ON passcodes (clinic_id) WHERE superseded_at IS NULL;

CREATE TABLE passcode_attempts (
    id         INTEGER PRIMARY KEY,
    clinic_id  INTEGER NOT NULL REFERENCES clinics(id),
    reader_id  INTEGER NOT NULL REFERENCES readers(id),
    generation INTEGER,
    at         INTEGER NOT NULL,
    result     TEXT    NOT NULL CHECK (result IN ('accepted', 'rejected', 'locked', 'disabled', 'none_issued'))
);
CREATE INDEX passcode_attempts_by_clinic ON passcode_attempts (clinic_id, id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   INTEGER REFERENCES users(id),
    actor      TEXT    NOT NULL,                       -- e-mail, 'cli', 'reader:<id>' or 'anonymous'
    action     TEXT    NOT NULL,
    clinic_id  INTEGER REFERENCES clinics(id),
    detail     TEXT    NOT NULL DEFAULT '',
    ip         TEXT
);
CREATE INDEX audit_log_by_clinic ON audit_log (clinic_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Sign-in failures, by key ('account:<email>' or 'address:<ip>'), for throttling across restarts.
CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    key       TEXT    NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (key, failed_at);

-- Every write that the in-memory reader caches depend on appends a row here, in the same
-- transaction. Each portal process tails this table, so changes made by the command line
-- (or another process) reach its caches within a second.
CREATE TABLE cache_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind      TEXT    NOT NULL CHECK (kind IN ('clinic', 'reader')),
    entity_id INTEGER NOT NULL,
    at        INTEGER NOT NULL
);
