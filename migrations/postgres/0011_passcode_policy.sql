-- How many wrong codes, counted across a clinic's readers over one passcode generation (a right
-- code does not reset the count), disable that generation until the admin issues a new one.
-- One row; operators change it on the desk settings page.
-- PostgreSQL twin of migrations/sqlite/0011 (BIGINT for integers; otherwise the same).
CREATE TABLE passcode_policy (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    failures_before_disable BIGINT NOT NULL CHECK (failures_before_disable BETWEEN 3 AND 100),
    updated_at BIGINT NOT NULL
);
INSERT INTO passcode_policy (id, failures_before_disable, updated_at) VALUES (1, 10, 0);
