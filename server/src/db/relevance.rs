//! Relevance for searches of one word (or a typo's alternatives), and the search index that finds
//! their best matches without scoring every one.
//!
//! **The score.** A prompt's fields weigh differently: title 10, description 4, tags 4, body 1.
//! A word's weighted count in a prompt saturates as in BM25 (k1 = 1.2, b = 0.75), against a fixed
//! reference length rather than the collection's average, so that a prompt's *impacts* depend on
//! its own text alone and never change when other prompts are written. A match scores, over the
//! query's groups (`a b` is two groups, `a OR b` one), the sum of each group's best atom: the
//! atom's rarity (`idf`, from how many of the organization's prompts hold the word) times its
//! impact.
//!
//! **The index** (`search_postings`, migrations 0034 on SQLite and 0036 on PostgreSQL) keeps, for
//! each word of an organization, its prompts ordered by impact. [`Ranker`] reads the postings of
//! the query's cheapest required group best first, scores each prompt read, and stops as soon as
//! the page's last prompt scores more than any prompt not read yet could: the threshold
//! algorithm of search engines. Each prompt is scored exactly, so the page is the page a search
//! of every match would give. In a single group with nothing excluded, the posting that reaches
//! a prompt first is its score (postings are handed out best score first across the group's
//! words); otherwise the prompt's postings (`prompt_docs.postings`) give it, or its text when
//! the query has a phrase.
//!
//! **Which searches use it.** Searches of words alone are ranked in memory from the same postings
//! and scores ([`super::postings`]). [`Ranker`] ranks a single group of words ([`from_index`]: a
//! word, a typo widened to its near words or `a OR b`, with or without excluded words) in the
//! database, reading a few dozen postings, when the words a search needs kept changing while it
//! was ranked in memory. A search with a phrase would have to read every prompt holding its rarest
//! word when its matches are few (a phrase of a common and a rare word): SQLite's FTS5 and
//! PostgreSQL's `tsvector` answer those from the word positions in their own indexes.

use app::domain::search::{Atom, Query};
use chrono::{DateTime, Utc};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet, VecDeque};
use uuid::Uuid;

/// Whether a search by relevance is ranked from the index: one group of words (alternatives
/// allowed), no phrase, excluded words allowed, no word longer than an index key.
pub fn from_index(query: &Query) -> bool {
    let word = |a: &Atom| matches!(a, Atom::Word(w) if key(w) == w);
    query.groups.len() == 1 && query.groups[0].iter().all(word) && query.excluded.iter().all(word)
}

/// The fields' weights, in the order title, description, body, tags.
pub const WEIGHTS: [u32; 4] = [10, 4, 1, 4];
const K1: f64 = 1.2;
const B: f64 = 0.75;
/// The weighted length (in words) at which a prompt's length neither raises nor lowers impacts.
const REFERENCE_LENGTH: f64 = 160.0;
/// An index key holds a word's first 64 characters: longer words share a key, whose impact is
/// then at least each one's (their counts add up), which is all a bound needs.
const KEY_CHARS: usize = 64;

/// A text's words: runs of letters and digits (as [`app::domain::search::words`], without
/// lower-casing).
pub fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// The index key of a lower-case word.
pub fn key(word: &str) -> &str {
    match word.char_indices().nth(KEY_CHARS) {
        Some((at, _)) => &word[..at],
        None => word,
    }
}

/// A word's impact in a prompt, in thousandths: its weighted count, saturated against the prompt's
/// weighted length. At most 2,200.
pub fn impact(weighted: u32, length: u32) -> i32 {
    if weighted == 0 {
        return 0;
    }
    let tf = f64::from(weighted);
    let norm = K1 * (1.0 - B + B * f64::from(length) / REFERENCE_LENGTH);
    // At least 1: an impact of 0 would mean "not there".
    ((1000.0 * tf * (K1 + 1.0) / (tf + norm)).round() as i32).max(1)
}

/// How much a word found in `docs` of an organization's `total` prompts weighs.
pub fn idf(docs: i64, total: i64) -> f64 {
    let (n, df) = (total.max(docs) as f64, docs as f64);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// A prompt's index keys with their impacts, sorted by key. `fields`: title, description, body,
/// tags.
pub fn impacts(fields: [&str; 4]) -> Vec<(String, i32)> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut length = 0u32;
    for (text, weight) in fields.iter().zip(WEIGHTS) {
        for token in tokens(text) {
            length += weight;
            *counts.entry(key(&token.to_lowercase()).to_owned()).or_default() += weight;
        }
    }
    let mut out: Vec<(String, i32)> = counts.into_iter().map(|(k, c)| (k, impact(c, length))).collect();
    out.sort_unstable();
    out
}

