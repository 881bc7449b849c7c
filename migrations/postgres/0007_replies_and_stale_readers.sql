-- A clinic's reply the desk has not opened yet: set when a clinic admin replies on a ticket,
-- cleared when an agent or operator opens the ticket. The desk's lists mark such tickets.
-- PostgreSQL twin of migrations/sqlite/0007 (BIGINT for integers; otherwise the same).
ALTER TABLE tickets ADD COLUMN clinic_reply_unread_at BIGINT;

-- After how many minutes without a poll a card reader shows as 未接続 (not connected).
-- One row; operators change it on the desk settings page.
CREATE TABLE reader_staleness (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    threshold_min BIGINT NOT NULL CHECK (threshold_min BETWEEN 1 AND 10080),
    updated_at BIGINT NOT NULL
);
INSERT INTO reader_staleness (id, threshold_min, updated_at) VALUES (1, 10, 0);
