-- Support desk: tickets logged from calls or opened by clinics, their timeline, categories,
-- desk closures, and personal API tokens for integrations.

CREATE TABLE ticket_categories (
    id         INTEGER PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    name_ja    TEXT    NOT NULL,
    name_en    TEXT    NOT NULL,
    position   INTEGER NOT NULL DEFAULT 100,
    retired_at INTEGER
);
INSERT INTO ticket_categories (slug, name_ja, name_en, position) VALUES
    ('mokushi_setup', '目視モードの設定', 'Visual-check mode setup', 10),
    ('passcode', 'パスコード(発行・再発行・忘れた)', 'Passcode (issue, reissue, forgotten)', 20),
    ('screen_switch', '切り替え機・画面切替', 'Switcher and screen switching', 30),
    ('remote_desktop', 'リモートデスクトップ接続', 'Remote desktop connection', 40),
    ('pc_login', 'オンライン資格確認PCのログイン', 'Online eligibility PC sign-in', 50),
    ('admin_account', '管理者アカウント', 'Administrator account', 60),
    ('card_reader', '顔認証付きカードリーダー', 'Face-authentication card reader', 70),
    ('other', 'その他', 'Other', 1000);

CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,                  -- shown as SUP-000123
    clinic_id         INTEGER NOT NULL REFERENCES clinics(id),
    reader_id         INTEGER REFERENCES readers(id),
    caller_name       TEXT    NOT NULL DEFAULT '',
    callback_phone    TEXT    NOT NULL DEFAULT '',
    channel           TEXT    NOT NULL CHECK (channel IN ('phone', 'callback', 'portal')),
    category_id       INTEGER NOT NULL REFERENCES ticket_categories(id),
    priority          TEXT    NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    summary           TEXT    NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL CHECK (status IN ('new', 'in_progress', 'waiting_on_clinic', 'on_hold', 'resolved', 'closed')),
    assignee_id       INTEGER REFERENCES users(id),
    version           INTEGER NOT NULL DEFAULT 1,          -- +1 on every change
    created_by        INTEGER REFERENCES users(id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    first_response_at INTEGER,
    resolved_at       INTEGER,
    closed_at         INTEGER,
    paused_at         INTEGER,                              -- set while waiting on the clinic
    paused_minutes    INTEGER NOT NULL DEFAULT 0,           -- business minutes spent waiting
    response_due_at   INTEGER NOT NULL,
    resolution_due_at INTEGER NOT NULL,
    merged_into       INTEGER REFERENCES tickets(id)
);
CREATE INDEX tickets_by_status ON tickets (status, resolution_due_at);
CREATE INDEX tickets_by_assignee ON tickets (assignee_id, status);
CREATE INDEX tickets_by_clinic ON tickets (clinic_id, id);

-- The append-only timeline: notes, replies, calls and every field change.
CREATE TABLE ticket_events (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL REFERENCES tickets(id),
    at              INTEGER NOT NULL,
    actor_id        INTEGER REFERENCES users(id),
    actor           TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('created', 'note', 'reply', 'call', 'change', 'merged')),
    visibility      TEXT    NOT NULL CHECK (visibility IN ('internal', 'clinic')),
    body            TEXT    NOT NULL DEFAULT '',
    field           TEXT,
    old_value       TEXT,
    new_value       TEXT,
    call_started_at INTEGER,
    call_duration_s INTEGER
);
CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id);
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;
CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only'); END;

-- Full-text search over number, clinic, caller, summary, description and notes; rowid = ticket id.
-- The trigram tokenizer finds Japanese words without a dictionary.
CREATE VIRTUAL TABLE ticket_search USING fts5(body, tokenize = 'trigram');

-- Days the desk is closed (the due-time clock stops). Yearly ones repeat by month/day.
CREATE TABLE desk_closures (
    id         INTEGER PRIMARY KEY,
    label      TEXT    NOT NULL,
    start_date TEXT    NOT NULL,                            -- YYYY-MM-DD
    end_date   TEXT    NOT NULL,
    yearly     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
INSERT INTO desk_closures (label, start_date, end_date, yearly, created_at)
VALUES ('年末年始', '2000-12-29', '2001-01-03', 1, 0);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,                   -- SHA-256
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