/// A prompt's postings as `prompt_docs.postings` keeps them: `word_id:impact`, space separated.
pub fn encode_postings(postings: &[(i64, i32)]) -> String {
    let mut out = String::with_capacity(postings.len() * 10);
    for (i, (word, impact)) in postings.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{word}:{impact}"));
    }
    out
}

/// The inverse of [`encode_postings`]; what does not parse is skipped.
pub fn decode_postings(text: &str) -> Vec<(i64, i32)> {
    text.split_whitespace()
        .filter_map(|p| {
            let (word, impact) = p.split_once(':')?;
            Some((word.parse().ok()?, impact.parse().ok()?))
        })
        .collect()
}

/// What indexing prompts changes, within one transaction: the statements for their postings, and
/// the words' prompt counts, written once at the end ([`IndexWrites::counts`]). An import indexes
/// thousands of prompts: one update per word, not one per prompt and word (on PostgreSQL each
/// update of a row leaves a version behind that the next one in the transaction steps over).
#[derive(Debug, Default)]
pub struct IndexWrites {
    /// The ids of the words met so far (`search_words`).
    pub ids: HashMap<String, i64>,
    /// Changes to words' prompt counts, by word id.
    docs: HashMap<i64, i64>,
    /// Change to the organization's count of indexed prompts (the word '').
    pub total: i64,
    /// Postings to add (word id, impact, doc), written in order at the end: in the order of the
    /// index, an import's thousands of prompts fill its pages one after the other.
    added: Vec<(i64, i32, i64)>,
}

impl IndexWrites {
    /// The statements that remove what `doc`'s postings lose from `old` to `new` (`None`: not
    /// indexed); what they gain, and the words' counts, are written by [`IndexWrites::finish`].
    pub fn change(&mut self, doc: i64, old: Option<&[(i64, i32)]>, new: Option<&[(i64, i32)]>) -> Vec<String> {
        let old_set: HashSet<(i64, i32)> = old.unwrap_or_default().iter().copied().collect();
        let new_set: HashSet<(i64, i32)> = new.unwrap_or_default().iter().copied().collect();
        let old_words: HashSet<i64> = old_set.iter().map(|(w, _)| *w).collect();
        let new_words: HashSet<i64> = new_set.iter().map(|(w, _)| *w).collect();
        for word in new_words.difference(&old_words) {
            *self.docs.entry(*word).or_default() += 1;
        }
        for word in old_words.difference(&new_words) {
            *self.docs.entry(*word).or_default() -= 1;
        }
        self.total += i64::from(new.is_some()) - i64::from(old.is_some());
        let mut gone: Vec<_> = old_set.difference(&new_set).collect();
        let added: Vec<_> = new_set.difference(&old_set).collect();
        gone.sort_unstable();
        // A posting added earlier in this transaction and not written yet is simply not written.
        gone.retain(|(w, i)| match self.added.iter().position(|a| *a == (*w, *i, doc)) {
            Some(at) => {
                self.added.swap_remove(at);
                false
            }
            None => true,
        });
        let mut statements = Vec::new();
        // Exact keys, OR-ed: both databases look each one up in the primary key.
        for chunk in gone.chunks(200) {
            let keys: Vec<String> =
                chunk.iter().map(|(w, i)| format!("(word_id = {w} AND impact = {i} AND doc = {doc})")).collect();
            statements.push(format!("DELETE FROM search_postings WHERE {}", keys.join(" OR ")));
        }
        self.added.extend(added.iter().map(|(w, i)| (*w, *i, doc)));
        statements
    }

    /// The statements that add the postings gained, and write the counted changes (with
    /// `total_id`, the id of the word '' when the organization's count changed) in the order of
    /// the words' ids, so that two transactions on PostgreSQL lock the rows they share in the same
    /// order. Forgets what they write.
    pub fn finish(&mut self, total_id: Option<i64>) -> Vec<String> {
        if let Some(id) = total_id {
            *self.docs.entry(id).or_default() += std::mem::take(&mut self.total);
        }
        let mut added = std::mem::take(&mut self.added);
        added.sort_unstable();
        let mut statements: Vec<String> = added
            .chunks(500)
            .map(|chunk| {
                let rows: Vec<String> = chunk.iter().map(|(w, i, d)| format!("({w}, {i}, {d})")).collect();
                format!("INSERT INTO search_postings (word_id, impact, doc) VALUES {}", rows.join(", "))
            })
            .collect();
        let mut changes: Vec<(i64, i64)> = self.docs.drain().filter(|(_, n)| *n != 0).collect();
        changes.sort_unstable();
        statements.extend(changes.chunks(500).map(|chunk| {
            let cases: String = chunk.iter().map(|(id, n)| format!(" WHEN {id} THEN {n}")).collect();
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
            format!("UPDATE search_words SET docs = docs + CASE id{cases} END WHERE id IN ({})", ids.join(", "))
        }));
        statements
    }
}

