-- The installer's own support desk, as operators set it on the desk settings page: shown where
-- the manual says to call the installer, on the help pages, in the footer and on error pages.
-- One row; empty strings until an operator sets it (then nothing installer-specific is shown).
--
-- PostgreSQL twin of migrations/sqlite/0008. Differs: SQLite cannot change a CHECK and rebuilds
-- cache_events (carrying ids and the AUTOINCREMENT sequence over); PostgreSQL replaces the
-- CHECK in place, which keeps the rows and the identity as they are. length() counts characters
-- on both engines.
CREATE TABLE installer_desk (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL CHECK (length(name) <= 60),
    phone TEXT NOT NULL CHECK (length(phone) <= 20),
    hours TEXT NOT NULL CHECK (length(hours) <= 100),
    updated_at BIGINT NOT NULL
);
INSERT INTO installer_desk (id, name, phone, hours, updated_at) VALUES (1, '', '', '', 0);

-- The desk is cached in memory (the footer is on every page) and kept coherent across processes
-- by cache_events, whose CHECK allowed only 'clinic' and 'reader'. The kinds are now the code's
-- (db::cache_events::Kind), so the next cache needs no schema change.
ALTER TABLE cache_events
    DROP CONSTRAINT cache_events_kind_check,
    ADD CONSTRAINT cache_events_kind_check CHECK (length(kind) BETWEEN 1 AND 40);
