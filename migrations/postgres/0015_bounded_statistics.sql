-- Statistics that strangers can add to stay bounded (issue 9, finding 1).
-- PostgreSQL twin of migrations/sqlite/0015. Differs: WITHOUT ROWID has no PostgreSQL form (an
-- ordinary table with the same primary key, as in 0012); BIGINT for integers.

-- Guide walks idle for 30 minutes (or the oldest, beyond a cap on open walks) are folded into
-- per-step totals and deleted by the server's housekeeping: the statistics page shows the same
-- sums, and the walk tables hold only the last half hour.
CREATE TABLE guide_step_totals (
    guide_id   TEXT    NOT NULL,
    step       TEXT    NOT NULL,
    reached    BIGINT  NOT NULL DEFAULT 0 CHECK (reached >= 0),
    left_there BIGINT  NOT NULL DEFAULT 0 CHECK (left_there >= 0),
    PRIMARY KEY (guide_id, step)
);
CREATE INDEX guide_journeys_by_last_at ON guide_journeys (last_at);

-- The same answer to the same reader for the same code within a minute is one row with a count,
-- and rows older than the retention period are deleted.
ALTER TABLE passcode_attempts ADD COLUMN count BIGINT NOT NULL DEFAULT 1 CHECK (count >= 1);
CREATE INDEX passcode_attempts_by_reader ON passcode_attempts (reader_id, id);
CREATE INDEX passcode_attempts_by_at ON passcode_attempts (at);