/// `SELECT word, id` of `n` words (`$2`…) of the organization `$1`.
pub fn select_words_sql(n: usize) -> String {
    let params: Vec<String> = (0..n).map(|i| format!("${}", i + 2)).collect();
    format!("SELECT word, id FROM search_words WHERE org_id = $1 AND word IN ({})", params.join(", "))
}

/// Adds `n` words (`$2`…) to the organization `$1`, returning the ids of those it added.
pub fn insert_words_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n).map(|i| format!("($1, ${})", i + 2)).collect();
    format!(
        "INSERT INTO search_words (org_id, word) VALUES {} ON CONFLICT (org_id, word) DO NOTHING RETURNING word, id",
        rows.join(", ")
    )
}

/// An atom of the query: a word, by its index in [`Scorer::words`], or a phrase, by its index in
/// [`Scorer::phrases`].
#[derive(Debug, Clone, Copy)]
enum Term {
    Word(usize),
    Phrase(usize),
}

/// Scores prompts against one query: from their postings when its atoms are words (a word's
/// impact is all its score needs), from their text when there is a phrase (or a word longer than
/// an index key).
#[derive(Debug)]
pub struct Scorer {
    /// The query's distinct words, lower-case.
    words: Vec<String>,
    /// Their ids in the organization's `search_words` (`None`: in no prompt).
    ids: Vec<Option<i64>>,
    /// Per group, its atoms that can match, with their weight (idf).
    groups: Vec<Vec<(Term, f64)>>,
    excluded: Vec<Term>,
    /// Every phrase, positive or excluded (counted per prompt in this order).
    phrases: Vec<Vec<usize>>,
}

/// What a prompt holds of the query's words: weighted counts per word and per phrase, and its
/// weighted length.
struct Counts {
    words: Vec<u32>,
    phrases: Vec<u32>,
    length: u32,
}

impl Scorer {
    /// `weight` gives an atom's idf, or `None` when it cannot match (a word in no prompt); such
    /// atoms are left out of their group. `None` when some group cannot match at all.
    /// `id` gives a word's id in `search_words`.
    pub fn new(query: &Query, weight: impl Fn(&Atom) -> Option<f64>, id: impl Fn(&str) -> Option<i64>) -> Option<Self> {
        let mut scorer = Scorer {
            words: Vec::new(),
            ids: Vec::new(),
            groups: Vec::new(),
            excluded: Vec::new(),
            phrases: Vec::new(),
        };
        for group in &query.groups {
            let mut atoms = Vec::new();
            for atom in group {
                if let Some(w) = weight(atom) {
                    atoms.push((scorer.term(atom), w));
                }
            }
            if atoms.is_empty() {
                return None;
            }
            scorer.groups.push(atoms);
        }
        for atom in &query.excluded {
            let term = scorer.term(atom);
            scorer.excluded.push(term);
        }
        scorer.ids = scorer.words.iter().map(|w| id(w)).collect();
        Some(scorer)
    }

    /// Whether prompts are scored from their text ([`Scorer::score`]) rather than their postings
    /// ([`Scorer::score_postings`]).
    pub fn needs_text(&self) -> bool {
        !self.phrases.is_empty() || self.words.iter().any(|w| key(w) != w)
    }

    fn term(&mut self, atom: &Atom) -> Term {
        let mut index = |w: &String| match self.words.iter().position(|x| x == w) {
            Some(i) => i,
            None => {
                self.words.push(w.clone());
                self.words.len() - 1
            }
        };
        match atom {
            Atom::Word(w) => Term::Word(index(w)),
            Atom::Phrase(ws) => {
                let words: Vec<usize> = ws.iter().map(&mut index).collect();
                self.phrases.push(words);
                Term::Phrase(self.phrases.len() - 1)
            }
        }
    }

    fn word_of(&self, token: &str) -> Option<usize> {
        if token.is_ascii() {
            self.words.iter().position(|w| w.len() == token.len() && w.eq_ignore_ascii_case(token))
        } else {
            let lower = token.to_lowercase();
            self.words.iter().position(|w| *w == lower)
        }
    }

