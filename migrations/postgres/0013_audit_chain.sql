-- A tamper-evident audit log (issue 9, finding 8). Rows are still inserted as before, unsealed;
-- the sealer (`services::audit_chain::seal`) later gives each committed row, in one write
-- transaction, its place in the chain and an HMAC-SHA256 over the previous row's MAC and its
-- own fields, keyed by a secret kept outside the database. Existing rows are sealed by the first
-- start after this migration.
--
-- PostgreSQL twin of migrations/sqlite/0013 (BIGINT, BYTEA). Differs: SQLite's `WHEN` clauses
-- become tests in plpgsql functions (`IS` on NULLs is `IS NOT DISTINCT FROM`), and audit_chain
-- refuses TRUNCATE too, as audit_log does since 0001.
ALTER TABLE audit_log ADD COLUMN chain_position BIGINT;
ALTER TABLE audit_log ADD COLUMN chain_mac BYTEA;
CREATE UNIQUE INDEX audit_log_by_chain_position ON audit_log (chain_position) WHERE chain_position IS NOT NULL;
-- The sealer finds unsealed rows without scanning the sealed ones.
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE chain_position IS NULL;

-- Entries are written unsealed: only the sealer places a row in the chain.
CREATE FUNCTION audit_log_inserted_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.chain_position IS NOT NULL OR NEW.chain_mac IS NOT NULL THEN
        RAISE EXCEPTION 'audit_log rows are inserted unsealed';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_inserted_unsealed BEFORE INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_inserted_unsealed();

-- Still append-only, except for the one sealing update: chain columns from NULL to set, every
-- other column unchanged. The columns are listed as in the SQLite trigger: a column added to
-- audit_log later must be added here too, in the same migration on both engines.
CREATE FUNCTION audit_log_only_sealing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.chain_position IS NULL AND OLD.chain_mac IS NULL
        AND NEW.chain_position IS NOT NULL AND NEW.chain_mac IS NOT NULL
        AND NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.at IS NOT DISTINCT FROM OLD.at
        AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id AND NEW.actor IS NOT DISTINCT FROM OLD.actor
        AND NEW.action IS NOT DISTINCT FROM OLD.action AND NEW.clinic_id IS NOT DISTINCT FROM OLD.clinic_id
        AND NEW.detail IS NOT DISTINCT FROM OLD.detail AND NEW.ip IS NOT DISTINCT FROM OLD.ip
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
DROP TRIGGER audit_log_no_update ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_only_sealing();

-- One row: a check value of the chain key (HMAC of a fixed text), written by the first seal, so a
-- different key is named as such instead of showing up as an edited first row. It reveals
-- nothing of the key and cannot be forged without it.
CREATE TABLE audit_chain (
    id        BIGINT  PRIMARY KEY CHECK (id = 1),
    key_check BYTEA   NOT NULL
);
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
FOR EACH ROW EXECUTE FUNCTION refuse_change('audit_chain is write-once');
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
FOR EACH ROW EXECUTE FUNCTION refuse_change('audit_chain is write-once');
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('audit_chain is write-once');
