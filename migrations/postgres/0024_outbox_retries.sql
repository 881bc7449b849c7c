-- A robust outbox (issue 11 review): only permanent refusals (SMTP 5xx) count towards giving a
-- message up, and an operator can put a failing message back in the queue.
-- rejections: permanent refusals since the message was (re)queued; transient failures (server
-- down, timeouts, 4xx) are retried for a time from created_at, or from requeued_at once an
-- operator put the message back (docs/mail.md). PostgreSQL twin of migrations/sqlite/0024.
ALTER TABLE mail_outbox ADD COLUMN rejections BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mail_outbox ADD COLUMN requeued_at BIGINT;
-- Housekeeping deletes sent rows by age.
CREATE INDEX mail_outbox_sent ON mail_outbox (status, sent_at);
