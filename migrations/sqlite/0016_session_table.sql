-- The session table of tower-sessions-sqlx-store's SqliteStore, created here so that the
-- portal's migrations own the whole schema, as they do on PostgreSQL (migrations/postgres/0016).
-- Its DDL is the store's own; databases made before this migration already have the table (the
-- store's `migrate()` created it at every start), hence IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS tower_sessions (
    id          TEXT    PRIMARY KEY NOT NULL,
    data        BLOB    NOT NULL,
    expiry_date INTEGER NOT NULL
);
