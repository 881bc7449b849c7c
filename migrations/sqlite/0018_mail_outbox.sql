-- The mail outbox (issue 11): a message is written in the same transaction as the event that
-- causes it, and the server's sender delivers it later with retries. A row is claimed by one
-- process at a time (claimed_by, claimed_at: a lease); a lease that ran out is claimable again.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failing')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    claimed_by      TEXT,
    claimed_at      INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
