-- A password an operator set on the web (new account, reset) is temporary: the user must choose
-- their own at the next sign-in. session_generation counts password changes and resets: a
-- session remembers the generation it was signed in under and ends when it no longer matches.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1));
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
