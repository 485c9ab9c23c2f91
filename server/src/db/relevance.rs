//! Relevance for searches of words, and the search index that holds it.
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
//! each word of an organization, the prompts that hold it with its impact in each, and each
//! prompt's own postings (`prompt_docs.postings`), so that a changed prompt changes only its own.
//!
//! **Which searches use it.** Searches of words alone are ranked in memory from its postings
//! ([`super::postings`]). A search with a phrase would have to read every prompt holding its
//! rarest word when its matches are few (a phrase of a common and a rare word): SQLite's FTS5 and
//! PostgreSQL's `tsvector` answer those from the word positions in their own indexes.

use std::collections::{HashMap, HashSet};

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
        // Rarer words weigh more, and a word in every prompt still weighs something.
        assert!(idf(10, 1_000) > idf(500, 1_000));
        assert!(idf(1_000, 1_000) > 0.0);
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
}
