-- The full-text index's own vocabulary: in how many prompts each word is, which bm25 weighs the
-- word by. A search leaves the words in half the prompts or more out of what it ranks by
-- (server/src/db/search_weights.rs). A view of the index: it stores nothing.
CREATE VIRTUAL TABLE prompts_fts_terms USING fts5vocab(prompts_fts, 'row');
