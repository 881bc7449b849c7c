-- The installer's own support desk, as operators set it on the desk settings page: shown where
-- the manual says to call the installer, on the help pages, in the footer and on error pages.
-- One row; empty strings until an operator sets it (then nothing installer-specific is shown).
CREATE TABLE installer_desk (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL CHECK (length(name) <= 60),
    phone TEXT NOT NULL CHECK (length(phone) <= 20),
    hours TEXT NOT NULL CHECK (length(hours) <= 100),
    updated_at INTEGER NOT NULL
);
INSERT INTO installer_desk (id, name, phone, hours, updated_at) VALUES (1, '', '', '', 0);

-- The desk is cached in memory (the footer is on every page) and kept coherent across processes
-- by cache_events, whose CHECK allowed only 'clinic' and 'reader'. SQLite cannot change a CHECK,
-- so the table is rebuilt without one: the kinds are the code's (db::cache_events::Kind), and the
-- next cache needs no rebuild. Ids, and the AUTOINCREMENT sequence, carry over, so a process still
-- following the old table's ids misses nothing.
CREATE TABLE cache_events_v2 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind      TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
    entity_id INTEGER NOT NULL,
    at        INTEGER NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) SELECT 'cache_events_v2', seq FROM sqlite_sequence WHERE name = 'cache_events';
INSERT INTO cache_events_v2 (id, kind, entity_id, at) SELECT id, kind, entity_id, at FROM cache_events;
DROP TABLE cache_events;
ALTER TABLE cache_events_v2 RENAME TO cache_events;
