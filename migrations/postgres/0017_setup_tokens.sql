-- First-run setup tokens live in the database (issue 10), so whichever portal process a browser
-- reaches can finish setup, and only once. Every process that starts while no account exists
-- adds the SHA-256 of the token it prints; the setup that creates the first operator consumes its
-- token and deletes the others in the same transaction.
-- PostgreSQL twin of migrations/sqlite/0017 (BYTEA, BIGINT).
CREATE TABLE setup_tokens (
    token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
    created_at BIGINT NOT NULL
);
