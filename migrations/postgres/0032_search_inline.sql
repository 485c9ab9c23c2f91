-- Ranking a search reads every match's tsvector. At about 1 KB it pushed most prompt rows past
-- PostgreSQL's 2 KB TOAST threshold and was stored out of line, so each match cost a TOAST index
-- lookup and a chunk read besides its row: rows now stay whole up to 4 KB, the tsvector kept in
-- the row (compressed if need be) and a long body moved out first.
ALTER TABLE prompts SET (toast_tuple_target = 4080);
ALTER TABLE prompts ALTER COLUMN search SET STORAGE MAIN;
-- Existing rows are stored anew under those settings (the generated tsvector is recomputed).
UPDATE prompts SET title = title;

-- A GIN index's pending list (fastupdate) is read in full by every search until VACUUM merges it
-- (up to 4 MB): entries go straight into the index instead. Saves are rare next to searches.
ALTER INDEX prompts_search SET (fastupdate = off);
SELECT gin_clean_pending_list('prompts_search'::regclass);
ALTER INDEX search_terms_trgm SET (fastupdate = off);
SELECT gin_clean_pending_list('search_terms_trgm'::regclass);
