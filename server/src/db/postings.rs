//! Searches of words ranked in memory: each instance keeps the search index's postings of the
//! words it was asked for ([`PostingsMemo`]), ordered by prompt, and scores every match of a query
//! from them ([`Matches::of`]), so that a search reads only its page from the database.
//!
//! **What it answers.** A query of words only (any number of groups, alternatives and excluded
//! words; no phrase), sorted by relevance. The scores are those of [`super::relevance`]: the sum
//! over the query's groups of each group's best word, its rarity times its impact. Every prompt
//! holding the group that holds the fewest postings is scored by probing the other groups' words,
//! in order of prompt, each word's postings walked once ([`Cursor`]): a content word with a common
//! one costs the content word's few hundred prompts, not the common word's tens of thousands, and
//! three common words cost one pass over each.
//!
//! **What stays in the database.** The filters, the organization and what the caller may see are
//! applied by the statement that reads the page, so the memo holds nothing but postings: the
//! matches are read in order (of score, ties the newest prompt first), in batches, until the page
//! is full.
//!
//! **How it stays exact.** Every change to an organization's postings moves its search generation
//! on (a trigger; migrations 0035 on SQLite, 0035 and 0037 on PostgreSQL). Postings are read with
//! the generation, in one statement, and every statement that reads matches checks it (see
//! `Db::ranked_in_memory`); when it moved, because this or another instance wrote, the
//! organization's words are forgotten ([`PostingsMemo::forget_org`]) and read again. Should that
//! happen twice to one search, its third try ranks from the words just read without the check.

use super::relevance::{idf, key};
use app::domain::search::{Atom, Query};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use uuid::Uuid;

/// At most this many postings are kept in memory (10 bytes each, 14 once the word is searched
/// alone); beyond, the memo starts over. 100,000 prompts hold about 7 million.
const MAX_POSTINGS: usize = 12_000_000;

/// Whether a query is ranked in memory: words only, each as the index keys it, sorted by relevance
/// (checked by the caller).
pub fn ranks(query: &Query) -> bool {
    let word = |a: &Atom| matches!(a, Atom::Word(w) if key(w) == w);
    !query.groups.is_empty() && query.groups.iter().flatten().all(word) && query.excluded.iter().all(word)
}

/// A word's postings in one organization: the prompts (`doc`s) it is in, ascending, with its
/// impact in each.
#[derive(Debug, Default)]
pub struct WordPostings {
    /// How many of the organization's prompts hold the word (`search_words.docs`).
    pub docs: i64,
    doc_ids: Vec<i64>,
    impacts: Vec<u16>,
    /// Positions in the two lists above by impact, highest first (then the newest doc), made the
    /// first time the word is searched alone.
    by_impact: OnceLock<Vec<u32>>,
}

impl WordPostings {
    /// From postings in any order.
    pub fn new(docs: i64, mut postings: Vec<(i64, i32)>) -> Self {
        postings.sort_unstable_by_key(|(doc, _)| *doc);
        Self {
            docs,
            doc_ids: postings.iter().map(|(doc, _)| *doc).collect(),
            // Impacts are at most 2,200 (`relevance::impact`).
            impacts: postings.iter().map(|(_, impact)| (*impact).clamp(0, i32::from(u16::MAX)) as u16).collect(),
            by_impact: OnceLock::new(),
        }
    }

    fn by_impact(&self) -> &[u32] {
        self.by_impact.get_or_init(|| {
            let mut order: Vec<u32> = (0..self.doc_ids.len() as u32).collect();
            order.sort_unstable_by(|a, b| {
                let (a, b) = (*a as usize, *b as usize);
                self.impacts[b].cmp(&self.impacts[a]).then(self.doc_ids[b].cmp(&self.doc_ids[a]))
            });
            order
        })
    }

    /// The `at`-th posting by impact, scored with `weight`.
    fn ranked(&self, at: usize, weight: f64) -> Option<(f64, i64)> {
        let i = *self.by_impact().get(at)? as usize;
        Some((weight * f64::from(self.impacts[i]) / 1000.0, self.doc_ids[i]))
    }

