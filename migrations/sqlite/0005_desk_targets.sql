-- Response and resolution targets per priority, in business minutes (operators change them on
-- the desk settings page). Seeded with the portal's defaults.
CREATE TABLE desk_targets (
    priority TEXT PRIMARY KEY CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    response_min INTEGER NOT NULL CHECK (response_min > 0),
    resolution_min INTEGER NOT NULL CHECK (resolution_min >= response_min),
    updated_at INTEGER NOT NULL
);
INSERT INTO desk_targets (priority, response_min, resolution_min, updated_at) VALUES
    ('urgent', 30, 240, 0),
    ('high', 60, 540, 0),
    ('normal', 240, 1620, 0),
    ('low', 540, 2700, 0);
