-- Each signed-in browser, so users can see where they are signed in and end any of those
-- sessions (issue 11). The session itself stays in tower-sessions' table; this row is found by a
-- random handle kept inside the session's data (never the session id, which is the cookie), and a
-- session whose row is ended or gone is signed out at its next request.
CREATE TABLE user_sessions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    handle       TEXT    NOT NULL UNIQUE CHECK (length(handle) = 32),
    user_agent   TEXT    NOT NULL,
    address      TEXT,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id, last_used_at);
