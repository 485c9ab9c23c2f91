//! Which of a search's words SQLite ranks by.
//!
//! FTS5's bm25 weighs a phrase by its inverse document frequency, ln((N - n + 0.5) / (n + 0.5))
//! for a phrase in n of the N indexed prompts, floored at 1e-6: a word in half the prompts or more
//! ("you", "the", "write" in a prompt library) adds next to nothing to any score. To know n, FTS5
//! reads the phrase's whole list of documents, for every query: with a word in every one of
//! 100,000 prompts, a page of a content word's matches took 4.5 ms instead of 1.95. Excluded words
//! cost the same and add nothing at all (no match holds them).
//!
//! So a search ranks by its groups that carry weight ([`ranking`]) while the whole query decides
//! which prompts match. The words' document counts come from the index itself (the
//! `prompts_fts_terms` vocabulary table) and are remembered until the prompts change
//! ([`SearchMemo`]). So are, on both backends, a search's best matches (ranking every match is
//! what a search of a common word costs, all 100,000 prompts scored to keep 200, and such searches
//! repeat; on PostgreSQL they are checked against the organization's search generation, see
//! `kept_matches` in `prompts.rs`) and what typo tolerance looks up in an organization's
//! `search_terms` for every word searched: whether the word is there, and the words a misspelling
//! may have meant.

use app::domain::search::{Atom, Query};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The query to rank a search by, when it differs from the query itself: without excluded atoms,
/// and without the groups whose every atom is a word in at least half of the `total` prompts
/// (`docs` says in how many a word is, `None` when unknown). At least one group is kept: a search
/// for common words only is ranked by them all.
pub(crate) fn ranking(query: &Query, total: i64, docs: impl Fn(&str) -> Option<i64>) -> Option<Query> {
    let weightless = |atom: &Atom| matches!(atom, Atom::Word(w) if docs(w).is_some_and(|n| 2 * n >= total));
    let mut groups: Vec<Vec<Atom>> = query.groups.iter().filter(|g| !g.iter().all(weightless)).cloned().collect();
    if groups.is_empty() {
        groups = query.groups.clone();
    }
    (groups.len() < query.groups.len() || !query.excluded.is_empty()).then(|| Query { groups, excluded: Vec::new() })
}

/// Whether looking up document counts could change how `query` is ranked: only when there is a
/// group to leave out (a single group never is) or something excluded.
pub(crate) fn may_narrow(query: &Query) -> bool {
    query.groups.len() > 1 || !query.excluded.is_empty()
}

/// In how many prompts each looked-up word is and how many prompts are indexed, as FTS5 counts
/// them, the best matches of searches, and typo tolerance's lookups in `search_terms`. Forgotten
/// whenever this process changes the indexed text ([`SearchMemo::forget`]), and after a minute in
/// any case (another process may write to the same file or, on PostgreSQL, another instance to the
/// same database: until then a word it added is not offered for a misspelling here, and a search
/// for that word also matches its near words; PostgreSQL's best matches are checked as they are
/// used, and do not wait for that).
#[derive(Debug, Default)]
pub struct SearchMemo {
    memo: Mutex<Memo>,
}

/// What the memo knows of a lookup: its answer, or the generation to remember an answer read now
/// under (see [`SearchMemo::remember_term`]).
#[derive(Debug, PartialEq)]
pub enum Recall<T> {
    Known(T),
    Unknown(u64),
}

/// What [`SearchMemo::best`] knows of a search's best matches.
#[derive(Debug, PartialEq)]
pub enum Best {
    /// Not seen before (now it is).
    Unseen,
    /// Seen before: its matches, read now, may be remembered under this generation.
    Again(u64),
    Known(Arc<str>),
}

#[derive(Debug, Default)]
struct Memo {
    /// Read since the last change seen: what was read before it is not remembered.
    generation: u64,
    since: Option<Instant>,
    total: Option<i64>,
    words: HashMap<String, i64>,
    /// Best matches by search, `None` for a search seen once (see [`SearchMemo::best`]), and
    /// their size in bytes.
    best: HashMap<String, Option<Arc<str>>>,
    best_bytes: usize,
    /// Whether words are in an organization's `search_terms`.
    terms: PerOrg<bool>,
    /// The words a misspelling may have meant, by organization and the lookup's key (see
    /// `Db::term_candidates`).
    candidates: PerOrg<Arc<[String]>>,
}

/// Lookups by organization and key, each weighing something against a budget (one word, or a
/// list's words): beyond it, they start over.
#[derive(Debug)]
struct PerOrg<V> {
    by_org: HashMap<Uuid, HashMap<String, V>>,
    weight: usize,
}

impl<V> Default for PerOrg<V> {
    fn default() -> Self {
        Self { by_org: HashMap::new(), weight: 0 }
    }
}

