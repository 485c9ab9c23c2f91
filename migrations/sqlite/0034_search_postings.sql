-- The search index Cairn ranks searches of one word (or a typo's alternatives) with
-- (server/src/db/relevance.rs): for every word of an organization's prompts, the prompts it is
-- in, ordered by how much the word weighs in each (its impact). Such a search reads the word's
-- best prompts first and stops as soon as no prompt left unread can reach its page, instead of
-- scoring every match.
--
-- `docs` counts the prompts a word is in (how rare it is, which weighs it); the word '' counts
-- the organization's prompts. Written by the server in the transaction that writes the prompt.
CREATE TABLE search_words (
    id INTEGER PRIMARY KEY,
    org_id BLOB NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    word TEXT NOT NULL,
    docs INTEGER NOT NULL DEFAULT 0,
    UNIQUE (org_id, word)
);

-- No foreign key: a prompt's postings are removed with it by the server, an organization's with
-- the organization (see `delete_org`), and checking one per posting would slow every write.
CREATE TABLE search_postings (
    word_id INTEGER NOT NULL,
    impact INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (word_id, impact, doc)
) WITHOUT ROWID;

-- What a prompt's postings are (`word_id:impact` pairs), so that a change removes exactly those;
-- NULL until the prompt is indexed (the server indexes such prompts when it starts).
ALTER TABLE prompt_docs ADD COLUMN postings TEXT;
