-- Ticket search on folded text (domain::search::fold: NFKC, hiragana → katakana, lower case).
-- The portal folds in Rust and stores the result, so ticket_search.body holds exactly the folded
-- text, on both engines.
--
-- PostgreSQL twin of migrations/sqlite/0006. Differs:
-- * SQLite rebuilds its FTS5 table with a case-sensitive tokenizer; the pg_trgm index needs no
--   change (its trigrams are always lower-cased, and LIKE re-checks the exact text), so the
--   table is only emptied, as the SQLite rebuild empties it;
-- * ticket_search_terms (FTS5's trigram vocabulary, through which SQLite finds two-character
--   words) has no twin: on PostgreSQL a two-character word is `body LIKE '%xy%'`, which pg_trgm
--   cannot narrow and so reads the whole ticket_search table, as the vocabulary scan reads its
--   whole range.
DELETE FROM ticket_search;

-- Tickets whose search text must be (re)written by the portal. SQL cannot fold, so this
-- migration lists every existing ticket; the portal indexes them at start-up before serving.
CREATE TABLE ticket_search_stale (ticket_id BIGINT PRIMARY KEY);
INSERT INTO ticket_search_stale (ticket_id) SELECT id FROM tickets;
