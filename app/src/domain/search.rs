//! The search language of the prompt library and the pieces both databases share.
//!
//! `onboarding email` means both words; `email OR letter` either; `NOT draft` or `-draft` excludes;
//! `"exact phrase"` keeps the words together and in order. `AND` may be written but is implied.
//! Words are lower-cased and split the way the indexes split them (letters and digits), so
//! `e-mail` is the phrase "e mail". Typo tolerance widens a word to its near neighbours in the
//! organization's vocabulary (`promt` finds `prompt`), see [`typo_distance`].

use serde::{Deserialize, Serialize};

/// A word or a phrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Atom {
    Word(String),
    Phrase(Vec<String>),
}

impl Atom {
    fn from_words(mut words: Vec<String>) -> Option<Self> {
        match words.len() {
            0 => None,
            1 => words.pop().map(Atom::Word),
            _ => Some(Atom::Phrase(words)),
        }
    }

    fn words(&self) -> Vec<&str> {
        match self {
            Atom::Word(w) => vec![w.as_str()],
            Atom::Phrase(ws) => ws.iter().map(String::as_str).collect(),
        }
    }
}

/// A parsed query: every group must match (a group matches when any of its atoms does) and no
/// excluded atom may.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub groups: Vec<Vec<Atom>>,
    pub excluded: Vec<Atom>,
}

/// Splits text into index words: runs of letters and digits, lower-cased.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[derive(Debug, PartialEq)]
enum Token {
    Text(String),
    Quoted(String),
    Or,
    Not,
}

fn tokens(input: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            out.push(Token::Quoted(phrase));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            match word.as_str() {
                "OR" | "|" => out.push(Token::Or),
                "AND" | "&" => {}
                "NOT" => out.push(Token::Not),
                w if w.len() > 1 && w.starts_with('-') => {
                    out.push(Token::Not);
                    out.push(Token::Text(w[1..].to_owned()));
                }
                _ => out.push(Token::Text(word)),
            }
        }
    }
    out
}