impl<V: Clone> PerOrg<V> {
    fn get(&self, org: Uuid, key: &str) -> Option<V> {
        self.by_org.get(&org)?.get(key).cloned()
    }

    /// Keeps `value` under `org` and `key`, weighing `weight(&value)`, starting over when all
    /// would weigh more than `max`.
    fn insert(&mut self, org: Uuid, key: String, value: V, weight: fn(&V) -> usize, max: usize) {
        if let Some(old) = self.by_org.get_mut(&org).and_then(|keys| keys.remove(&key)) {
            self.weight -= weight(&old);
        }
        let added = weight(&value);
        if self.weight + added > max {
            *self = Self::default();
        }
        self.weight += added;
        self.by_org.entry(org).or_default().insert(key, value);
    }
}

impl Memo {
    /// Keeps `search`'s best matches (`None`: seen once), starting over beyond [`MAX_BEST_BYTES`].
    fn keep_best(&mut self, search: String, best: Option<Arc<str>>) {
        let size = |best: &Option<Arc<str>>| best.as_ref().map_or(0, |b| b.len());
        if let Some(old) = self.best.remove(&search) {
            self.best_bytes -= search.len() + size(&old);
        }
        let bytes = search.len() + size(&best);
        if self.best_bytes + bytes > MAX_BEST_BYTES {
            self.best.clear();
            self.best_bytes = 0;
        }
        self.since.get_or_insert_with(Instant::now);
        self.best_bytes += bytes;
        self.best.insert(search, best);
    }
}

/// What [`SearchMemo::get`] knows: the total and the remembered counts of the words asked for.
#[derive(Debug)]
pub struct Known {
    pub generation: u64,
    pub total: Option<i64>,
    pub words: HashMap<String, i64>,
}

/// How long the memo is trusted without a change seen.
const FRESH: Duration = Duration::from_secs(60);

/// At most this many words are remembered; beyond, the counts start over.
const MAX_WORDS: usize = 20_000;

/// At most this many bytes of best matches are remembered; beyond, they start over.
const MAX_BEST_BYTES: usize = 16 << 20;

/// At most this many words' presence in `search_terms`, and this many candidate words, are
/// remembered; beyond, each starts over.
const MAX_TERMS: usize = 50_000;
const MAX_CANDIDATE_WORDS: usize = 200_000;

impl SearchMemo {
    /// The indexed text changed.
    pub fn forget(&self) {
        let mut memo = self.lock();
        *memo = Memo { generation: memo.generation + 1, ..Memo::default() };
    }

    /// The remembered total and counts of `words` (those not remembered are missing).
    pub fn get(&self, words: &[&str]) -> Known {
        let memo = self.lock();
        let known = words.iter().filter_map(|w| memo.words.get(*w).map(|n| ((*w).to_owned(), *n))).collect();
        Known { generation: memo.generation, total: memo.total, words: known }
    }

    /// Remembers counts read after [`SearchMemo::get`] said `generation`, unless the text changed
    /// since.
    pub fn remember(&self, generation: u64, total: i64, words: impl IntoIterator<Item = (String, i64)>) {
        let Some(mut memo) = self.lock_at(generation) else { return };
        if memo.words.len() >= MAX_WORDS {
            memo.words.clear();
        }
        memo.total = Some(total);
        memo.words.extend(words);
    }

    /// What is remembered of `search`'s best matches. A search not seen before is remembered as
    /// seen: its matches are worth remembering when it comes again.
    pub fn best(&self, search: &str) -> Best {
        let mut memo = self.lock();
        match memo.best.get(search) {
            Some(Some(best)) => Best::Known(best.clone()),
            Some(None) => Best::Again(memo.generation),
            None => {
                memo.keep_best(search.to_owned(), None);
                Best::Unseen
            }
        }
    }

    /// Remembers `search`'s best matches (a JSON array of `[rowid, score]` pairs), read after
    /// [`SearchMemo::best`] said [`Best::Again`] with `generation`, unless the text changed since.
    pub fn remember_best(&self, generation: u64, search: String, best: Arc<str>) {
        if let Some(mut memo) = self.lock_at(generation) {
            memo.keep_best(search, Some(best));
        }
    }

    /// Forgets `search`'s best matches, found out of date: they are read again when it comes again.
    pub fn forget_best(&self, search: &str) {
        let mut memo = self.lock();
        if memo.best.get(search).is_some_and(Option::is_some) {
            memo.keep_best(search.to_owned(), None);
        }
    }

    /// Whether `word` is known to be in `org`'s `search_terms`.
    pub fn term(&self, org: Uuid, word: &str) -> Recall<bool> {
        self.recall(|memo| memo.terms.get(org, word))
    }

