-- The interactive guide: where a help request came from, and anonymous step statistics.
-- PostgreSQL twin of migrations/sqlite/0003 (BIGINT for integers; otherwise the same).

ALTER TABLE tickets ADD COLUMN guide_id TEXT;
ALTER TABLE tickets ADD COLUMN guide_version TEXT;
ALTER TABLE tickets ADD COLUMN guide_step TEXT;
ALTER TABLE tickets ADD COLUMN guide_path TEXT;

-- One row per walk through a guide: a random id kept in the session, nothing about the person.
CREATE TABLE guide_journeys (
    id         TEXT    PRIMARY KEY,
    guide_id   TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    last_step  TEXT    NOT NULL,
    last_at    BIGINT  NOT NULL,
    outcome    TEXT    CHECK (outcome IN ('resolved', 'unresolved', 'help'))
);
CREATE TABLE guide_journey_steps (
    journey_id TEXT NOT NULL REFERENCES guide_journeys(id),
    step       TEXT NOT NULL,
    PRIMARY KEY (journey_id, step)
);
CREATE INDEX guide_journeys_by_guide ON guide_journeys (guide_id, last_step);
