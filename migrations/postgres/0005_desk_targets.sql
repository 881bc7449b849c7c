-- Response and resolution targets per priority, in business minutes (operators change them on
-- the desk settings page). Seeded with the portal's defaults.
-- PostgreSQL twin of migrations/sqlite/0005 (BIGINT for integers; the priority, by which the
-- rows are listed, is COLLATE "C" as in 0001).
CREATE TABLE desk_targets (
    priority TEXT COLLATE "C" PRIMARY KEY CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    response_min BIGINT NOT NULL CHECK (response_min > 0),
    resolution_min BIGINT NOT NULL CHECK (resolution_min >= response_min),
    updated_at BIGINT NOT NULL
);
INSERT INTO desk_targets (priority, response_min, resolution_min, updated_at) VALUES
    ('urgent', 30, 240, 0),
    ('high', 60, 540, 0),
    ('normal', 240, 1620, 0),
    ('low', 540, 2700, 0);