    /// Remembers whether `word` is in `org`'s `search_terms`, read after [`SearchMemo::term`]
    /// said [`Recall::Unknown`] with `generation`, unless the text changed since.
    pub fn remember_term(&self, generation: u64, org: Uuid, word: &str, there: bool) {
        if let Some(mut memo) = self.lock_at(generation) {
            memo.terms.insert(org, word.to_owned(), there, |_| 1, MAX_TERMS);
        }
    }

    /// The candidate words remembered for `org` under `key`.
    pub fn candidates(&self, org: Uuid, key: &str) -> Recall<Arc<[String]>> {
        self.recall(|memo| memo.candidates.get(org, key))
    }

    /// Remembers `org`'s candidate words under `key`, read after [`SearchMemo::candidates`] said
    /// [`Recall::Unknown`] with `generation`, unless the text changed since.
    pub fn remember_candidates(&self, generation: u64, org: Uuid, key: String, words: Arc<[String]>) {
        if let Some(mut memo) = self.lock_at(generation) {
            memo.candidates.insert(org, key, words, |words| words.len(), MAX_CANDIDATE_WORDS);
        }
    }

    /// What `find` finds in the memo, or the generation to remember it under once read.
    fn recall<T>(&self, find: impl FnOnce(&Memo) -> Option<T>) -> Recall<T> {
        let memo = self.lock();
        find(&memo).map_or(Recall::Unknown(memo.generation), Recall::Known)
    }

