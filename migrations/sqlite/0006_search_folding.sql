-- Ticket search on folded text (domain::search::fold: NFKC, hiragana → katakana, lower case).
-- The portal folds in Rust and stores the result, so the tokenizer must not fold again
-- (case_sensitive 1): the index holds exactly the folded text, and the trigram vocabulary below
-- can be range-scanned for the trigrams a two-character word begins.
DROP TABLE ticket_search;
CREATE VIRTUAL TABLE ticket_search USING fts5(body, tokenize = 'trigram case_sensitive 1');

-- One row per distinct trigram of the index: two-character words are looked up through it.
CREATE VIRTUAL TABLE ticket_search_terms USING fts5vocab(ticket_search, 'row');

-- Tickets whose search text must be (re)written by the portal. SQL cannot fold, so this
-- migration lists every existing ticket; the portal indexes them at start-up before serving.
CREATE TABLE ticket_search_stale (ticket_id INTEGER PRIMARY KEY);
INSERT INTO ticket_search_stale (ticket_id) SELECT id FROM tickets;