    fn len(&self) -> usize {
        self.doc_ids.len()
    }

    /// Its postings read in the order of docs, for docs asked for in ascending order.
    fn cursor(&self) -> Cursor<'_> {
        Cursor { postings: self, at: 0 }
    }
}

/// Where a walk through a word's postings is: every doc before `at` is below the last doc asked
/// for. Matches are probed in ascending order of doc, so a common word's tens of thousands of
/// postings are walked once, not searched from the start for each match.
struct Cursor<'a> {
    postings: &'a WordPostings,
    at: usize,
}

impl Cursor<'_> {
    /// The word's impact in `doc`, 0 when it is not there. `doc` is at least the last one asked.
    fn impact(&mut self, doc: i64) -> u16 {
        let ids = &self.postings.doc_ids[self.at..];
        // Galloping: steps that double until past `doc`, then a binary search of the last one,
        // so a doc far ahead costs its distance's logarithm and a near one a step or two.
        let mut past = 1;
        while past < ids.len() && ids[past] < doc {
            past *= 2;
        }
        self.at += ids[..(past + 1).min(ids.len())].partition_point(|d| *d < doc);
        match self.postings.doc_ids.get(self.at) {
            Some(found) if *found == doc => self.postings.impacts[self.at],
            _ => 0,
        }
    }
}

/// Held while a word is read (see [`PostingsMemo::reading`]).
type ReadLock = Arc<tokio::sync::Mutex<()>>;

/// What an instance knows of its organizations' words, by index key.
#[derive(Debug, Default)]
pub struct PostingsMemo {
    inner: Mutex<Inner>,
    /// The words being read, so that searches missing the same word wait for one read of it
    /// rather than each reading it (a common word is tens of thousands of postings).
    reading: Mutex<HashMap<(Uuid, String), ReadLock>>,
}

#[derive(Debug, Default)]
struct Inner {
    orgs: HashMap<Uuid, OrgWords>,
    postings: usize,
}

#[derive(Debug, Default)]
struct OrgWords {
    /// The organization's search generation the words were read at.
    generation: i64,
    /// The organization's count of indexed prompts (the word '').
    total: Option<i64>,
    words: HashMap<String, Arc<WordPostings>>,
}

/// What [`PostingsMemo::lookup`] found.
#[derive(Debug)]
pub struct Lookup {
    /// The generation the words found were read at.
    pub generation: i64,
    pub total: Option<i64>,
    pub words: HashMap<String, Arc<WordPostings>>,
    /// The keys not known.
    pub missing: Vec<String>,
}

impl PostingsMemo {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until no other search is reading any of `keys` of `org`, and holds them until the
    /// guards are dropped: the caller looks them up again, and reads those still missing.
    pub async fn reading(&self, org: Uuid, keys: &[String]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let locks: Vec<ReadLock> = {
            let mut reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner);
            // Only words someone is reading or waiting for stay.
            reading.retain(|_, lock| Arc::strong_count(lock) > 1);
            let mut keys: Vec<&String> = keys.iter().collect();
            keys.sort_unstable();
            keys.into_iter().map(|k| reading.entry((org, k.clone())).or_default().clone()).collect()
        };
        let mut guards = Vec::with_capacity(locks.len());
        // In the order of the keys, so that two searches never wait for each other.
        for lock in locks {
            guards.push(lock.lock_owned().await);
        }
        guards
    }

    /// `org`'s words changed since they were read: forgets them.
    pub fn forget_org(&self, org: Uuid) {
        forget_org(&mut self.lock(), org);
    }

    /// The postings known of `keys` in `org`, and the organization's count of prompts.
    pub fn lookup(&self, org: Uuid, keys: &[&str]) -> Lookup {
        let inner = self.lock();
        let mut lookup = Lookup { generation: 0, total: None, words: HashMap::new(), missing: Vec::new() };
        let org = inner.orgs.get(&org);
        if let Some(org) = org {
            lookup.generation = org.generation;
            lookup.total = org.total;
        }
        for key in keys {
            match org.and_then(|o| o.words.get(*key)) {
                Some(postings) => {
                    lookup.words.insert((*key).to_owned(), postings.clone());
                }
                None => lookup.missing.push((*key).to_owned()),
            }
        }
        lookup
    }

    /// Keeps words read at the organization's search `generation`, with its count of prompts.
    /// Words of another generation are forgotten.
    pub fn remember(
        &self,
        org: Uuid,
        generation: i64,
        total: i64,
        words: impl IntoIterator<Item = (String, Arc<WordPostings>)>,
    ) {
        let mut inner = self.lock();
        if inner.orgs.get(&org).is_some_and(|o| o.generation != generation) {
            forget_org(&mut inner, org);
        }
        for (word, postings) in words {
            if inner.postings + postings.len() > MAX_POSTINGS {
                *inner = Inner::default();
            }
            inner.postings += postings.len();
            let entry = inner.orgs.entry(org).or_insert_with(|| OrgWords { generation, ..OrgWords::default() });
            if let Some(old) = entry.words.insert(word, postings) {
                inner.postings -= old.len();
            }
        }
        inner.orgs.entry(org).or_insert_with(|| OrgWords { generation, ..OrgWords::default() }).total = Some(total);
    }
}