    /// The memo, to remember what was read after it said `generation`; `None` when the text
    /// changed since.
    fn lock_at(&self, generation: u64) -> Option<std::sync::MutexGuard<'_, Memo>> {
        let mut memo = self.lock();
        if memo.generation != generation {
            return None;
        }
        memo.since.get_or_insert_with(Instant::now);
        Some(memo)
    }

    /// The memo, started over when it is older than [`FRESH`].
    fn lock(&self) -> std::sync::MutexGuard<'_, Memo> {
        let mut memo = self.memo.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if memo.since.is_some_and(|t| t.elapsed() > FRESH) {
            *memo = Memo { generation: memo.generation + 1, ..Memo::default() };
        }
        memo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(n: &[(&str, i64)]) -> impl Fn(&str) -> Option<i64> {
        let n: HashMap<String, i64> = n.iter().map(|(w, c)| ((*w).to_owned(), *c)).collect();
        move |w| n.get(w).copied()
    }

    fn fts(q: &Option<Query>) -> Option<String> {
        q.as_ref().map(Query::to_fts5)
    }

    #[test]
    fn words_in_half_the_prompts_or_more_are_not_ranked_by() {
        let q = Query::parse("pricing you email");
        let docs = counts(&[("pricing", 40), ("you", 50), ("email", 49)]);
        assert_eq!(fts(&ranking(&q, 100, docs)), Some("\"pricing\" AND \"email\"".into()));
    }

    #[test]
    fn a_group_counts_when_any_of_its_atoms_carries_weight() {
        let docs = counts(&[("pricing", 5), ("you", 90), ("the", 95)]);
        let q = Query::parse("pricing you OR the");
        assert_eq!(fts(&ranking(&q, 100, &docs)), Some("\"pricing\"".into()));
        let q = Query::parse("pricing you OR invoice");
        assert_eq!(ranking(&q, 100, &docs), None, "invoice is unknown, so it may carry weight");
        let q = Query::parse("pricing \"you the\"");
        assert_eq!(ranking(&q, 100, &docs), None, "a phrase's own count is not known");
    }

    #[test]
    fn excluded_atoms_are_never_ranked_by() {
        let q = Query::parse("pricing -draft");
        assert_eq!(fts(&ranking(&q, 100, counts(&[("pricing", 5), ("draft", 1)]))), Some("\"pricing\"".into()));
    }

    #[test]
    fn common_words_alone_are_all_ranked_by() {
        let q = Query::parse("you the");
        assert_eq!(ranking(&q, 100, counts(&[("you", 90), ("the", 95)])), None);
        let q = Query::parse("you the -draft");
        assert_eq!(fts(&ranking(&q, 100, counts(&[("you", 90), ("the", 95)]))), Some("\"you\" AND \"the\"".into()));
    }

    #[test]
    fn only_several_groups_or_an_exclusion_can_narrow() {
        assert!(!may_narrow(&Query::parse("pricing")));
        assert!(!may_narrow(&Query::parse("pricing OR invoice")));
        assert!(may_narrow(&Query::parse("pricing invoice")));
        assert!(may_narrow(&Query::parse("pricing -draft")));
    }

    #[test]
    fn counts_are_forgotten_when_the_text_changes() {
        let words = SearchMemo::default();
        let known = words.get(&["you"]);
        words.remember(known.generation, 10, [("you".to_owned(), 6)]);
        let known = words.get(&["you", "me"]);
        assert_eq!((known.total, known.words), (Some(10), HashMap::from([("you".to_owned(), 6)])));
        words.forget();
        let known = words.get(&["you"]);
        assert_eq!((known.total, known.words.len()), (None, 0));
    }

    #[test]
    fn best_matches_are_remembered_from_a_search_seen_again_until_the_text_changes() {
        let memo = SearchMemo::default();
        assert_eq!(memo.best("200 pricing"), Best::Unseen);
        let Best::Again(generation) = memo.best("200 pricing") else { panic!("seen once") };
        memo.remember_best(generation, "200 pricing".into(), "[[1,2.5]]".into());
        assert_eq!(memo.best("200 pricing"), Best::Known("[[1,2.5]]".into()));
        assert_eq!(memo.best("200 invoice"), Best::Unseen);
        memo.forget();
        assert_eq!(memo.best("200 pricing"), Best::Unseen);
        let Best::Again(now) = memo.best("200 pricing") else { panic!("seen once") };
        memo.remember_best(now - 1, "200 pricing".into(), "[[1,2.5]]".into());
        assert_eq!(memo.best("200 pricing"), Best::Again(now), "read before the change");
        memo.remember_best(now, "200 pricing".into(), "[[1,2.5]]".into());
        memo.forget_best("200 pricing");
        assert_eq!(memo.best("200 pricing"), Best::Again(now), "out of date: read again when it comes again");
        memo.forget_best("200 invoice");
        assert_eq!(memo.best("200 invoice"), Best::Unseen, "forgetting what was never remembered marks nothing");
    }

    #[test]
    fn best_matches_start_over_beyond_their_budget() {
        let memo = SearchMemo::default();
        let big: Arc<str> = "x".repeat(MAX_BEST_BYTES / 2).into();
        memo.remember_best(0, "a".into(), big.clone());
        memo.remember_best(0, "a".into(), big.clone());
        assert_eq!(memo.best("a"), Best::Known(big.clone()), "replacing an entry does not count it twice");
        memo.remember_best(0, "b".into(), big.clone());
        assert_eq!((memo.best("a"), memo.best("b")), (Best::Unseen, Best::Known(big)));
    }

    #[test]
    fn terms_and_candidates_are_remembered_per_organization_until_the_text_changes() {
        let memo = SearchMemo::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let Recall::Unknown(generation) = memo.term(a, "prompt") else { panic!("not read yet") };
        memo.remember_term(generation, a, "prompt", true);
        memo.remember_term(generation, a, "promt", false);
        assert_eq!((memo.term(a, "prompt"), memo.term(a, "promt")), (Recall::Known(true), Recall::Known(false)));
        assert_eq!(memo.term(b, "prompt"), Recall::Unknown(generation), "another organization's words");
        let words: Arc<[String]> = vec!["prompt".to_owned(), "prompts".to_owned()].into();
        memo.remember_candidates(generation, a, "p\u{0}5".into(), words.clone());
        assert_eq!(memo.candidates(a, "p\u{0}5"), Recall::Known(words.clone()));
        assert_eq!(memo.candidates(b, "p\u{0}5"), Recall::Unknown(generation));
        memo.forget();
        let Recall::Unknown(now) = memo.term(a, "promt") else { panic!("forgotten") };
        assert_eq!(memo.candidates(a, "p\u{0}5"), Recall::Unknown(now));
        memo.remember_term(generation, a, "promt", false);
        memo.remember_candidates(generation, a, "p\u{0}5".into(), words);
        assert_eq!(memo.term(a, "promt"), Recall::Unknown(now), "read before the change");
        assert_eq!(memo.candidates(a, "p\u{0}5"), Recall::Unknown(now), "read before the change");
    }

    #[test]
    fn candidates_start_over_beyond_their_budget() {
        let memo = SearchMemo::default();
        let org = Uuid::from_u128(1);
        let half: Arc<[String]> = vec![String::new(); MAX_CANDIDATE_WORDS / 2].into();
        memo.remember_candidates(0, org, "a".into(), half.clone());
        memo.remember_candidates(0, org, "a".into(), half.clone());
        memo.remember_candidates(0, org, "b".into(), half.clone());
        assert!(matches!(memo.candidates(org, "a"), Recall::Known(_)), "replacing a list does not count it twice");
        memo.remember_candidates(0, org, "c".into(), half);
        assert_eq!(memo.candidates(org, "a"), Recall::Unknown(0));
        assert!(matches!(memo.candidates(org, "c"), Recall::Known(_)));
    }

    #[test]
    fn counts_read_before_a_change_are_not_remembered() {
        let words = SearchMemo::default();
        let before = words.get(&["you"]).generation;
        words.forget();
        words.remember(before, 10, [("you".to_owned(), 6)]);
        let known = words.get(&["you"]);
        assert_eq!((known.total, known.words.len()), (None, 0));
    }
}
