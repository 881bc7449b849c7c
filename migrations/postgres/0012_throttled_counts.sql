-- Sign-in attempts refused by throttling, counted per client address and hour instead of an
-- audit row each (the audit log cannot be pruned; strangers choose how often they are refused).
-- The first refusal of each address and hour is audited; the count says how many followed.
-- PostgreSQL twin of migrations/sqlite/0012. Differs: SQLite's WITHOUT ROWID (rows stored in the
-- primary key's b-tree) has no PostgreSQL form; an ordinary table with the same primary key.
CREATE TABLE throttled_counts (
    key TEXT NOT NULL,
    hour BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, hour)
);