impl Query {
    /// Parses what a person typed. Never fails: stray operators are ignored.
    pub fn parse(input: &str) -> Self {
        let mut query = Query::default();
        let mut negate = false;
        let mut join = false;
        for token in tokens(input) {
            let atom = match token {
                Token::Or => {
                    join = !query.groups.is_empty();
                    continue;
                }
                Token::Not => {
                    negate = true;
                    continue;
                }
                Token::Text(t) | Token::Quoted(t) => Atom::from_words(words(&t)),
            };
            let Some(atom) = atom else { continue };
            if negate {
                query.excluded.push(atom);
            } else if join && let Some(last) = query.groups.last_mut() {
                last.push(atom);
            } else {
                query.groups.push(vec![atom]);
            }
            negate = false;
            join = false;
        }
        query
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The single words a person typed (not inside phrases), for typo expansion.
    pub fn plain_words(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .groups
            .iter()
            .flatten()
            .filter_map(|a| match a {
                Atom::Word(w) => Some(w.clone()),
                Atom::Phrase(_) => None,
            })
            .collect();
        out.dedup();
        out
    }

    /// Adds `alternatives` of a word to every group the word appears in.
    pub fn widen(&mut self, word: &str, alternatives: &[String]) {
        for group in &mut self.groups {
            if group.iter().any(|a| matches!(a, Atom::Word(w) if w == word)) {
                for alt in alternatives {
                    if !group.iter().any(|a| matches!(a, Atom::Word(w) if w == alt)) {
                        group.push(Atom::Word(alt.clone()));
                    }
                }
            }
        }
    }

    /// Every word that counts as a hit, for highlighting.
    pub fn hit_words(&self) -> Vec<String> {
        let mut out: Vec<String> = self.groups.iter().flatten().flat_map(|a| a.words()).map(str::to_owned).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The query in SQLite FTS5 syntax. Words are quoted, so nothing the user typed is syntax.
    pub fn to_fts5(&self) -> String {
        fn atom(a: &Atom) -> String {
            format!("\"{}\"", a.words().join(" "))
        }
        let positive = self
            .groups
            .iter()
            .map(|g| {
                let alts: Vec<String> = g.iter().map(atom).collect();
                if alts.len() == 1 { alts.concat() } else { format!("({})", alts.join(" OR ")) }
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        self.excluded.iter().fold(positive, |q, a| format!("{q} NOT {}", atom(a)))
    }

    /// The query in PostgreSQL `to_tsquery('simple', …)` syntax.
    pub fn to_tsquery(&self) -> String {
        fn atom(a: &Atom) -> String {
            let quoted: Vec<String> = a.words().iter().map(|w| format!("'{}'", w.replace('\'', "''"))).collect();
            if quoted.len() == 1 { quoted.concat() } else { format!("({})", quoted.join(" <-> ")) }
        }
        let mut parts: Vec<String> =
            self.groups.iter().map(|g| format!("({})", g.iter().map(atom).collect::<Vec<_>>().join(" | "))).collect();
        parts.extend(self.excluded.iter().map(|a| format!("!{}", atom(a))));
        parts.join(" & ")
    }
}

/// How many edits (insert, delete, substitute, swap of neighbours) turn `a` into `b`, if at most
/// `max`; `None` beyond.
pub fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best =
                (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    Some(d[a.len() * width + b.len()]).filter(|&n| n <= max)
}

/// The typo budget of a word: none under 4 letters, one up to 7, two beyond.
pub fn typo_distance(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The vocabulary words close enough to `word` to count as what was meant. They start with the
/// same letter: people seldom mistype the first one, and a word that differs there is most often
/// another word ("mjove" means "mojove" or "move", not "jove"; Meilisearch counts a typo there as
/// two). Both backends look near words up by their first letter.
pub fn near_words<'a>(word: &str, vocabulary: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let max = typo_distance(word);
    let Some(first) = word.chars().next().filter(|_| max > 0) else {
        return vec![];
    };
    vocabulary
        .into_iter()
        .filter(|v| *v != word && v.starts_with(first) && edit_distance(word, v, max).is_some())
        .map(str::to_owned)
        .collect()
}

/// A piece of highlighted text: `hit` marks a matching word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Mark {
    pub text: String,
    pub hit: bool,
}

/// Splits `text` into marks, hitting whole words in `hits` (lower-case). With `window`, keeps about
/// that many words around the first hit (with "…" where cut); the text past the window is not
/// read, so a long body costs what its window does.
pub fn highlight(text: &str, hits: &[String], window: Option<usize>) -> Vec<Mark> {
    let is_hit = |word: &str| match word.is_ascii() {
        // Hits are lower-case: an ASCII word equals one, ignoring case, without being copied.
        true => hits.iter().any(|h| h.eq_ignore_ascii_case(word)),
        false => hits.contains(&word.to_lowercase()),
    };
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
    let mut first_hit = None;
    for (from, to) in word_spans(text) {
        let hit = !hits.is_empty() && is_hit(&text[from..to]);
        if hit && first_hit.is_none() {
            first_hit = Some(spans.len());
        }
        spans.push((from, to, hit));
        // The window is settled once it is known where it starts (at the first hit, or at the
        // start when there is nothing to hit) and one word beyond it shows the text goes on.
        if let Some(n) = window
            && (first_hit.is_some() || hits.is_empty())
            && spans.len() > first_hit.unwrap_or(0).saturating_sub(n / 3) + n
        {
            break;
        }
    }
    let (from, to, cut_left, cut_right) = match window {
        Some(n) if spans.len() > n => {
            let begin = first_hit.unwrap_or(0).saturating_sub(n / 3);
            let end = (begin + n).min(spans.len());
            (spans[begin].0, spans[end - 1].1, begin > 0, end < spans.len())
        }
        _ => (0, text.len(), false, false),
    };
    let mut marks = Vec::new();
    let mut push = |text: &str, hit: bool| {
        if text.is_empty() {
            return;
        }
        match marks.last_mut() {
            Some(Mark { text: last, hit: h }) if *h == hit => last.push_str(text),
            _ => marks.push(Mark { text: text.to_owned(), hit }),
        }
    };
    if cut_left {
        push("…", false);
    }
    let mut at = from;
    for &(s, e, hit) in spans.iter().filter(|(s, e, _)| *s >= from && *e <= to) {
        push(&text[at..s], false);
        push(&text[s..e], hit);
        at = e;
    }
    push(&text[at..to], false);
    if cut_right {
        push("…", false);
    }
    marks
}

/// The byte ranges of `text`'s words (runs of letters and digits), in order.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (from, _) = chars.find(|(_, c)| c.is_alphanumeric())?;
        let mut to = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                to = i;
                break;
            }
            chars.next();
        }
        Some((from, to))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Atom {
        Atom::Word(s.into())
    }