fn forget_org(inner: &mut Inner, org: Uuid) {
    if let Some(words) = inner.orgs.remove(&org) {
        inner.postings -= words.words.values().map(|w| w.len()).sum::<usize>();
    }
}

/// A query's matches with their scores, handed out best first in batches.
#[derive(Debug)]
pub struct Matches {
    /// Not handed out yet.
    rest: Vec<(f64, i64)>,
    /// A search of one word with nothing excluded: the word's postings, its weight, and how many
    /// were handed out. Its matches are already in order (of impact), and none is scored before
    /// it is handed out (a common word is in most prompts).
    alone: Option<(Arc<WordPostings>, f64, usize)>,
}

/// Best first; ties by doc, the newest prompt first.
fn best_first(a: &(f64, i64), b: &(f64, i64)) -> Ordering {
    b.0.total_cmp(&a.0).then(b.1.cmp(&a.1))
}

impl Matches {
    /// Every match of `query` with its score, from `words` (by index key; a key missing is a word
    /// in no prompt) and the organization's count of prompts.
    pub fn of(query: &Query, words: &HashMap<String, Arc<WordPostings>>, total: i64) -> Self {
        let posting = |w: &str| words.get(key(w)).filter(|p| p.docs > 0 && p.len() > 0);
        let atoms = |atoms: &[Atom]| -> Vec<(&Arc<WordPostings>, f64)> {
            atoms
                .iter()
                .filter_map(|a| match a {
                    Atom::Word(w) => posting(w).map(|p| (p, idf(p.docs, total))),
                    Atom::Phrase(_) => None,
                })
                .collect()
        };
        let groups: Vec<Vec<(&Arc<WordPostings>, f64)>> = query.groups.iter().map(|g| atoms(g)).collect();
        let mut excluded: Vec<Cursor> = atoms(&query.excluded).into_iter().map(|(p, _)| p.cursor()).collect();
        if groups.is_empty() || groups.iter().any(Vec::is_empty) {
            return Self { rest: Vec::new(), alone: None };
        }
        if let [group] = groups.as_slice()
            && let [(postings, weight)] = group.as_slice()
            && excluded.is_empty()
        {
            return Self { rest: Vec::new(), alone: Some(((*postings).clone(), *weight, 0)) };
        }
        let size = |g: &Vec<(&Arc<WordPostings>, f64)>| g.iter().map(|(p, _)| p.len()).sum::<usize>();
        let driving = (0..groups.len()).min_by_key(|i| size(&groups[*i])).expect("groups are not empty");
        // The driving group's prompts, each once and in ascending order, with the group's best
        // atom for it.
        let mut seen: Vec<(i64, f64)> = Vec::with_capacity(size(&groups[driving]));
        for (postings, weight) in &groups[driving] {
            seen.extend(postings.doc_ids.iter().zip(&postings.impacts).map(|(d, i)| (*d, weight * f64::from(*i))));
        }
        if groups[driving].len() > 1 {
            seen.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
            seen.dedup_by_key(|(doc, _)| *doc);
        }
        let mut cursors: Vec<Vec<(Cursor, f64)>> =
            groups.iter().map(|g| g.iter().map(|(p, w)| (p.cursor(), *w)).collect()).collect();
        let mut rest = Vec::with_capacity(seen.len());
        'docs: for (doc, driving_best) in seen {
            if excluded.iter_mut().any(|c| c.impact(doc) > 0) {
                continue;
            }
            let mut score = 0.0;
            // In the query's order of groups.
            for (i, group) in cursors.iter_mut().enumerate() {
                let best = if i == driving {
                    driving_best
                } else {
                    let best = group.iter_mut().map(|(c, w)| *w * f64::from(c.impact(doc))).fold(0.0, f64::max);
                    if best <= 0.0 {
                        continue 'docs;
                    }
                    best
                };
                score += best / 1000.0;
            }
            rest.push((score, doc));
        }
        Self { rest, alone: None }
    }

    /// Whether any match is left to hand out.
    pub fn has_more(&self) -> bool {
        match &self.alone {
            Some((postings, _, at)) => *at < postings.len(),
            None => !self.rest.is_empty(),
        }
    }

    /// The next `n` best matches, best first.
    pub fn next_batch(&mut self, n: usize) -> Vec<(f64, i64)> {
        if let Some((postings, weight, at)) = &mut self.alone {
            let batch: Vec<(f64, i64)> = (*at..*at + n).map_while(|i| postings.ranked(i, *weight)).collect();
            *at += batch.len();
            return batch;
        }
        let mut batch = if self.rest.len() > n {
            self.rest.select_nth_unstable_by(n, best_first);
            let tail = self.rest.split_off(n);
            std::mem::replace(&mut self.rest, tail)
        } else {
            std::mem::take(&mut self.rest)
        };
        batch.sort_unstable_by(best_first);
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[(&str, &[(i64, i32)])]) -> HashMap<String, Arc<WordPostings>> {
        list.iter().map(|(w, p)| ((*w).to_owned(), Arc::new(WordPostings::new(p.len() as i64, p.to_vec())))).collect()
    }

    #[test]
    fn a_match_holds_a_word_of_every_group_and_none_excluded() {
        let words = words(&[
            ("email", &[(1, 900), (2, 400), (3, 1500)]),
            ("common", &[(1, 300), (2, 300), (4, 300), (5, 300)]),
            ("draft", &[(2, 100)]),
        ]);
        let query = Query::parse("email common NOT draft");
        let mut matches = Matches::of(&query, &words, 10);
        assert_eq!(matches.rest.len(), 1, "1 holds both and not draft; 3 lacks common; 2 holds draft");
        let batch = matches.next_batch(10);
        assert_eq!(batch.iter().map(|(_, d)| *d).collect::<Vec<_>>(), vec![1]);
        let expected = idf(3, 10) * 0.9 + idf(4, 10) * 0.3;
        assert!((batch[0].0 - expected).abs() < 1e-12, "{batch:?} {expected}");
        assert!(!matches.has_more());
    }

    #[test]
    fn alternatives_score_by_their_best_and_batches_come_best_first() {
        let words = words(&[("prompt", &[(1, 100), (2, 2000), (3, 500)]), ("promt", &[(1, 1000), (4, 50)])]);
        let query = Query::parse("prompt OR promt");
        let mut matches = Matches::of(&query, &words, 4);
        assert_eq!(matches.rest.len(), 4, "each prompt once");
        let first = matches.next_batch(2);
        assert_eq!(first.iter().map(|(_, d)| *d).collect::<Vec<_>>(), vec![2, 1]);
        assert!(matches.has_more(), "two left");
        let next = matches.next_batch(5);
        assert_eq!(next.iter().map(|(_, d)| *d).collect::<Vec<_>>(), vec![3, 4]);
        assert!(next[0].0 < first[1].0, "{first:?} {next:?}");
        assert!(!matches.has_more(), "all handed out");
    }

    #[test]
    fn a_word_alone_is_handed_out_by_impact_without_scoring_every_match() {
        let words = words(&[("prompt", &[(1, 100), (2, 2000), (3, 500), (4, 500)])]);
        let mut matches = Matches::of(&Query::parse("prompt"), &words, 10);
        let weight = idf(4, 10);
        assert!(matches.rest.is_empty(), "nothing scored before it is handed out");
        let first = matches.next_batch(2);
        assert_eq!(first.iter().map(|(_, d)| *d).collect::<Vec<_>>(), vec![2, 4], "ties: the newest doc first");
        assert_eq!((first[0].0, first[1].0), (weight * 2.0, weight * 500.0 / 1000.0));
        assert!(matches.has_more());
        let next = matches.next_batch(5);
        assert_eq!(next.iter().map(|(_, d)| *d).collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!(next[0].0, first[1].0, "3 ties with 4, and comes after it");
        assert!(!matches.has_more());
    }

    #[test]
    fn a_cursor_finds_each_doc_asked_in_order_as_a_search_would() {
        // Docs 0, 3, 6, … with impact doc + 1; asked for every doc, then every fifth, then a few far apart.
        let postings = WordPostings::new(400, (0..400).map(|i| (i * 3, i as i32 * 3 + 1)).collect());
        let expected = |doc: i64| if doc % 3 == 0 && doc < 1_200 { doc as u16 + 1 } else { 0 };
        for step in [1, 5, 97, 1_000] {
            let mut cursor = postings.cursor();
            for doc in (0..1_300).step_by(step) {
                assert_eq!(cursor.impact(doc), expected(doc), "doc {doc}, step {step}");
            }
        }
        let mut cursor = postings.cursor();
        assert_eq!(
            (cursor.impact(3), cursor.impact(3), cursor.impact(1_197)),
            (4, 4, 1_198),
            "asked twice, then the last"
        );
        assert_eq!(cursor.impact(5_000), 0, "past the end");
        assert_eq!(WordPostings::default().cursor().impact(1), 0, "no postings");
    }

    #[test]
    fn a_group_of_no_known_word_matches_nothing() {
        let words = words(&[("email", &[(1, 900)])]);
        assert_eq!(Matches::of(&Query::parse("email nowhere"), &words, 5).rest.len(), 0);
        assert!(ranks(&Query::parse("email nowhere")));
        assert!(!ranks(&Query::parse("\"email nowhere\"")), "a phrase needs positions");
    }

    #[test]
    fn the_memo_keeps_words_until_the_generation_changes() {
        let memo = PostingsMemo::default();
        let org = Uuid::now_v7();
        let postings = Arc::new(WordPostings::new(1, vec![(7, 100)]));
        let seen = memo.lookup(org, &["email"]);
        assert_eq!(seen.missing, vec!["email".to_owned()]);
        assert!(seen.words.is_empty() && seen.total.is_none());
        memo.remember(org, 3, 10, [("email".to_owned(), postings.clone())]);
        let known = memo.lookup(org, &["email"]);
        assert!(known.missing.is_empty());
        assert_eq!((known.generation, known.total), (3, Some(10)));
        // Read at another generation: the words of the old one go.
        memo.remember(org, 4, 11, [("draft".to_owned(), postings)]);
        let now = memo.lookup(org, &["email", "draft"]);
        assert_eq!(now.missing, vec!["email".to_owned()]);
        assert_eq!((now.generation, now.total), (4, Some(11)));
        memo.forget_org(Uuid::now_v7());
        assert!(memo.lookup(org, &["draft"]).missing.is_empty(), "another organization's words went");
        memo.forget_org(org);
        let gone = memo.lookup(org, &["draft"]);
        assert_eq!((gone.missing.len(), gone.total), (1, None));
    }
}
