-- Notifications (issue 11): each user's mail language, the kinds of message they turned off,
-- and the claims that make a time-based notice go out once per episode across processes.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'ja' CHECK (language IN ('ja', 'en'));
-- One row per kind a user does not want. Security notices (security_*) are never stored: they
-- cannot be turned off.
CREATE TABLE notification_optouts (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (substr(kind, 1, 9) <> 'security_'),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);
-- Set (only where NULL) in the transaction that enqueues the "reader not seen" notice; cleared
-- when the reader is seen again, which opens the next episode.
ALTER TABLE readers ADD COLUMN stale_notified_at INTEGER;
-- The due time a "ticket about to miss its due time" notice was sent for: a ticket is mailed
-- once per due time (its response due, then its resolution due, or a new one after a change).
ALTER TABLE tickets ADD COLUMN due_soon_notified_for INTEGER;