    #[test]
    fn parses_and_or_not_and_phrases() {
        let q = Query::parse(r#"Onboarding email OR letter NOT draft -old "Exact  Phrase" AND x"#);
        assert_eq!(
            q.groups,
            vec![
                vec![w("onboarding")],
                vec![w("email"), w("letter")],
                vec![Atom::Phrase(vec!["exact".into(), "phrase".into()])],
                vec![w("x")]
            ]
        );
        assert_eq!(q.excluded, vec![w("draft"), w("old")]);
    }

    #[test]
    fn stray_operators_and_punctuation_are_harmless() {
        assert!(Query::parse(r#"OR NOT "" AND ***"#).is_empty());
        assert_eq!(Query::parse("e-mail").groups, vec![vec![Atom::Phrase(vec!["e".into(), "mail".into()])]]);
        let q = Query::parse(r#"a" OR (b)"#);
        assert_eq!(q.to_fts5(), r#""a" AND "or b""#, "a quote runs to the end as one phrase");
    }

    #[test]
    fn renders_to_both_index_languages() {
        let q = Query::parse(r#"email OR letter "cold call" -spam"#);
        assert_eq!(q.to_fts5(), r#"("email" OR "letter") AND "cold call" NOT "spam""#);
        assert_eq!(q.to_tsquery(), "('email' | 'letter') & (('cold' <-> 'call')) & !'spam'");
    }

    #[test]
    fn typos_find_near_words() {
        assert_eq!(edit_distance("promt", "prompt", 1), Some(1));
        assert_eq!(edit_distance("pormpt", "prompt", 1), Some(1), "a swap is one edit");
        assert_eq!(edit_distance("cat", "dog", 2), None);
        let vocabulary = ["prompt", "prompts", "program", "romp"];
        assert_eq!(near_words("promt", vocabulary), ["prompt"]);
        assert!(near_words("cat", ["car"]).is_empty(), "short words are taken as typed");
        assert_eq!(near_words("mjove", ["mojove", "jove", "move"]), ["mojove", "move"], "the first letter is kept");
        assert!(near_words("xpromptly", ["promptly"]).is_empty(), "even with two typos to spend");
        let mut q = Query::parse("promt marketing");
        q.widen("promt", &["prompt".into()]);
        assert_eq!(q.to_fts5(), r#"("promt" OR "prompt") AND "marketing""#);
    }

    #[test]
    fn highlights_whole_words_and_cuts_a_window() {
        let marks = highlight("Write a prompt, then prompts.", &["prompt".into()], None);
        assert_eq!(
            marks,
            vec![
                Mark { text: "Write a ".into(), hit: false },
                Mark { text: "prompt".into(), hit: true },
                Mark { text: ", then prompts.".into(), hit: false },
            ]
        );
        let long = (0..50).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let marks = highlight(&long, &["w30".into()], Some(9));
        let text: String = marks.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(text, "…w27 w28 w29 w30 w31 w32 w33 w34 w35…");
    }

    #[test]
    fn highlighting_ignores_case_beyond_ascii_and_reads_no_further_than_the_window() {
        let marks = highlight("Ärger, ÄRGER und Arger", &["ärger".into()], None);
        let hits: Vec<&str> = marks.iter().filter(|m| m.hit).map(|m| m.text.as_str()).collect();
        assert_eq!(hits, ["Ärger", "ÄRGER"]);
        let marks = highlight("Prompt PROMPT prompts", &["prompt".into()], None);
        let hits: Vec<&str> = marks.iter().filter(|m| m.hit).map(|m| m.text.as_str()).collect();
        assert_eq!(hits, ["Prompt", "PROMPT"], "whole words only");

        let long = (0..50).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        let text = |marks: Vec<Mark>| marks.iter().map(|m| m.text.as_str()).collect::<String>();
        // Nothing to hit: the first words. A hit in the last word: the window ends there.
        assert_eq!(text(highlight(&long, &[], Some(3))), "w0 w1 w2…");
        assert_eq!(text(highlight(&long, &["nowhere".into()], Some(3))), "w0 w1 w2…");
        assert_eq!(text(highlight(&long, &["w49".into()], Some(6))), "…w47 w48 w49");
        assert_eq!(text(highlight(&long, &["w44".into()], Some(6))), "…w42 w43 w44 w45 w46 w47…");
        // Exactly as many words as the window: nothing cut.
        assert_eq!(text(highlight("a b c", &["b".into()], Some(3))), "a b c");
        assert_eq!(text(highlight("a b c.", &[], Some(3))), "a b c.");
        assert_eq!(text(highlight("a b c d", &[], Some(3))), "a b c…");
    }
}