    fn counts(&self, fields: [&str; 4]) -> Counts {
        let mut counts = Counts { words: vec![0; self.words.len()], phrases: vec![0; self.phrases.len()], length: 0 };
        let mut seen: Vec<Option<usize>> = Vec::new();
        for (text, weight) in fields.iter().zip(WEIGHTS) {
            seen.clear();
            for token in tokens(text) {
                counts.length += weight;
                let word = self.word_of(token);
                if let Some(i) = word {
                    counts.words[i] += weight;
                }
                seen.push(word);
            }
            for (phrase, count) in self.phrases.iter().zip(&mut counts.phrases) {
                let found = seen
                    .windows(phrase.len())
                    .filter(|w| w.iter().zip(phrase).all(|(seen, want)| *seen == Some(*want)))
                    .count() as u32;
                *count += found * weight;
            }
        }
        counts
    }

    /// The prompt's score from its text, or `None` when it does not match the query.
    pub fn score(&self, fields: [&str; 4]) -> Option<f64> {
        let counts = self.counts(fields);
        self.combine(|term| {
            let count = match *term {
                Term::Word(i) => counts.words[i],
                Term::Phrase(i) => counts.phrases[i],
            };
            if count == 0 { 0 } else { impact(count, counts.length) }
        })
    }

    /// The prompt's score from its postings (as `prompt_docs.postings` keeps them), for a query
    /// without phrases; `None` when it does not match.
    pub fn score_postings(&self, postings: &str) -> Option<f64> {
        let mut impacts = vec![0; self.words.len()];
        for (word, impact) in decode_postings(postings) {
            if let Some(i) = self.ids.iter().position(|id| *id == Some(word)) {
                impacts[i] = impact;
            }
        }
        self.combine(|term| match *term {
            Term::Word(i) => impacts[i],
            Term::Phrase(_) => 0,
        })
    }

    /// The score given each atom's impact in the prompt (0: not there): the sum over groups of
    /// each one's best atom, or `None` when a group has none or an excluded atom is there.
    fn combine(&self, impact_of: impl Fn(&Term) -> i32) -> Option<f64> {
        if self.excluded.iter().any(|term| impact_of(term) > 0) {
            return None;
        }
        let mut total = 0.0;
        for group in &self.groups {
            total += group
                .iter()
                .filter(|(term, _)| impact_of(term) > 0)
                .map(|(term, weight)| weight * f64::from(impact_of(term)) / 1000.0)
                .reduce(f64::max)?;
        }
        Some(total)
    }
}

/// What the index holds of a word in one organization.
#[derive(Debug, Clone)]
pub struct WordStats {
    pub id: i64,
    /// How many prompts hold it.
    pub docs: i64,
    /// Its highest impact.
    pub top: i32,
}

/// A prompt read as a candidate: its text, and what orders ties.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub doc: i64,
    pub id: Uuid,
    pub updated_at: DateTime<Utc>,
    /// Its postings, read only when [`Ranker::needs_postings`].
    pub postings: Option<String>,
    /// The text, read only when [`Ranker::needs_text`].
    pub title: String,
    pub description: String,
    pub body: String,
    pub tags: String,
}

/// A scored match, ordered best first: by score, then the most recently changed, then by id (as
/// every other list of prompts).
#[derive(Debug, Clone)]
struct Hit {
    score: f64,
    updated_at: DateTime<Utc>,
    id: Uuid,
}

impl Hit {
    fn cmp_best_first(&self, other: &Hit) -> Ordering {
        other.score.total_cmp(&self.score).then(other.updated_at.cmp(&self.updated_at)).then(other.id.cmp(&self.id))
    }
}

/// One driving atom's postings, read best first.
#[derive(Debug)]
struct Cursor {
    word_id: i64,
    /// The atom's weight: its score in a prompt is at most `weight × impact / 1000`.
    weight: f64,
    buffered: VecDeque<(i32, i64)>,
    /// The last posting read: where the next read starts after, and a bound on all unread ones.
    last: Option<(i32, i64)>,
    exhausted: bool,
    /// How many postings the next read asks for.
    chunk: i64,
}

impl Cursor {
    /// The most this atom scores in a prompt not taken from this cursor yet.
    fn bound(&self) -> f64 {
        let impact = match (self.buffered.front(), self.last) {
            (Some((impact, _)), _) => *impact,
            (None, _) if self.exhausted => return 0.0,
            (None, Some((impact, _))) => impact,
            (None, None) => 2_200,
        };
        self.weight * f64::from(impact) / 1000.0
    }
}

/// A read of postings the ranker needs: `word_id`'s next `limit` postings after `after`
/// (impact, doc), best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingsRead {
    pub cursor: usize,
    pub word_id: i64,
    pub after: Option<(i32, i64)>,
    pub limit: i64,
}

/// What the ranker needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Postings(Vec<PostingsRead>),
    /// These prompts, read with the filters applied ([`Candidate`]).
    Candidates(Vec<i64>),
    Done,
}

