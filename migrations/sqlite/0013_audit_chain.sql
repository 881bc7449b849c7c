-- A tamper-evident audit log (issue 9, finding 8). Rows are still inserted as before, unsealed;
-- the sealer (`services::audit_chain::seal`) later gives each committed row, in one write
-- transaction, its place in the chain and an HMAC-SHA256 over the previous row's MAC and its
-- own fields, keyed by a secret kept outside the database. Existing rows are sealed by the first
-- start after this migration.
ALTER TABLE audit_log ADD COLUMN chain_position INTEGER;
ALTER TABLE audit_log ADD COLUMN chain_mac BLOB;
CREATE UNIQUE INDEX audit_log_by_chain_position ON audit_log (chain_position) WHERE chain_position IS NOT NULL;
-- The sealer finds unsealed rows without scanning the sealed ones.
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE chain_position IS NULL;

-- Entries are written unsealed: only the sealer places a row in the chain.
CREATE TRIGGER audit_log_inserted_unsealed BEFORE INSERT ON audit_log
WHEN NEW.chain_position IS NOT NULL OR NEW.chain_mac IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'audit_log rows are inserted unsealed'); END;

-- Still append-only, except for the one sealing update: chain columns from NULL to set, every
-- other column unchanged (`IS` compares NULLs as equal).
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    OLD.chain_position IS NULL AND OLD.chain_mac IS NULL
    AND NEW.chain_position IS NOT NULL AND NEW.chain_mac IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.actor_id IS OLD.actor_id
    AND NEW.actor IS OLD.actor AND NEW.action IS OLD.action AND NEW.clinic_id IS OLD.clinic_id
    AND NEW.detail IS OLD.detail AND NEW.ip IS OLD.ip
)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- One row: a check value of the chain key (HMAC of a fixed text), written by the first seal, so a
-- different key is named as such instead of showing up as an edited first row. It reveals
-- nothing of the key and cannot be forged without it.
CREATE TABLE audit_chain (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    key_check BLOB    NOT NULL
);
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit_chain is write-once'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit_chain is write-once'); END;
