-- A password an operator set on the web (new account, reset) is temporary: the user must choose
-- their own at the next sign-in. session_generation counts password changes and resets: a
-- session remembers the generation it was signed in under and ends when it no longer matches.
-- PostgreSQL twin of migrations/sqlite/0010. Differs: the flag is BOOLEAN (SQLite's 0/1 INTEGER
-- with CHECK (IN (0, 1)), which BOOLEAN needs no CHECK for).
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN session_generation BIGINT NOT NULL DEFAULT 0;