/// Finds the best `offset + limit` matches of a query (see the module's documentation).
#[derive(Debug)]
pub struct Ranker {
    scorer: Scorer,
    cursors: Vec<Cursor>,
    /// The most the groups other than the driving one add to any prompt's score.
    rest: f64,
    wanted: usize,
    seen: HashSet<i64>,
    /// The scores of the prompts handed out as candidates and not read yet, when a prompt's first
    /// posting read gives its score (see [`Self::needs_postings`]).
    scores: Option<HashMap<i64, f64>>,
    hits: Vec<Hit>,
    batch: usize,
}

impl Ranker {
    /// `stats` holds the index's counts of the query's words (keys), `total` the organization's
    /// prompts. `None` when nothing can match.
    pub fn new(query: &Query, stats: &HashMap<String, WordStats>, total: i64, wanted: usize) -> Option<Self> {
        let word = |w: &str| stats.get(key(w)).filter(|s| s.docs > 0);
        let weight = |atom: &Atom| -> Option<f64> {
            match atom {
                Atom::Word(w) => word(w).map(|s| idf(s.docs, total)),
                Atom::Phrase(ws) => ws.iter().map(|w| word(w).map(|s| idf(s.docs, total))).sum(),
            }
        };
        // An atom is read through its rarest word (a phrase's prompts all hold each of its words).
        let driver = |atom: &Atom| -> Option<&WordStats> {
            match atom {
                Atom::Word(w) => word(w),
                Atom::Phrase(ws) => ws.iter().filter_map(|w| word(w)).min_by_key(|s| s.docs),
            }
        };
        let scorer = Scorer::new(query, weight, |w| stats.get(key(w)).map(|s| s.id))?;
        let groups: Vec<Vec<(&WordStats, f64)>> =
            query.groups.iter().map(|g| g.iter().filter_map(|a| Some((driver(a)?, weight(a)?))).collect()).collect();
        let (driving, _) =
            groups.iter().enumerate().min_by_key(|(_, atoms)| atoms.iter().map(|(s, _)| s.docs).sum::<i64>())?;
        let rest = groups
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != driving)
            .map(|(_, atoms)| atoms.iter().map(|(s, w)| w * f64::from(s.top) / 1000.0).fold(0.0, f64::max))
            .sum();
        let mut cursors: Vec<Cursor> = Vec::new();
        for (stats, weight) in &groups[driving] {
            // Two atoms read through one word (a word and a phrase that holds it): one cursor.
            match cursors.iter_mut().find(|c| c.word_id == stats.id) {
                Some(c) => c.weight = c.weight.max(*weight),
                None => cursors.push(Cursor {
                    word_id: stats.id,
                    weight: *weight,
                    buffered: VecDeque::new(),
                    last: None,
                    exhausted: false,
                    chunk: Self::first_chunk(wanted),
                }),
            }
        }
        // One group of words and nothing excluded: postings are handed out best score first across
        // the group's words, so a prompt's first is its best atom, which is its score.
        let scores = (query.groups.len() == 1 && query.excluded.is_empty() && !scorer.needs_text()).then(HashMap::new);
        Some(Ranker {
            scorer,
            cursors,
            rest,
            wanted,
            seen: HashSet::new(),
            scores,
            hits: Vec::new(),
            batch: wanted + 16,
        })
    }

    /// How many postings a ranker for `wanted` matches first reads of each word it is driven by.
    pub fn first_chunk(wanted: usize) -> i64 {
        (2 * wanted as i64 + 32).min(1_000)
    }

    /// Postings already read, by word id: each word's first [`Self::first_chunk`], best first (as
    /// [`Self::postings`] takes them).
    pub fn prefetched(&mut self, mut first: HashMap<i64, Vec<(i32, i64)>>) {
        for i in 0..self.cursors.len() {
            if self.cursors[i].last.is_none()
                && let Some(rows) = first.remove(&self.cursors[i].word_id)
            {
                self.postings(i, rows);
            }
        }
    }

    /// The score a prompt not read yet could reach at most.
    fn bound(&self) -> f64 {
        self.cursors.iter().map(Cursor::bound).fold(0.0, f64::max) + self.rest
    }

    /// Whether the best `wanted` hits are known: the last of them scores above any prompt unread.
    fn settled(&self) -> bool {
        if self.cursors.iter().all(|c| c.exhausted && c.buffered.is_empty()) {
            return true;
        }
        // A margin for rounding: a sum of the same terms in another order may differ in its last bit.
        self.hits.len() >= self.wanted && self.hits[self.wanted - 1].score > self.bound() * (1.0 + 1e-9) + 1e-12
    }

    pub fn next(&mut self) -> Next {
        if self.settled() {
            return Next::Done;
        }
        let mut docs = Vec::new();
        loop {
            // The cursor whose next posting may score highest.
            let best = self
                .cursors
                .iter()
                .enumerate()
                .filter(|(_, c)| !(c.exhausted && c.buffered.is_empty()))
                .max_by(|(_, a), (_, b)| a.bound().total_cmp(&b.bound()))
                .map(|(i, _)| i);
            let Some(i) = best else { break };
            if self.cursors[i].buffered.is_empty() {
                if docs.is_empty() {
                    let c = &self.cursors[i];
                    return Next::Postings(vec![PostingsRead {
                        cursor: i,
                        word_id: c.word_id,
                        after: c.last,
                        limit: c.chunk,
                    }]);
                }
                break;
            }
            let (impact, doc) = self.cursors[i].buffered.pop_front().expect("not empty");
            if self.seen.insert(doc) {
                if let Some(scores) = &mut self.scores {
                    scores.insert(doc, self.cursors[i].weight * f64::from(impact) / 1000.0);
                }
                docs.push(doc);
                if docs.len() >= self.batch {
                    break;
                }
            }
        }
        if docs.is_empty() {
            return Next::Done;
        }
        self.batch = (self.batch * 2).min(512);
        Next::Candidates(docs)
    }

    /// The postings a [`PostingsRead`] returned, best first.
    pub fn postings(&mut self, cursor: usize, rows: Vec<(i32, i64)>) {
        let c = &mut self.cursors[cursor];
        c.exhausted = (rows.len() as i64) < c.chunk;
        c.chunk = (c.chunk * 4).min(4_000);
        if let Some(last) = rows.last() {
            c.last = Some(*last);
        }
        c.buffered.extend(rows);
    }

    /// Whether candidates are read with their text.
    pub fn needs_text(&self) -> bool {
        self.scorer.needs_text()
    }

    /// Whether candidates are read with their postings: not when the postings that led to them
    /// gave their scores (a single group of words, nothing excluded).
    pub fn needs_postings(&self) -> bool {
        self.scores.is_none() && !self.needs_text()
    }

    /// The candidates read (those of the organization that pass the filters).
    pub fn candidates(&mut self, rows: impl IntoIterator<Item = Candidate>) {
        let text = self.needs_text();
        for row in rows {
            let fields = [row.title.as_str(), row.description.as_str(), row.body.as_str(), row.tags.as_str()];
            let score = match (text, &mut self.scores, &row.postings) {
                (true, _, _) => self.scorer.score(fields),
                (false, Some(scores), _) => scores.remove(&row.doc),
                (false, None, Some(postings)) => self.scorer.score_postings(postings),
                (false, None, None) => None,
            };
            if let Some(score) = score {
                self.hits.push(Hit { score, updated_at: row.updated_at, id: row.id });
            }
        }
        self.hits.sort_by(Hit::cmp_best_first);
        self.hits.truncate(self.wanted);
    }

    /// The best matches from `offset` on, with their scores.
    pub fn page(self, offset: usize) -> Vec<(Uuid, f64)> {
        self.hits.into_iter().skip(offset).map(|h| (h.id, h.score)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impacts_weigh_fields_and_saturate() {
        let title = impacts(["Email onboarding", "", "", ""]);
        let body = impacts(["", "", "email onboarding", ""]);
        let get = |v: &[(String, i32)], w: &str| v.iter().find(|(k, _)| k == w).map(|(_, i)| *i);
        assert!(get(&title, "email") > get(&body, "email"), "{title:?} {body:?}");
        let once = impact(1, 100);
        let often = impact(40, 100);
        assert!(often > once && often < 2_200);
        // Longer prompts weigh a word less.
        assert!(impact(1, 20) > impact(1, 400));
    }

    #[test]
    fn keys_are_lower_case_and_cut_to_64_characters() {
        let long = "é".repeat(70);
        let v = impacts([&long.to_uppercase(), "", "", ""]);
        assert_eq!(v[0].0.chars().count(), 64);
        assert_eq!(key(&long).chars().count(), 64);
    }

    #[test]
    fn postings_round_trip() {
        let p = vec![(12, 880), (4_000_000_000, 2_200)];
        assert_eq!(decode_postings(&encode_postings(&p)), p);
        assert_eq!(decode_postings(""), vec![]);
    }

    #[test]
    fn index_writes_change_only_what_changed_and_count_words_once_per_prompt() {
        let mut w = IndexWrites::default();
        assert!(w.change(5, None, Some(&[(2, 100), (1, 900)])).is_empty(), "nothing to remove");
        assert_eq!(
            w.finish(Some(9)),
            vec![
                "INSERT INTO search_postings (word_id, impact, doc) VALUES (1, 900, 5), (2, 100, 5)",
                "UPDATE search_words SET docs = docs + CASE id WHEN 1 THEN 1 WHEN 2 THEN 1 WHEN 9 THEN 1 END \
                 WHERE id IN (1, 2, 9)",
            ]
        );
        let second = w.change(5, Some(&[(1, 900), (2, 100)]), Some(&[(1, 900), (2, 120), (3, 50)]));
        assert_eq!(second, vec!["DELETE FROM search_postings WHERE (word_id = 2 AND impact = 100 AND doc = 5)"]);
        // Added and removed again before it was written: never written.
        assert!(w.change(6, None, Some(&[(4, 10)])).is_empty());
        assert!(w.change(6, Some(&[(4, 10)]), Some(&[(4, 20)])).is_empty());
        // Word 3: +1; 4: +1 (doc 6); the organization: +1 (doc 6).
        assert_eq!(
            w.finish(Some(9)),
            vec![
                "INSERT INTO search_postings (word_id, impact, doc) VALUES (2, 120, 5), (3, 50, 5), (4, 20, 6)",
                "UPDATE search_words SET docs = docs + CASE id WHEN 3 THEN 1 WHEN 4 THEN 1 WHEN 9 THEN 1 END \
                 WHERE id IN (3, 4, 9)",
            ]
        );
        assert!(w.change(6, Some(&[(4, 20)]), None).len() == 1);
        assert_eq!(w.total, -1);
        assert!(w.finish(None).len() == 1, "word 4 loses doc 6; the organization's count waits for its id");
    }

    fn scorer(q: &str) -> Scorer {
        Scorer::new(&Query::parse(q), |_| Some(1.0), |_| None).unwrap()
    }

    #[test]
    fn scores_match_the_query_language() {
        let doc = ["Weekly Email", "for new customers", "Write an e-mail welcoming them", "sales"];
        assert!(scorer("email").score(doc).is_some());
        assert!(scorer("EMAIL customers").score(doc).is_some());
        assert!(scorer("email missing").score(doc).is_none());
        assert!(scorer("email OR missing").score(doc).is_some());
        assert!(scorer("\"new customers\"").score(doc).is_some());
        assert!(scorer("\"customers new\"").score(doc).is_none());
        // A phrase does not run from one field into the next.
        assert!(scorer("\"email for\"").score(doc).is_none());
        assert!(scorer("\"e mail\"").score(doc).is_some());
        assert!(scorer("email -sales").score(doc).is_none());
        assert!(scorer("email NOT \"new customers\"").score(doc).is_none());
        assert!(scorer("email NOT \"customers new\"").score(doc).is_some());
    }

    #[test]
    fn a_title_hit_outscores_a_body_hit_and_rare_words_weigh_more() {
        let s = scorer("email");
        let in_title = s.score(["Email", "", "write something", ""]).unwrap();
        let in_body = s.score(["Letter", "", "write an email", ""]).unwrap();
        assert!(in_title > in_body);
        assert!(idf(10, 1_000) > idf(500, 1_000));
        assert!(idf(1_000, 1_000) > 0.0);
    }

    #[test]
    fn postings_score_as_the_text_does() {
        let doc = ["Weekly email", "for new customers", "Write an email welcoming them", "sales"];
        let postings: Vec<(i64, i32)> = impacts(doc).iter().enumerate().map(|(i, (_, imp))| (i as i64, *imp)).collect();
        let id_of = |w: &str| impacts(doc).iter().position(|(k, _)| k == w).map(|i| i as i64);
        let encoded = encode_postings(&postings);
        for q in ["email", "email customers", "email OR missing", "email -sales", "missing", "weekly -missing"] {
            let query = Query::parse(q);
            let Some(scorer) = Scorer::new(&query, |_| Some(1.5), |w| id_of(w)) else { continue };
            assert!(!scorer.needs_text());
            assert_eq!(scorer.score_postings(&encoded), scorer.score(doc), "{q}");
        }
        let phrase = Scorer::new(&Query::parse("\"new customers\""), |_| Some(1.0), |w| id_of(w)).unwrap();
        assert!(phrase.needs_text());
    }

    #[test]
    fn one_group_of_words_is_ranked_from_the_index() {
        for q in ["email", "email OR letter", "email -cold", "email -cold -draft"] {
            assert!(from_index(&Query::parse(q)), "{q}");
        }
        for q in ["email opener", "\"cold email\"", "email -\"cold email\"", &"x".repeat(65)] {
            assert!(!from_index(&Query::parse(q)), "{q}");
        }
    }

    fn stats(words: &[(&str, i64, i64, i32)]) -> HashMap<String, WordStats> {
        words.iter().map(|(w, id, docs, top)| (w.to_string(), WordStats { id: *id, docs: *docs, top: *top })).collect()
    }

    #[test]
    fn the_ranker_reads_the_rarest_group_and_stops_when_the_page_is_settled() {
        let query = Query::parse("rare common");
        let st = stats(&[("rare", 1, 3, 2_000), ("common", 2, 90, 2_000)]);
        let mut r = Ranker::new(&query, &st, 100, 2).unwrap();
        let Next::Postings(reads) = r.next() else { panic!("reads postings first") };
        assert_eq!(reads, vec![PostingsRead { cursor: 0, word_id: 1, after: None, limit: 36 }]);
        r.postings(0, vec![(1_900, 7), (1_000, 8), (900, 9)]);
        assert_eq!(r.next(), Next::Candidates(vec![7, 8, 9]));
        let row = |doc: i64, postings: &str| Candidate {
            doc,
            id: Uuid::from_u128(doc as u128),
            updated_at: DateTime::UNIX_EPOCH,
            postings: Some(postings.into()),
            title: String::new(),
            description: String::new(),
            body: String::new(),
            tags: String::new(),
        };
        // 9 lacks "common": it does not match.
        assert!(!r.needs_text() && r.needs_postings());
        r.candidates(vec![row(7, "1:1900 2:500"), row(8, "1:1000 2:2000"), row(9, "1:900")]);
        assert_eq!(r.next(), Next::Done);
        let page = r.page(0);
        // The rare word weighs most: 7 holds it with the higher impact.
        assert_eq!(page.iter().map(|(id, _)| id.as_u128()).collect::<Vec<_>>(), vec![7, 8]);
    }

    #[test]
    fn prefetched_postings_are_not_read_again() {
        let query = Query::parse("rare OR other");
        let st = stats(&[("rare", 1, 3, 2_000), ("other", 2, 5, 1_500)]);
        let mut r = Ranker::new(&query, &st, 100, 2).unwrap();
        assert_eq!(Ranker::first_chunk(2), 36);
        // Fewer than a chunk: each word's postings are all read.
        r.prefetched(HashMap::from([(1, vec![(1_900, 7), (900, 9)]), (2, vec![(1_500, 8)])]));
        let Next::Candidates(mut docs) = r.next() else { panic!("goes to the candidates") };
        docs.sort_unstable();
        assert_eq!(docs, vec![7, 8, 9]);
    }

    #[test]
    fn one_group_is_scored_from_the_postings_that_led_to_its_prompts() {
        let st = stats(&[("rare", 1, 3, 2_000), ("other", 2, 5, 1_500), ("not", 3, 9, 1_000)]);
        let mut r = Ranker::new(&Query::parse("rare OR other"), &st, 100, 2).unwrap();
        assert!(!r.needs_postings());
        // 7 holds both words: its best atom scores it, whichever cursor reaches it first.
        r.prefetched(HashMap::from([(1, vec![(1_900, 7), (400, 9)]), (2, vec![(1_500, 8), (1_400, 7)])]));
        let Next::Candidates(docs) = r.next() else { panic!("goes to the candidates") };
        assert_eq!(docs.len(), 3);
        let row = |doc: i64| Candidate {
            doc,
            id: Uuid::from_u128(doc as u128),
            updated_at: DateTime::UNIX_EPOCH,
            postings: None,
            title: String::new(),
            description: String::new(),
            body: String::new(),
            tags: String::new(),
        };
        // 9 did not pass the filters.
        r.candidates([row(7), row(8)]);
        assert_eq!(r.next(), Next::Done);
        let page = r.page(0);
        let (rare, other) = (idf(3, 100), idf(5, 100));
        assert_eq!(page.iter().map(|(id, _)| id.as_u128()).collect::<Vec<_>>(), vec![7, 8]);
        // As [`Scorer::combine`] computes it, to the last bit.
        let score = |weight: f64, impact: i32| weight * f64::from(impact) / 1000.0;
        assert_eq!(page[0].1, score(rare, 1_900).max(score(other, 1_400)));
        assert_eq!(page[1].1, score(other, 1_500));
        // With an excluded word, each prompt's postings tell whether it holds it.
        assert!(Ranker::new(&Query::parse("rare -not"), &st, 100, 2).unwrap().needs_postings());
    }

    #[test]
    fn a_group_with_no_known_word_matches_nothing() {
        let st = stats(&[("known", 1, 3, 2_000)]);
        assert!(Ranker::new(&Query::parse("known unknown"), &st, 10, 20).is_none());
        assert!(Ranker::new(&Query::parse("known OR unknown"), &st, 10, 20).is_some());
    }
}
