-- The session table of tower-sessions-sqlx-store's PostgresStore, created here so that the
-- portal's migrations own the whole schema (the store's own `migrate()` then finds it and does
-- nothing). Its DDL is the store's: schema "tower_sessions", table "session", expiry as
-- TIMESTAMPTZ (the store binds an OffsetDateTime; on SQLite it is Unix seconds).
-- PostgreSQL twin of migrations/sqlite/0016.
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id          TEXT        PRIMARY KEY NOT NULL,
    data        BYTEA       NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
