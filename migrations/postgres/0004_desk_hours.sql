-- The support desk's opening hours on business days (Japan time), which due times count in.
-- One row; minutes since midnight.
-- PostgreSQL twin of migrations/sqlite/0004 (BIGINT for integers; the one-row id is no identity).
CREATE TABLE desk_hours (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    opens_min BIGINT NOT NULL CHECK (opens_min BETWEEN 0 AND 1439),
    closes_min BIGINT NOT NULL CHECK (closes_min BETWEEN 1 AND 1440),
    updated_at BIGINT NOT NULL,
    CHECK (opens_min < closes_min)
);
INSERT INTO desk_hours (id, opens_min, closes_min, updated_at) VALUES (1, 540, 1080, 0);
