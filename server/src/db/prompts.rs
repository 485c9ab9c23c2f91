//! The prompt library: prompts, their immutable versions, labels, tags and search.
//!
//! Search runs inside the database. A search by relevance of one group of words is ranked from
//! Cairn's own index (`search_postings`, [`super::relevance`]); the others by SQLite FTS5 (bm25,
//! title weighted highest, ranked by the words that carry weight: [`super::search_weights`]) and
//! PostgreSQL `tsvector` (`ts_rank_cd`, same weights). Typo tolerance looks up near words in
//! `search_terms` (pg_trgm similarity on PostgreSQL, same first letter on SQLite) and the caller
//! keeps those within the edit distance budget; both lookups are remembered until the text changes
//! (see [`super::search_weights`]).

use super::postings::{self, PostingsMemo, WordPostings};
use super::relevance::{self, IndexWrites};
use super::search_weights::{Best, Recall, SearchMemo, may_narrow, ranking};
use super::sql::{Arg, Dialect, Sql, bind_all};
use super::{Backend, BeginWrite, Db, OrStore, StoreResult as Result, on_pool, on_reader};
use app::domain::prompt::{ModelSettings, PromptFields, PromptStatus, Visibility};
use app::domain::search::{Atom, Query, typo_distance, words};
use app::domain::{OrgId, UserId};
use app::ports::{
    CategoryRecord, CollectionRecord, LabelRecord, LibraryImport, PromptCounts, PromptFilter, PromptRecord, PromptSave,
    PromptSort, PromptStore, PromptVersionRecord, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// A prompt's columns for `PromptRow`, with what is read for its body, variables and model.
macro_rules! prompt_columns {
    ($body:literal, $variables:literal, $model:literal) => {
        concat!(
            "p.id, p.org_id, p.author_id, u.display_name AS author_name, p.title, p.description, ",
            $body,
            ", p.status, p.visibility, p.category, p.tags, ",
            $variables,
            ", ",
            $model,
            ", p.temperature, p.max_tokens, p.version, p.view_count, p.use_count, p.favorite_count, ",
            "p.collection_id, p.created_at, p.updated_at"
        )
    };
}

const PROMPT_COLUMNS: &str = prompt_columns!("p.body", "p.variables", "p.model");

/// `PROMPT_COLUMNS` for a list's summaries (`PromptFilter::summaries`): no variables or model, and
/// the body only where the snippet may come from it (no description). A search reads the body
/// (`SEARCH_SUMMARY_COLUMNS`): its hits may be there.
const SUMMARY_COLUMNS: &str =
    prompt_columns!("CASE WHEN p.description = '' THEN p.body ELSE '' END AS body", "'[]' AS variables", "'' AS model");
const SEARCH_SUMMARY_COLUMNS: &str = prompt_columns!("p.body", "'[]' AS variables", "'' AS model");

#[derive(FromRow)]
struct PromptRow {
    id: Uuid,
    org_id: Uuid,
    author_id: Uuid,
    author_name: String,
    title: String,
    description: String,
    body: String,
    status: String,
    visibility: String,
    category: String,
    tags: String,
    variables: String,
    model: String,
    temperature: Option<f64>,
    max_tokens: Option<i32>,
    version: i32,
    view_count: i64,
    use_count: i64,
    favorite_count: i64,
    collection_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[sqlx(default)]
    score: Option<f64>,
    #[sqlx(default)]
    favorite: Option<bool>,
    /// A search ranked from its best matches first: the lowest score kept, and how many were kept.
    #[sqlx(default)]
    floor: Option<f64>,
    #[sqlx(default)]
    ranked: Option<i64>,
    /// A search ranked in memory: the prompt's number in the search index.
    #[sqlx(default)]
    doc: Option<i64>,
}

impl From<PromptRow> for PromptRecord {
    fn from(r: PromptRow) -> Self {
        PromptRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            author_id: UserId(r.author_id),
            author_name: r.author_name,
            fields: PromptFields {
                title: r.title,
                description: r.description,
                body: r.body,
                status: PromptStatus::parse(&r.status).unwrap_or_default(),
                visibility: Visibility::parse(&r.visibility).unwrap_or_default(),
                category: r.category,
                tags: r.tags.split_whitespace().map(str::to_owned).collect(),
                variables: serde_json::from_str(&r.variables).unwrap_or_default(),
                model: ModelSettings { model: r.model, temperature: r.temperature, max_tokens: r.max_tokens },
            },
            version: r.version,
            view_count: r.view_count,
            use_count: r.use_count,
            favorite_count: r.favorite_count,
            collection_id: r.collection_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            score: r.score.unwrap_or_default(),
            favorite: r.favorite.unwrap_or_default(),
        }
    }
}

#[derive(FromRow)]
struct VersionRow {
    number: i32,
    title: String,
    description: String,
    body: String,
    variables: String,
    model: String,
    temperature: Option<f64>,
    max_tokens: Option<i32>,
    author_name: String,
    change_note: String,
    created_at: DateTime<Utc>,
}

impl From<VersionRow> for PromptVersionRecord {
    fn from(r: VersionRow) -> Self {
        PromptVersionRecord {
            number: r.number,
            title: r.title,
            description: r.description,
            body: r.body,
            variables: serde_json::from_str(&r.variables).unwrap_or_default(),
            model: ModelSettings { model: r.model, temperature: r.temperature, max_tokens: r.max_tokens },
            author_name: r.author_name,
            change_note: r.change_note,
            created_at: r.created_at,
        }
    }
}

const VERSION_SELECT: &str = "SELECT v.number, v.title, v.description, v.body, v.variables, v.model, v.temperature, \
     v.max_tokens, u.display_name AS author_name, v.change_note, v.created_at \
     FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id JOIN users u ON u.id = v.author_id \
     WHERE p.org_id = $1 AND v.prompt_id = $2";

/// The words worth remembering for typo tolerance: 3 to 40 characters, each once.
fn vocabulary(fields: &PromptFields) -> Vec<String> {
    let mut all: Vec<String> = [&fields.title, &fields.description, &fields.body]
        .into_iter()
        .flat_map(|t| words(t))
        .chain(fields.tags.iter().flat_map(|t| words(t)))
        .filter(|w| (3..=40).contains(&w.chars().count()) && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    all.sort();
    all.dedup();
    all.truncate(4_000);
    all
}

fn json(variables: &[app::domain::template::VariableDef]) -> Result<String> {
    serde_json::to_string(variables).map_err(|e| StoreError::Other(e.to_string()))
}

/// Inserts a prompt's row on `$tx`.
macro_rules! insert_prompt {
    ($tx:expr, $org:expr, $id:expr, $author:expr, $f:expr, $tags:expr, $variables:expr, $version:expr,
     $collection:expr, $created:expr, $updated:expr) => {
        sqlx::query(
            "INSERT INTO prompts (id, org_id, author_id, title, description, body, status, visibility, \
             category, tags, variables, model, temperature, max_tokens, version, collection_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind($id).bind($org).bind($author).bind(&$f.title).bind(&$f.description).bind(&$f.body)
        .bind($f.status.as_str()).bind($f.visibility.as_str()).bind(&$f.category).bind($tags).bind($variables)
        .bind(&$f.model.model).bind($f.model.temperature).bind($f.model.max_tokens).bind($version)
        .bind($collection).bind($created).bind($updated)
        .execute($tx).await.store()?
    };
}

/// Inserts one immutable version on `$tx`.
macro_rules! insert_version {
    ($tx:expr, $prompt:expr, $number:expr, $title:expr, $description:expr, $body:expr, $variables:expr,
     $model:expr, $author:expr, $note:expr, $at:expr) => {
        sqlx::query(
            "INSERT INTO prompt_versions (prompt_id, number, title, description, body, variables, model, \
             temperature, max_tokens, author_id, change_note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind($prompt)
        .bind($number)
        .bind(&$title)
        .bind(&$description)
        .bind(&$body)
        .bind($variables)
        .bind(&$model.model)
        .bind($model.temperature)
        .bind($model.max_tokens)
        .bind($author)
        .bind($note)
        .bind($at)
        .execute($tx)
        .await
        .store()?
    };
}

/// Writes a prompt's filterable tags (after any old ones were removed) and its search words on `$tx`.
macro_rules! index_prompt {
    ($tx:expr, $org:expr, $id:expr, $tags:expr, $terms:expr) => {
        for tag in $tags {
            sqlx::query("INSERT INTO prompt_tags (prompt_id, org_id, tag) VALUES ($1, $2, $3)")
                .bind($id)
                .bind($org)
                .bind(tag)
                .execute(&mut *$tx)
                .await
                .store()?;
        }
        for chunk in $terms.chunks(500) {
            let mut text = String::from("INSERT INTO search_terms (org_id, term) VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    text.push_str(", ");
                }
                text.push_str(&format!("($1, ${})", i + 2));
            }
            text.push_str(" ON CONFLICT DO NOTHING");
            let mut query = sqlx::query(&text).bind($org);
            for term in chunk {
                query = query.bind(term);
            }
            query.execute(&mut *$tx).await.store()?;
        }
    };
}

/// Looks up the ids of `$words` (`&str`s, each once) in the organization's `search_words` on
/// `$tx`, adding the missing ones, into `$w.ids` ([`IndexWrites`]).
macro_rules! word_ids {
    ($tx:expr, $org:expr, $w:expr, $words:expr) => {{
        let missing: Vec<String> = $words.filter(|w| !$w.ids.contains_key(*w)).map(str::to_owned).collect();
        for chunk in missing.chunks(500) {
            // Read and add what is not there; then read again what another transaction added
            // meanwhile (PostgreSQL: `DO NOTHING` returns no id for those).
            for add in [true, false] {
                let unknown: Vec<&String> = chunk.iter().filter(|w| !$w.ids.contains_key(w.as_str())).collect();
                if unknown.is_empty() {
                    break;
                }
                let sql = relevance::select_words_sql(unknown.len());
                let found: Vec<(String, i64)> = unknown
                    .iter()
                    .fold(sqlx::query_as(&sql).bind($org), |q, w| q.bind(w.as_str()))
                    .fetch_all(&mut *$tx)
                    .await
                    .store()?;
                $w.ids.extend(found);
                let unknown: Vec<&String> = chunk.iter().filter(|w| !$w.ids.contains_key(w.as_str())).collect();
                if unknown.is_empty() {
                    break;
                }
                if !add {
                    return Err(StoreError::Other(format!("search words not found after adding them: {unknown:?}")));
                }
                let sql = relevance::insert_words_sql(unknown.len());
                let added: Vec<(String, i64)> = unknown
                    .iter()
                    .fold(sqlx::query_as(&sql).bind($org), |q, w| q.bind(w.as_str()))
                    .fetch_all(&mut *$tx)
                    .await
                    .store()?;
                $w.ids.extend(added);
            }
        }
    }};
}

/// Indexes the prompt `$id` of `$org` for search on `$tx`, from `$fields` (title, description,
/// body and tags as stored), replacing what was indexed of it.
macro_rules! index_doc {
    ($tx:expr, $org:expr, $w:expr, $id:expr, $fields:expr) => {{
        // The upsert locks the prompt's row (PostgreSQL) and returns its postings as they were.
        let (doc, old): (i64, Option<String>) = sqlx::query_as(
            "INSERT INTO prompt_docs (prompt_id) VALUES ($1) ON CONFLICT (prompt_id) \
             DO UPDATE SET prompt_id = excluded.prompt_id RETURNING doc, postings",
        )
        .bind($id)
        .fetch_one(&mut *$tx)
        .await
        .store()?;
        let impacts = relevance::impacts($fields);
        word_ids!($tx, $org, $w, impacts.iter().map(|(k, _)| k.as_str()));
        let new: Vec<(i64, i32)> = impacts.iter().map(|(k, i)| ($w.ids[k.as_str()], *i)).collect();
        let old = old.as_deref().map(relevance::decode_postings);
        for sql in $w.change(doc, old.as_deref(), Some(new.as_slice())) {
            sqlx::query(&sql).execute(&mut *$tx).await.store()?;
        }
        sqlx::query("UPDATE prompt_docs SET postings = $2 WHERE doc = $1")
            .bind(doc)
            .bind(relevance::encode_postings(&new))
            .execute(&mut *$tx)
            .await
            .store()?;
    }};
}

/// Takes the prompt `$id` of `$org` out of the search index on `$tx`, just before it is deleted
/// (its `prompt_docs` row goes with it); `$lock` locks that row (`d`) on PostgreSQL, so that two
/// deletes count it once.
macro_rules! unindex_doc {
    ($tx:expr, $org:expr, $w:expr, $id:expr, $lock:expr) => {{
        let sql = format!(
            "SELECT d.doc, d.postings FROM prompt_docs d JOIN prompts p ON p.id = d.prompt_id \
             WHERE p.org_id = $1 AND d.prompt_id = $2{}",
            $lock
        );
        let found: Option<(i64, Option<String>)> =
            sqlx::query_as(&sql).bind($org).bind($id).fetch_optional(&mut *$tx).await.store()?;
        if let Some((doc, Some(old))) = found {
            for sql in $w.change(doc, Some(relevance::decode_postings(&old).as_slice()), None) {
                sqlx::query(&sql).execute(&mut *$tx).await.store()?;
            }
        }
    }};
}

/// Writes the postings `$w` gained and the words' prompt counts it counted on `$tx`.
macro_rules! write_index {
    ($tx:expr, $org:expr, $w:expr) => {{
        let total = if $w.total == 0 {
            None
        } else {
            word_ids!($tx, $org, $w, std::iter::once(""));
            Some($w.ids[""])
        };
        for sql in $w.finish(total) {
            sqlx::query(&sql).execute(&mut *$tx).await.store()?;
        }
    }};
}

/// What `viewer` may see of the prompts (or their `prompt_search` rows) named `table`: all but
/// others' private ones.
fn push_visible_to(sql: &mut Sql, table: &str, viewer: UserId) {
    sql.push(&format!(" AND ({table}.visibility <> 'private' OR {table}.author_id = "))
        .arg(Arg::Uuid(viewer.0))
        .push(")");
}

/// The list's filters, after its `WHERE` (on `p`, the prompts).
fn push_filters(sql: &mut Sql, dialect: Dialect, filter: &PromptFilter) {
    if let Some(viewer) = filter.viewer {
        push_visible_to(sql, "p", viewer);
    }
    if !filter.tags.is_empty() {
        // Looked for in the row's own tags (space separated), not in `prompt_tags`: a list in an
        // index's order visits rows until its page is full (165 for a tag on one prompt in ten),
        // and looking each one up in `prompt_tags` cost more than reading the row. Not `LIKE`:
        // PostgreSQL guesses a `LIKE '% tag %'` to match next to nothing and then sorts every
        // matching prompt (91 ms instead of 0.3).
        let either = if filter.all_tags { " AND " } else { " OR " };
        sql.push(" AND (");
        for (i, tag) in filter.tags.iter().enumerate() {
            if i > 0 {
                sql.push(either);
            }
            sql.push(dialect.position())
                .push("(' ' || p.tags || ' ', ")
                .arg(Arg::Text(format!(" {tag} ")))
                .push(") > 0");
        }
        sql.push(")");
    }
    if let Some(category) = &filter.category {
        sql.push(" AND p.category = ").arg(Arg::Text(category.clone()));
    }
    if let Some(author) = filter.author {
        sql.push(" AND p.author_id = ").arg(Arg::Uuid(author.0));
    }
    if let Some(collection) = filter.collection {
        sql.push(" AND p.collection_id = ").arg(Arg::Uuid(collection));
    }
    if let Some(user) = filter.favorites_of {
        sql.push(" AND EXISTS (SELECT 1 FROM prompt_favorites f2 WHERE f2.prompt_id = p.id AND f2.user_id = ")
            .arg(Arg::Uuid(user.0))
            .push(")");
    }
    if let Some(status) = filter.status {
        sql.push(" AND p.status = ").arg(Arg::Text(status.as_str().to_owned()));
    }
    if let Some(from) = filter.updated_from {
        sql.push(" AND p.updated_at >= ").arg(Arg::Time(from));
    }
    if let Some(to) = filter.updated_to {
        sql.push(" AND p.updated_at < ").arg(Arg::Time(to));
    }
}

/// How many rows a page holds: the filter's limit, within 1..=500.
fn page_limit(filter: &PromptFilter) -> i64 {
    filter.limit.clamp(1, 500)
}

/// The page's bounds, as literals (integers, computed here). As parameters, PostgreSQL cannot
/// tell that a prepared page is small, so its plan for every value (the generic plan) sorts
/// every prompt and it plans the statement anew on each run instead; with literals it plans a
/// page once per connection. PostgreSQL alone ran 3,000 lists a second with parameters and 4,400
/// with literals (pgbench, 8 connections, the benchmark's database).
fn push_page(sql: &mut Sql, filter: &PromptFilter) {
    sql.push(&format!(" LIMIT {} OFFSET {}", page_limit(filter), filter.offset.max(0)));
}

/// How many of the best-scored matches a search ranks first, before it looks at their prompts
/// (see [`Matches::Best`] and [`Matches::Kept`]).
const RANKED_FIRST: i64 = 200;

/// How many best matches to rank first for a search's page, when the page may come from them: a
/// search by relevance, not too deep into its results.
fn ranked_first(filter: &PromptFilter) -> Option<i64> {
    let window = 4 * (filter.offset.max(0) + page_limit(filter));
    (filter.sort == PromptSort::Relevance && window <= 4_000).then(|| RANKED_FIRST.max(window))
}

/// Where a search's matches come from.
enum Matches<'a> {
    /// SQLite's best-scored matches, already ranked by FTS5 ([`best_matches`]): a JSON array of
    /// `[rowid, score]`. Only these are looked up in `prompts` for the organization and the
    /// filters: looking up every match cost about three times its bm25 score. Each row then also
    /// carries the lowest score kept (`floor`) and how many were kept (`ranked`), for
    /// [`ranked_first_holds_the_page`].
    Best(&'a str),
    /// SQLite's FTS5 index. With `first`, as `Best` with FTS5 ranking the best `first` matches in
    /// the same statement, for a search not seen before ([`best_matches`]).
    Fts { search: &'a FtsSearch, first: Option<i64> },
    /// PostgreSQL's `tsvector`, with this `to_tsquery` text.
    TsQuery(String),
    /// PostgreSQL's best-scored matches of a search, as remembered ([`kept_matches`]): JSON,
    /// `{"generation": …, "matches": [[id, score], …]}`. As `Best`; the matches hold only while
    /// the organization's search generation is the one they were read at, checked in the same
    /// statement: when it moved on, no row comes back.
    Kept(&'a str),
}

/// A SQLite search in FTS5 syntax: what it is ranked by and, when that is less than the whole
/// query, the whole query, which decides what matches (see [`super::search_weights`]).
struct FtsSearch {
    rank: String,
    matched: Option<String>,
}

impl FtsSearch {
    /// ` AND <rowid> IN (the whole query's matches)` when the ranking leaves part of it out. The
    /// unary plus keeps SQLite from handing the list to FTS5 as rowids to look up one by one,
    /// each a new scan of the ranked words.
    fn push_matched(&self, sql: &mut Sql, rowid: &str) {
        if let Some(matched) = &self.matched {
            sql.push(" AND +")
                .push(rowid)
                .push(" IN (SELECT rowid FROM prompts_fts WHERE prompts_fts MATCH ")
                .arg(Arg::Text(matched.clone()))
                .push(")");
        }
    }
}

/// `SELECT` and a page's columns (a search's: with the body, where hits may be), and whether
/// `filter.me` marked each prompt a favorite.
fn push_columns(sql: &mut Sql, filter: &PromptFilter, searching: bool) {
    let columns = match (filter.summaries, searching) {
        (false, _) => PROMPT_COLUMNS,
        (true, false) => SUMMARY_COLUMNS,
        (true, true) => SEARCH_SUMMARY_COLUMNS,
    };
    sql.push("SELECT ").push(columns);
    match filter.me {
        Some(me) => sql
            .push(", EXISTS (SELECT 1 FROM prompt_favorites f WHERE f.prompt_id = p.id AND f.user_id = ")
            .arg(Arg::Uuid(me.0))
            .push(") AS favorite"),
        None => sql.push(", FALSE AS favorite"),
    };
}

/// The statement for a page of prompts (of search matches, with `matches`). Searching, matches
/// are ranked in two steps: the matches' ids and scores are sorted and cut to the page, then the
/// page's rows are read. Sorting thousands of matches then moves ids, not whole prompts, and
/// per-row work (the favorite flag) is done for the page only.
fn prompts_sql(dialect: Dialect, org: OrgId, filter: &PromptFilter, matches: Option<Matches<'_>>) -> Sql {
    let mut sql = Sql::default();
    if let Some(Matches::Fts { search, first: Some(first) }) = &matches {
        sql.push("WITH ranked AS MATERIALIZED (SELECT rowid AS doc, ")
            .push(SQLITE_SCORE)
            .push(" AS score FROM prompts_fts WHERE prompts_fts MATCH ")
            .arg(Arg::Text(search.rank.clone()));
        search.push_matched(&mut sql, "rowid");
        sql.push(" ORDER BY score DESC LIMIT ").arg(Arg::Int(*first)).push(") ");
    }
    if let Some(Matches::Kept(kept)) = &matches {
        sql.push("WITH kept AS (SELECT CAST(")
            .arg(Arg::Text((*kept).to_owned()))
            .push(" AS json) AS k), ranked AS MATERIALIZED (SELECT (e->>0)::uuid AS doc, (e->>1)::float8 AS score ")
            .push("FROM kept CROSS JOIN json_array_elements(k->'matches') e WHERE (k->>'generation')::bigint = ")
            .push("COALESCE((SELECT generation FROM search_generations WHERE org_id = ")
            .arg(Arg::Uuid(org.0))
            .push("), 0)) ");
    }
    if let Some(Matches::Best(best)) = &matches {
        sql.push("WITH ranked AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS doc, ")
            .push("json_extract(value, '$[1]') AS score FROM json_each(")
            .arg(Arg::Text((*best).to_owned()))
            // Sorted, so that the page below reads its rows best first and stops at the page.
            .push(") ORDER BY score DESC) ");
    }
    push_columns(&mut sql, filter, matches.is_some());
    // `updated` and `id`: where the prompt's time of change and id are read (`p`, or `prompt_search`).
    let order_on = |score: &str, updated: &str, id: &str| match (filter.sort, matches.is_some()) {
        (PromptSort::Relevance, true) => format!(" ORDER BY {score} DESC, {updated} DESC, {id} DESC"),
        (PromptSort::Relevance | PromptSort::Updated, _) => format!(" ORDER BY {updated} DESC, {id} DESC"),
        (PromptSort::Created, _) => " ORDER BY p.created_at DESC, p.id DESC".to_owned(),
        (PromptSort::Popularity, _) => {
            " ORDER BY p.use_count + p.view_count + 5 * p.favorite_count DESC, p.updated_at DESC, p.id DESC".to_owned()
        }
    };
    let order = |score: &str| order_on(score, "p.updated_at", "p.id");
    // A PostgreSQL search filtered by nothing but its organization and what the caller may see,
    // ordered by relevance or time of change, ranks its matches from `prompt_search` alone: only
    // the page's rows are read from `prompts`.
    let words_alone = matches!(matches, Some(Matches::TsQuery(_)))
        && matches!(filter.sort, PromptSort::Relevance | PromptSort::Updated)
        && {
            let mut others = Sql::default();
            push_filters(&mut others, dialect, &PromptFilter { viewer: None, ..filter.clone() });
            others.text.is_empty()
        };
    match &matches {
        Some(source) => {
            // The matches' ids and scores, then the page of them, then the page's rows.
            sql.push(", top.score AS score");
            if matches!(source, Matches::Best(_) | Matches::Kept(_) | Matches::Fts { first: Some(_), .. }) {
                sql.push(", top.floor AS floor, top.ranked AS ranked");
            }
            sql.push(if words_alone { " FROM (SELECT s.prompt_id AS hit, " } else { " FROM (SELECT p.id AS hit, " });
            match source {
                // CROSS JOIN keeps SQLite's join order: from the kept matches to their prompts, not
                // from the organization's prompts to the matches.
                Matches::Best(_) | Matches::Fts { first: Some(_), .. } => sql
                    .push("r.score AS score, (SELECT min(score) FROM ranked) AS floor, ")
                    .push("(SELECT count(*) FROM ranked) AS ranked FROM ranked r ")
                    .push("CROSS JOIN prompt_docs d ON d.doc = r.doc CROSS JOIN prompts p ON p.id = d.prompt_id ")
                    .push("WHERE"),
                Matches::Kept(_) => sql
                    .push("r.score AS score, (SELECT min(score) FROM ranked) AS floor, ")
                    .push("(SELECT count(*) FROM ranked) AS ranked FROM ranked r JOIN prompts p ON p.id = r.doc WHERE"),
                Matches::Fts { search, first: None } => {
                    sql.push(SQLITE_SCORE)
                        .push(" AS score FROM prompts_fts ")
                        .push("JOIN prompt_docs d ON d.doc = prompts_fts.rowid JOIN prompts p ON p.id = d.prompt_id ")
                        .push("WHERE prompts_fts MATCH ")
                        .arg(Arg::Text(search.rank.clone()));
                    search.push_matched(&mut sql, "prompts_fts.rowid");
                    sql.push(" AND")
                }
                Matches::TsQuery(query) if words_alone => sql
                    .push("ts_rank_cd(s.search, q)::float8 AS score FROM prompt_search s CROSS JOIN to_tsquery('simple', ")
                    .arg(Arg::Text(query.clone()))
                    .push(") q WHERE s.search @@ q AND"),
                Matches::TsQuery(query) => sql
                    .push("ts_rank_cd(s.search, q)::float8 AS score FROM prompt_search s ")
                    .push("JOIN prompts p ON p.id = s.prompt_id CROSS JOIN to_tsquery('simple', ")
                    .arg(Arg::Text(query.clone()))
                    .push(") q WHERE s.search @@ q AND"),
            };
            if words_alone {
                // `prompt_search` holds the organization, author, visibility and time of change too.
                sql.push(" s.org_id = ").arg(Arg::Uuid(org.0));
                if let Some(viewer) = filter.viewer {
                    push_visible_to(&mut sql, "s", viewer);
                }
                sql.push(&order_on("score", "s.updated_at", "s.prompt_id"));
            } else {
                sql.push(" p.org_id = ").arg(Arg::Uuid(org.0));
                push_filters(&mut sql, dialect, filter);
                sql.push(&order("score"));
            }
            push_page(&mut sql, filter);
            sql.push(") top JOIN prompts p ON p.id = top.hit JOIN users u ON u.id = p.author_id");
            sql.push(&order("top.score"));
        }
        None => {
            sql.push(" FROM prompts p JOIN users u ON u.id = p.author_id WHERE p.org_id = ").arg(Arg::Uuid(org.0));
            push_filters(&mut sql, dialect, filter);
            sql.push(&order("score"));
            push_page(&mut sql, filter);
        }
    }
    sql
}

/// ` WHERE` the prompt's `doc` is one of `docs`, of `org`, past the filters, and, given one, at the
/// organization's search generation `generation` (see [`super::postings`]): a statement over
/// postings read at another one returns nothing. How a search ranked in memory reads its matches.
fn push_matches_where(
    sql: &mut Sql,
    dialect: Dialect,
    org: OrgId,
    filter: &PromptFilter,
    docs: &[i64],
    generation: Option<i64>,
) {
    sql.push(" WHERE ");
    dialect.push_ints_in(sql, "d.doc", docs);
    sql.push(" AND p.org_id = ").arg(Arg::Uuid(org.0));
    push_filters(sql, dialect, filter);
    if let Some(generation) = generation {
        sql.push(" AND COALESCE((SELECT generation FROM search_generations WHERE org_id = ")
            .arg(Arg::Uuid(org.0))
            .push("), 0) = ")
            .arg(Arg::Int(generation));
    }
}

/// The rows of `docs` in `org` that pass the filters, whole, with their `doc` (a search ranked in
/// memory: its first batch of matches).
fn in_memory_page_sql(
    dialect: Dialect,
    org: OrgId,
    filter: &PromptFilter,
    docs: &[i64],
    generation: Option<i64>,
) -> Sql {
    let mut sql = Sql::default();
    push_columns(&mut sql, filter, true);
    sql.push(", d.doc AS doc FROM prompt_docs d")
        .push(dialect.join_in_order())
        .push("prompts p ON p.id = d.prompt_id JOIN users u ON u.id = p.author_id");
    push_matches_where(&mut sql, dialect, org, filter, docs, generation);
    sql
}

/// How a SQLite search ranks and matches: by the words that carry weight in the index, looked up
/// in its vocabulary unless remembered (see [`super::search_weights`]).
async fn fts_search(backend: &Backend<sqlx::Sqlite>, query: &Query) -> Result<FtsSearch> {
    let whole = query.to_fts5();
    if !may_narrow(query) {
        return Ok(FtsSearch { rank: whole, matched: None });
    }
    let mut plain = query.plain_words();
    plain.sort_unstable();
    plain.dedup();
    let words: Vec<&str> = plain.iter().map(String::as_str).collect();
    let known = backend.search_memo.get(&words);
    let (total, mut docs) = (known.total, known.words);
    let missing: Vec<&str> = words.iter().copied().filter(|w| !docs.contains_key(*w)).collect();
    let total = match total {
        Some(total) if missing.is_empty() => total,
        _ => {
            let (total, found) = on_reader!(@read backend, conn => async {
                let total = match total {
                    Some(total) => total,
                    None => sqlx::query_scalar("SELECT count(*) FROM prompt_docs").fetch_one(&mut *conn).await?,
                };
                let mut found = Vec::with_capacity(missing.len());
                for word in &missing {
                    let n: Option<i64> = sqlx::query_scalar("SELECT doc FROM prompts_fts_terms WHERE term = $1")
                        .bind(word).fetch_optional(&mut *conn).await?;
                    // Not in the index under this spelling (it folds accents): ranked by, as a rare word.
                    found.push(((*word).to_owned(), n.unwrap_or(0)));
                }
                Ok::<_, sqlx::Error>((total, found))
            }.await)
            .store()?;
            backend.search_memo.remember(known.generation, total, found.iter().cloned());
            docs.extend(found);
            total
        }
    };
    Ok(match ranking(query, total, |w| docs.get(w).copied()) {
        Some(rank) => FtsSearch { rank: rank.to_fts5(), matched: Some(whole) },
        None => FtsSearch { rank: whole, matched: None },
    })
}

/// The `first` best-scored matches of `search` in the whole index (every organization's), as
/// [`Matches::Best`] takes them, once the search is seen a second time: they are remembered until
/// the indexed text changes (see [`super::search_weights::SearchMemo`]), so a search that comes
/// again ranks its matches once. The first time, `None`: the page's own statement ranks them, which
/// costs one round trip less.
async fn best_matches(backend: &Backend<sqlx::Sqlite>, search: &FtsSearch, first: i64) -> Result<Option<Arc<str>>> {
    let key = format!("{first}\u{0}{}\u{0}{}", search.rank, search.matched.as_deref().unwrap_or(""));
    let generation = match backend.search_memo.best(&key) {
        Best::Unseen => return Ok(None),
        Best::Again(generation) => generation,
        Best::Known(best) => return Ok(Some(best)),
    };
    let mut sql = Sql::default();
    sql.push("SELECT rowid, ").push(SQLITE_SCORE).push(" AS score FROM prompts_fts WHERE prompts_fts MATCH ");
    sql.arg(Arg::Text(search.rank.clone()));
    search.push_matched(&mut sql, "rowid");
    sql.push(" ORDER BY score DESC LIMIT ").arg(Arg::Int(first));
    let rows: Vec<(i64, f64)> =
        on_reader!(@read backend, conn => bind_all!(sqlx::query_as(&sql.text), &sql.args).fetch_all(&mut *conn).await)
            .store()?;
    let best: Arc<str> = serde_json::to_string(&rows).map_err(|e| StoreError::Other(e.to_string()))?.into();
    backend.search_memo.remember_best(generation, key, best.clone());
    Ok(Some(best))
}

/// PostgreSQL's best `first` matches of the search `query` (`to_tsquery` text) in `org`, with the
/// organization's search generation they were read at ([`Matches::Kept`]), and the memo's key for
/// them: remembered for a search seen before, read now for one seen once, `None` for a new one
/// (or one that matches nothing).
/// `ts_rank_cd` weighs a match by its own words only, so they hold until the organization's
/// searchable text changes, whichever instance changes it: every change moves the generation on
/// (migration 0035).
async fn kept_matches(
    backend: &Backend<sqlx::Postgres>,
    org: OrgId,
    query: &str,
    first: i64,
) -> Result<Option<(String, Arc<str>)>> {
    let key = format!("{}\u{0}{first}\u{0}{query}", org.0);
    let generation = match backend.search_memo.best(&key) {
        Best::Unseen => return Ok(None),
        Best::Again(generation) => generation,
        Best::Known(kept) => return Ok(Some((key, kept))),
    };
    // One statement, so the generation and the matches are read from one snapshot.
    let sql = format!(
        "SELECT json_build_object('generation', COALESCE((SELECT generation FROM search_generations WHERE org_id = $1), 0), \
         'matches', COALESCE(json_agg(json_build_array(t.hit, t.score) ORDER BY t.score DESC, t.updated_at DESC, t.hit DESC), \
         '[]'))::text, count(*) FROM (SELECT s.prompt_id AS hit, ts_rank_cd(s.search, q)::float8 AS score, s.updated_at \
         FROM prompt_search s CROSS JOIN to_tsquery('simple', $2) q WHERE s.search @@ q AND s.org_id = $1 \
         ORDER BY score DESC, s.updated_at DESC, s.prompt_id DESC LIMIT {first}) t"
    );
    let (kept, found): (String, i64) = on_reader!(@read backend, conn => sqlx::query_as(&sql)
        .bind(org.0).bind(query).fetch_one(&mut *conn).await)
    .store()?;
    if found == 0 {
        // Nothing to rank: the search itself finds that out as fast.
        return Ok(None);
    }
    let kept: Arc<str> = kept.into();
    backend.search_memo.remember_best(generation, key.clone(), kept.clone());
    Ok(Some((key, kept)))
}

/// Whether `org`'s search generation is still the one `kept` matches were read at: a page read from
/// them comes back empty both when it moved on and when the filters leave none of them.
async fn kept_still_hold(backend: &Backend<sqlx::Postgres>, org: OrgId, kept: &str) -> Result<bool> {
    on_reader!(@read backend, conn => sqlx::query_scalar(
        "SELECT COALESCE((SELECT generation FROM search_generations WHERE org_id = $1), 0) \
         = (CAST($2 AS json)->>'generation')::bigint")
        .bind(org.0).bind(kept).fetch_one(&mut *conn).await)
    .store()
}

impl Db {
    async fn prompt_rows(&self, sql: &Sql) -> Result<Vec<PromptRow>> {
        on_reader!(self, conn => bind_all!(sqlx::query_as(&sql.text), &sql.args).fetch_all(conn).await).store()
    }

    /// Prompts' indexed text (title, description, body, tags) changed, or prompts were added or
    /// removed: words' document counts and typo lookups must be read again.
    pub(super) fn search_text_changed(&self) {
        self.search_memo().forget();
    }

    /// A page of a search of words by relevance, ranked in memory from the postings of its words
    /// (see [`super::postings`]): every match is scored there, and the best are read in order,
    /// with the filters, until the page is known. A search whose postings are remembered and whose
    /// first batch of matches holds its first page makes one read.
    ///
    /// Each statement checks the search generation the postings were read at. When it moved (this
    /// or another instance wrote), the organization's words are read again. Should they change
    /// under the search twice, its last attempt ranks from the postings it has just read without
    /// the check: under writes that never stop, the page as of a moment ago.
    async fn ranked_in_memory(&self, org: OrgId, filter: &PromptFilter, query: &Query) -> Result<Vec<PromptRow>> {
        const CHECKED_ATTEMPTS: usize = 2;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (generation, words, total) = self.search_postings(org, query).await?;
            let checked = (attempt <= CHECKED_ATTEMPTS).then_some(generation);
            let matches = postings::Matches::of(query, &words, total);
            if let Some(rows) = self.page_of_matches(org, filter, matches, checked).await? {
                return Ok(rows);
            }
            self.postings_memo().forget_org(org.0);
        }
    }

    /// The page of `matches` that `filter` asks for, read in batches of the best matches left;
    /// `None` when the organization's search generation is no longer `checked`.
    async fn page_of_matches(
        &self,
        org: OrgId,
        filter: &PromptFilter,
        mut matches: postings::Matches,
        checked: Option<i64>,
    ) -> Result<Option<Vec<PromptRow>>> {
        let moved = async || match checked {
            Some(generation) => self.search_generation_is(org, generation).await.map(|same| !same),
            None => Ok(false),
        };
        let offset = filter.offset.max(0) as usize;
        let wanted = offset + page_limit(filter) as usize;
        // Rows read whole (the first page's first batch), and every hit (score, doc, id) in the
        // order of the matches: by score, ties the newest prompt first. Matches are handed out in
        // that order, so the page is known once it is full.
        let mut whole: HashMap<Uuid, PromptRow> = HashMap::new();
        let mut hits: Vec<(f64, i64, Uuid)> = Vec::new();
        // Filters seldom leave a match out: a batch a little larger than the page usually holds it.
        let mut batch = wanted + 2;
        let mut first = offset == 0;
        if !matches.has_more() && moved().await? {
            // Nothing matched: the words may have come to prompts since they were read.
            return Ok(None);
        }
        while hits.len() < wanted && matches.has_more() {
            let next = matches.next_batch(batch);
            let score: HashMap<i64, f64> = next.iter().map(|(s, d)| (*d, *s)).collect();
            let docs: Vec<i64> = next.iter().map(|(_, d)| *d).collect();
            let found = if std::mem::take(&mut first) {
                let rows = self.prompt_rows(&in_memory_page_sql(self.dialect(), org, filter, &docs, checked)).await?;
                let found = rows.len();
                for row in rows {
                    let doc = row.doc.unwrap_or_default();
                    hits.push((score.get(&doc).copied().unwrap_or_default(), doc, row.id));
                    whole.insert(row.id, row);
                }
                found
            } else {
                let rows = self.matching_docs(org, filter, &docs, checked).await?;
                let found = rows.len();
                hits.extend(rows.into_iter().map(|(doc, id)| (score.get(&doc).copied().unwrap_or_default(), doc, id)));
                found
            };
            // Fewer rows than asked for: the filters left some out, or the words changed since
            // they were read, and the statement returned nothing.
            if found < docs.len() && moved().await? {
                return Ok(None);
            }
            hits.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
            hits.truncate(wanted);
            batch = (batch * 4).min(2_000);
        }
        let page: Vec<(f64, Uuid)> = hits.iter().skip(offset).map(|h| (h.0, h.2)).collect();
        let missing: Vec<Uuid> = page.iter().map(|(_, id)| *id).filter(|id| !whole.contains_key(id)).collect();
        if !missing.is_empty() {
            let mut sql = Sql::default();
            push_columns(&mut sql, filter, true);
            sql.push(" FROM prompts p JOIN users u ON u.id = p.author_id WHERE p.org_id = ")
                .arg(Arg::Uuid(org.0))
                .push(" AND p.id IN ")
                .in_list(&missing);
            whole.extend(self.prompt_rows(&sql).await?.into_iter().map(|row| (row.id, row)));
        }
        let rows = page
            .into_iter()
            .filter_map(|(score, id)| {
                let mut row = whole.remove(&id)?;
                row.score = Some(score);
                Some(row)
            })
            .collect();
        Ok(Some(rows))
    }

    /// The postings of `query`'s words in `org`, remembered or read now, with the organization's
    /// search generation they were read at and its count of prompts.
    async fn search_postings(
        &self,
        org: OrgId,
        query: &Query,
    ) -> Result<(i64, HashMap<String, Arc<WordPostings>>, i64)> {
        let keys = index_keys(query.groups.iter().flatten().chain(&query.excluded));
        let memo = self.postings_memo();
        let mut known = memo.lookup(org.0, &keys);
        if let Some(total) = known.total
            && known.missing.is_empty()
        {
            return Ok((known.generation, known.words, total));
        }
        let _reading = memo.reading(org.0, &known.missing).await;
        known = memo.lookup(org.0, &keys);
        if let Some(total) = known.total
            && known.missing.is_empty()
        {
            return Ok((known.generation, known.words, total));
        }
        let mut read = self.read_postings(org, &known.missing).await?;
        if read.0 != known.generation && !known.words.is_empty() {
            // What was remembered is of an earlier generation: every word is read at this one.
            known.words.clear();
            let all: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            read = self.read_postings(org, &all).await?;
        }
        let (generation, words, total) = read;
        memo.remember(org.0, generation, total, words.iter().map(|(k, p)| (k.clone(), p.clone())));
        known.words.extend(words);
        Ok((generation, known.words, total))
    }

    /// Every posting of the index keys `keys` in `org` (a key in no prompt: none), with the
    /// organization's search generation and count of prompts, in one
    /// statement, so that all are read at one generation.
    async fn read_postings(
        &self,
        org: OrgId,
        keys: &[String],
    ) -> Result<(i64, HashMap<String, Arc<WordPostings>>, i64)> {
        // Each word's postings as one text, `doc:impact` pairs (as `prompt_docs.postings` keeps a
        // prompt's): a common word's tens of thousands of postings are one value to hand over,
        // not as many rows. The generation's row has no word.
        let pairs = match self.dialect() {
            Dialect::Sqlite => "group_concat(s.doc || ':' || s.impact, ' ')",
            Dialect::Postgres => "string_agg(s.doc::text || ':' || s.impact::text, ' ')",
        };
        let mut sql = Sql::default();
        sql.push(&format!(
            "SELECT w.word, w.docs, (SELECT {pairs} FROM search_postings s WHERE s.word_id = w.id) AS postings \
             FROM search_words w WHERE w.org_id = "
        ))
        .arg(Arg::Uuid(org.0))
        .push(" AND w.word IN (")
        .arg(Arg::Text(String::new()));
        for key in keys {
            sql.push(", ").arg(Arg::Text(key.clone()));
        }
        sql.push(") UNION ALL SELECT NULL, COALESCE((SELECT generation FROM search_generations WHERE org_id = ")
            .arg(Arg::Uuid(org.0))
            .push("), 0), NULL");
        let rows: Vec<(Option<String>, i64, Option<String>)> =
            on_reader!(self, conn => bind_all!(sqlx::query_as(&sql.text), &sql.args).fetch_all(conn).await).store()?;
        let (mut generation, mut total) = (0, 0);
        let mut words: HashMap<String, Arc<WordPostings>> =
            keys.iter().map(|k| (k.clone(), Arc::new(WordPostings::default()))).collect();
        for (word, docs, postings) in rows {
            match word {
                None => generation = docs,
                Some(word) if word.is_empty() => total = docs,
                Some(word) => {
                    let postings = relevance::decode_postings(postings.as_deref().unwrap_or_default());
                    words.insert(word, Arc::new(WordPostings::new(docs, postings)));
                }
            }
        }
        Ok((generation, words, total))
    }

    /// Whether `org`'s search generation is still `generation`.
    async fn search_generation_is(&self, org: OrgId, generation: i64) -> Result<bool> {
        on_reader!(self, conn => sqlx::query_scalar(
            "SELECT COALESCE((SELECT generation FROM search_generations WHERE org_id = $1), 0) = $2")
            .bind(org.0).bind(generation).fetch_one(conn).await)
        .store()
    }

    /// The `doc`s and ids of the prompts of `org` among `docs` that pass the filters, at the
    /// search generation `generation` when given (a search ranked in memory: its later batches).
    async fn matching_docs(
        &self,
        org: OrgId,
        filter: &PromptFilter,
        docs: &[i64],
        generation: Option<i64>,
    ) -> Result<Vec<(i64, Uuid)>> {
        let dialect = self.dialect();
        let mut sql = Sql::default();
        sql.push("SELECT d.doc, p.id FROM prompt_docs d")
            .push(dialect.join_in_order())
            .push("prompts p ON p.id = d.prompt_id");
        push_matches_where(&mut sql, dialect, org, filter, docs, generation);
        on_reader!(self, conn => bind_all!(sqlx::query_as(&sql.text), &sql.args).fetch_all(conn).await).store()
    }

    /// Indexes for search the prompts not indexed yet (those of a database from before the index,
    /// migrations 0034 and 0036), 500 per transaction. Several instances starting at once share
    /// the work: each skips the prompts another holds.
    pub async fn index_waiting_prompts(&self) -> Result<u64> {
        let lock = self.dialect().lock_rows("d", true);
        let sql = format!(
            "SELECT p.org_id, p.id, p.title, p.description, p.body, p.tags FROM prompt_docs d \
             JOIN prompts p ON p.id = d.prompt_id WHERE d.postings IS NULL ORDER BY d.doc LIMIT 500{lock}"
        );
        let mut indexed = 0;
        loop {
            let n = on_pool!(self, pool => {
                let mut tx = pool.begin_write().await.store()?;
                let rows: Vec<(Uuid, Uuid, String, String, String, String)> =
                    sqlx::query_as(&sql).fetch_all(&mut *tx).await.store()?;
                let mut by_org: HashMap<Uuid, IndexWrites> = HashMap::new();
                for (org, id, title, description, body, tags) in &rows {
                    let writes = by_org.entry(*org).or_default();
                    index_doc!(tx, *org, writes, *id, [title.as_str(), description.as_str(), body.as_str(), tags.as_str()]);
                }
                for (org, writes) in &mut by_org {
                    write_index!(tx, *org, writes);
                }
                tx.commit().await.store()?;
                rows.len()
            });
            indexed += n as u64;
            if n < 500 {
                return Ok(indexed);
            }
        }
    }

    fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    fn postings_memo(&self) -> &PostingsMemo {
        match self {
            Db::Sqlite(backend) => &backend.postings,
            Db::Postgres(backend) => &backend.postings,
        }
    }

    fn search_memo(&self) -> &SearchMemo {
        match self {
            Db::Sqlite(backend) => &backend.search_memo,
            Db::Postgres(backend) => &backend.search_memo,
        }
    }
}

/// The index keys of `atoms`' words, sorted, each once.
fn index_keys<'a>(atoms: impl Iterator<Item = &'a Atom>) -> Vec<&'a str> {
    let mut keys: Vec<&str> = atoms
        .flat_map(|atom| match atom {
            Atom::Word(w) => vec![relevance::key(w)],
            Atom::Phrase(ws) => ws.iter().map(|w| relevance::key(w)).collect(),
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// At most this many words are read as a misspelling's candidates on SQLite (same first letter,
/// similar length); fewer are all there are, and then tell whether a word is a term.
const SQLITE_CANDIDATES: i64 = 2_000;

/// A match's relevance on SQLite: bm25 with the title weighted highest (title, description, body,
/// tags), negated so that higher is better.
const SQLITE_SCORE: &str = "-bm25(prompts_fts, 10.0, 4.0, 1.0, 4.0)";

/// Whether a page ranked from the best `first` matches is the page a search of every match gives.
/// It is when fewer than `first` matched (all were ranked), or when the page is full and its last
/// row scores above the lowest score kept: every match left out scores at most that, so none of
/// them could come before a row of the page (nor before the rows the offset skipped).
fn ranked_first_holds_the_page(rows: &[PromptRow], filter: &PromptFilter, first: i64) -> bool {
    let Some(last) = rows.last() else { return false };
    if last.ranked.is_some_and(|kept| kept < first) {
        return true;
    }
    rows.len() as i64 == page_limit(filter) && matches!((last.score, last.floor), (Some(s), Some(f)) if s > f)
}

#[async_trait]
impl PromptStore for Db {
    async fn prompt_count(&self, org: OrgId) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, pool => sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM prompts WHERE org_id = $1")
            .bind(org.0).fetch_one(pool).await.store()?);
        Ok(n)
    }

    async fn prompts(&self, org: OrgId, filter: &PromptFilter) -> Result<Vec<PromptRecord>> {
        let dialect = self.dialect();
        let query = filter.query.as_ref().filter(|q| !q.is_empty());
        let rows = match (self, query) {
            (_, None) => self.prompt_rows(&prompts_sql(dialect, org, filter, None)).await?,
            (_, Some(query)) if filter.sort == PromptSort::Relevance && postings::ranks(query) => {
                self.ranked_in_memory(org, filter, query).await?
            }
            (Db::Postgres(backend), Some(query)) => {
                let query = query.to_tsquery();
                let mut page = None;
                if let Some(first) = ranked_first(filter)
                    && let Some((key, kept)) = kept_matches(backend, org, &query, first).await?
                {
                    let rows = self.prompt_rows(&prompts_sql(dialect, org, filter, Some(Matches::Kept(&kept)))).await?;
                    if rows.is_empty() && !kept_still_hold(backend, org, &kept).await? {
                        backend.search_memo.forget_best(&key);
                    }
                    page = ranked_first_holds_the_page(&rows, filter, first).then_some(rows);
                }
                match page {
                    Some(rows) => rows,
                    None => self.prompt_rows(&prompts_sql(dialect, org, filter, Some(Matches::TsQuery(query)))).await?,
                }
            }
            (Db::Sqlite(backend), Some(query)) => {
                let search = fts_search(backend, query).await?;
                let mut page = None;
                if let Some(first) = ranked_first(filter) {
                    let best = best_matches(backend, &search, first).await?;
                    let matches = match &best {
                        Some(best) => Matches::Best(best),
                        None => Matches::Fts { search: &search, first: Some(first) },
                    };
                    let rows = self.prompt_rows(&prompts_sql(dialect, org, filter, Some(matches))).await?;
                    page = ranked_first_holds_the_page(&rows, filter, first).then_some(rows);
                }
                match page {
                    Some(rows) => rows,
                    None => {
                        self.prompt_rows(&prompts_sql(
                            self.dialect(),
                            org,
                            filter,
                            Some(Matches::Fts { search: &search, first: None }),
                        ))
                        .await?
                    }
                }
            }
        };
        Ok(rows.into_iter().map(PromptRecord::from).collect())
    }

    async fn prompt(&self, org: OrgId, id: Uuid) -> Result<Option<PromptRecord>> {
        let sql = format!(
            "SELECT {PROMPT_COLUMNS} FROM prompts p JOIN users u ON u.id = p.author_id WHERE p.org_id = $1 AND p.id = $2"
        );
        let row: Option<PromptRow> =
            on_reader!(self, conn => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_optional(conn).await).store()?;
        Ok(row.map(PromptRecord::from))
    }

    async fn prompt_seen_by(
        &self,
        org: OrgId,
        id: Uuid,
        user: UserId,
    ) -> Result<Option<(PromptRecord, Vec<LabelRecord>)>> {
        /// The prompt on every row, with one of its labels (none on a single row without labels).
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            prompt: PromptRow,
            label: Option<String>,
            label_version: Option<i32>,
            moved_by_name: Option<String>,
            moved_at: Option<DateTime<Utc>>,
        }
        let sql = format!(
            "SELECT {PROMPT_COLUMNS}, EXISTS (SELECT 1 FROM prompt_favorites f WHERE f.prompt_id = p.id AND f.user_id = $3) \
             AS favorite, l.label, l.version AS label_version, lu.display_name AS moved_by_name, l.moved_at \
             FROM prompts p JOIN users u ON u.id = p.author_id \
             LEFT JOIN prompt_labels l ON l.prompt_id = p.id LEFT JOIN users lu ON lu.id = l.moved_by \
             WHERE p.org_id = $1 AND p.id = $2 ORDER BY l.label"
        );
        let rows: Vec<Row> = on_reader!(self, conn => sqlx::query_as(&sql)
            .bind(org.0).bind(id).bind(user.0).fetch_all(conn).await)
        .store()?;
        let labels = rows
            .iter()
            .filter_map(|r| {
                Some(LabelRecord {
                    label: r.label.clone()?,
                    version: r.label_version?,
                    moved_by_name: r.moved_by_name.clone()?,
                    moved_at: r.moved_at?,
                })
            })
            .collect();
        Ok(rows.into_iter().next().map(|r| (PromptRecord::from(r.prompt), labels)))
    }

    async fn public_prompt(&self, id: Uuid) -> Result<Option<(PromptRecord, String)>> {
        #[derive(FromRow)]
        struct PublicRow {
            #[sqlx(flatten)]
            prompt: PromptRow,
            org_name: String,
        }
        let sql = format!(
            "SELECT {PROMPT_COLUMNS}, o.name AS org_name FROM prompts p JOIN users u ON u.id = p.author_id \
             JOIN organizations o ON o.id = p.org_id \
             WHERE p.id = $1 AND p.visibility = 'public' AND p.status = 'published'"
        );
        let row: Option<PublicRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(|r| (PromptRecord::from(r.prompt), r.org_name)))
    }

    async fn save_prompt(&self, save: &PromptSave<'_>) -> Result<i32> {
        let f = save.fields;
        let variables = json(&f.variables)?;
        let tags = f.tags.join(" ");
        let terms = vocabulary(f);
        let saved = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let version = match save.base_version {
                None => {
                    insert_prompt!(&mut *tx, save.org.0, save.id, save.author.0, f, &tags, &variables, 1, None::<Uuid>, save.at, save.at);
                    1
                }
                Some(base) => {
                    let updated = sqlx::query(
                        "UPDATE prompts SET title = $4, description = $5, body = $6, status = $7, visibility = $8, \
                         category = $9, tags = $10, variables = $11, model = $12, temperature = $13, max_tokens = $14, \
                         version = version + 1, updated_at = $15 WHERE org_id = $1 AND id = $2 AND version = $3",
                    )
                    .bind(save.org.0).bind(save.id).bind(base).bind(&f.title).bind(&f.description).bind(&f.body)
                    .bind(f.status.as_str()).bind(f.visibility.as_str()).bind(&f.category).bind(&tags)
                    .bind(&variables).bind(&f.model.model).bind(f.model.temperature).bind(f.model.max_tokens)
                    .bind(save.at)
                    .execute(&mut *tx).await.store()?.rows_affected();
                    if updated == 0 {
                        let exists: Option<(i32,)> = sqlx::query_as("SELECT version FROM prompts WHERE org_id = $1 AND id = $2")
                            .bind(save.org.0).bind(save.id).fetch_optional(&mut *tx).await.store()?;
                        return Err(match exists {
                            None => StoreError::NotFound,
                            Some((current,)) => StoreError::Conflict(format!(
                                "Someone saved version {current} while you were editing version {base}. Reload to see it."
                            )),
                        });
                    }
                    base + 1
                }
            };
            insert_version!(&mut *tx, save.id, version, f.title, f.description, f.body, &variables, f.model,
                save.author.0, save.change_note, save.at);
            sqlx::query("DELETE FROM prompt_tags WHERE prompt_id = $1").bind(save.id).execute(&mut *tx).await.store()?;
            index_prompt!(&mut *tx, save.org.0, save.id, &f.tags, &terms);
            let mut writes = IndexWrites::default();
            index_doc!(tx, save.org.0, writes, save.id, [f.title.as_str(), f.description.as_str(), f.body.as_str(), tags.as_str()]);
            write_index!(tx, save.org.0, writes);
            tx.commit().await.store()?;
            Ok(version)
        });
        self.search_text_changed();
        saved
    }

    async fn import_library(&self, import: &LibraryImport) -> Result<()> {
        let org = import.org.0;
        let imported = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            for c in &import.collections {
                sqlx::query("INSERT INTO collections (id, org_id, parent_id, name, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(c.id).bind(org).bind(c.parent_id).bind(&c.name).bind(c.created_at)
                    .execute(&mut *tx).await.store()?;
            }
            for c in &import.categories {
                sqlx::query("INSERT INTO categories (org_id, name, color, icon, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(org).bind(&c.name).bind(&c.color).bind(&c.icon).bind(c.created_at)
                    .execute(&mut *tx).await.store()?;
            }
            let mut writes = IndexWrites::default();
            for p in &import.prompts {
                let f = &p.fields;
                let current = p.versions.last().map_or(1, |v| v.number);
                let tags = f.tags.join(" ");
                insert_prompt!(&mut *tx, org, p.id, import.author.0, f, &tags, &json(&f.variables)?, current,
                    p.collection_id, p.created_at, p.updated_at);
                for v in &p.versions {
                    insert_version!(&mut *tx, p.id, v.number, v.title, v.description, v.body, &json(&v.variables)?,
                        v.model, import.author.0, &v.change_note, v.created_at);
                }
                for (label, version) in &p.labels {
                    sqlx::query("INSERT INTO prompt_labels (prompt_id, label, version, moved_by, moved_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(p.id).bind(label).bind(version).bind(import.author.0).bind(import.at)
                        .execute(&mut *tx).await.store()?;
                }
                index_prompt!(&mut *tx, org, p.id, &f.tags, &vocabulary(f));
                index_doc!(tx, org, writes, p.id, [f.title.as_str(), f.description.as_str(), f.body.as_str(), tags.as_str()]);
                for c in &p.comments {
                    sqlx::query(
                        "INSERT INTO prompt_comments (id, org_id, prompt_id, parent_id, author_id, body, created_at, \
                         edited_at, deleted_at, imported_author) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                        .bind(c.id).bind(org).bind(p.id).bind(c.parent_id).bind(import.author.0).bind(&c.body)
                        .bind(c.created_at).bind(c.edited_at).bind(c.deleted_at).bind(&c.author_name)
                        .execute(&mut *tx).await.store()?;
                }
            }
            write_index!(tx, org, writes);
            tx.commit().await.store()
        });
        self.search_text_changed();
        imported
    }

    async fn delete_prompt(&self, org: OrgId, id: Uuid) -> Result<()> {
        let lock = self.dialect().lock_rows("d", false);
        let deleted = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let mut writes = IndexWrites::default();
            unindex_doc!(tx, org.0, writes, id, lock);
            write_index!(tx, org.0, writes);
            let deleted = sqlx::query("DELETE FROM prompts WHERE org_id = $1 AND id = $2")
                .bind(org.0).bind(id).execute(&mut *tx).await.store()?.rows_affected();
            tx.commit().await.store()?;
            deleted
        });
        self.search_text_changed();
        if deleted == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn prompt_versions(&self, org: OrgId, id: Uuid) -> Result<Vec<PromptVersionRecord>> {
        let sql = format!("{VERSION_SELECT} ORDER BY v.number DESC");
        let rows: Vec<VersionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn prompt_version(&self, org: OrgId, id: Uuid, number: i32) -> Result<Option<PromptVersionRecord>> {
        let sql = format!("{VERSION_SELECT} AND v.number = $3");
        let row: Option<VersionRow> = on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).bind(number)
            .fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn prompt_labels(&self, org: OrgId, id: Uuid) -> Result<Vec<LabelRecord>> {
        let rows: Vec<(String, i32, String, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT l.label, l.version, u.display_name, l.moved_at FROM prompt_labels l \
             JOIN prompts p ON p.id = l.prompt_id JOIN users u ON u.id = l.moved_by \
             WHERE p.org_id = $1 AND l.prompt_id = $2 ORDER BY l.label")
            .bind(org.0).bind(id).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(label, version, moved_by_name, moved_at)| LabelRecord { label, version, moved_by_name, moved_at })
            .collect())
    }

    async fn set_prompt_label(
        &self,
        org: OrgId,
        id: Uuid,
        label: &str,
        version: i32,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        // The version must exist and belong to a prompt of this organization.
        let found: Option<(i32,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT v.number FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id \
             WHERE p.org_id = $1 AND v.prompt_id = $2 AND v.number = $3")
            .bind(org.0).bind(id).bind(version).fetch_optional(pool).await.store()?);
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO prompt_labels (prompt_id, label, version, moved_by, moved_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (prompt_id, label) DO UPDATE SET version = excluded.version, moved_by = excluded.moved_by, \
             moved_at = excluded.moved_at")
            .bind(id).bind(label).bind(version).bind(by.0).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn remove_prompt_label(&self, org: OrgId, id: Uuid, label: &str) -> Result<bool> {
        let removed = on_pool!(self, pool => sqlx::query(
            "DELETE FROM prompt_labels WHERE prompt_id = $2 AND label = $3 \
             AND prompt_id IN (SELECT id FROM prompts WHERE org_id = $1)")
            .bind(org.0).bind(id).bind(label).execute(pool).await.store()?.rows_affected());
        Ok(removed > 0)
    }

    async fn add_prompt_counts(&self, counts: &[PromptCounts]) -> Result<()> {
        // A flush holds a count for every prompt read in the last second, thousands under load:
        // written a chunk per statement (two statements a chunk, not two a prompt), in one
        // transaction. Full chunks share one SQL text, so they are prepared once per connection.
        const CHUNK: usize = 64;
        // PostgreSQL: the chunk's prompts are locked first in the order the flush is sorted in,
        // so two instances flushing the same prompts wait for each other instead of deadlocking
        // (a day's row is only written under its prompt's lock).
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            for chunk in counts.chunks(CHUNK) {
                if let Db::Postgres(_) = self {
                    let ids: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let lock = format!(
                        "SELECT 1 FROM prompts WHERE id IN ({}) ORDER BY org_id, id FOR NO KEY UPDATE",
                        ids.join(", ")
                    );
                    let lock = chunk.iter().fold(sqlx::query(&lock), |q, c| q.bind(c.prompt));
                    lock.execute(&mut *tx).await.store()?;
                }
                let (total, daily) = count_statements(chunk.len());
                let total = chunk.iter().fold(sqlx::query(&total), |q, c| {
                    q.bind(c.org.0).bind(c.prompt).bind(c.views).bind(c.uses)
                });
                total.execute(&mut *tx).await.store()?;
                let daily = chunk.iter().fold(sqlx::query(&daily), |q, c| {
                    q.bind(c.org.0).bind(c.prompt).bind(&c.day).bind(c.views).bind(c.uses)
                });
                daily.execute(&mut *tx).await.store()?;
            }
            tx.commit().await.store()
        })
    }

    async fn term_candidates(&self, org: OrgId, word: &str) -> Result<Arc<[String]>> {
        let len = word.chars().count() as i64;
        let first: String = word.chars().take(1).collect();
        // SQLite's lookup depends on the word's first letter and length only: misspellings share it.
        let key = match self {
            Db::Sqlite(_) => format!("{first}\u{0}{len}"),
            Db::Postgres(_) => word.to_owned(),
        };
        let generation = match self.search_memo().candidates(org.0, &key) {
            Recall::Known(words) => return Ok(words),
            Recall::Unknown(generation) => generation,
        };
        let rows: Vec<(String,)> = match self {
            // Same first letter, similar length: the usual shape of a typo, and an index range scan.
            Db::Sqlite(backend) => on_reader!(@read backend, conn => sqlx::query_as(
                "SELECT term FROM search_terms WHERE org_id = $1 AND term >= $2 AND term < $3 \
                 AND length(term) BETWEEN $4 AND $5 ORDER BY term LIMIT $6")
                .bind(org.0)
                .bind(&first)
                .bind(format!("{first}\u{10FFFF}"))
                .bind(len - 2)
                .bind(len + 2)
                .bind(SQLITE_CANDIDATES)
                .fetch_all(&mut *conn)
                .await),
            // Trigrams in common, the same first letter ([`app::domain::search::near_words`]).
            Db::Postgres(backend) => on_reader!(@read backend, conn => sqlx::query_as(
                "SELECT term FROM search_terms WHERE org_id = $1 AND term % $2 AND left(term, 1) = left($2, 1) \
                 AND length(term) BETWEEN $3 AND $4 ORDER BY similarity(term, $2) DESC LIMIT 200")
                .bind(org.0)
                .bind(word)
                .bind(len - 2)
                .bind(len + 2)
                .fetch_all(&mut *conn)
                .await),
        }
        .store()?;
        let words: Arc<[String]> = rows.into_iter().map(|(t,)| t).collect();
        self.search_memo().remember_candidates(generation, org.0, key, words.clone());
        Ok(words)
    }

    async fn has_term(&self, org: OrgId, word: &str) -> Result<bool> {
        // On SQLite the word is among its own candidates when it is a term, and those are
        // remembered by first letter and length: one read answers for every word of that shape.
        if let Db::Sqlite(_) = self
            && typo_distance(word) > 0
        {
            let candidates = self.term_candidates(org, word).await?;
            if (candidates.len() as i64) < SQLITE_CANDIDATES {
                return Ok(candidates.binary_search_by(|c| c.as_str().cmp(word)).is_ok());
            }
        }
        let generation = match self.search_memo().term(org.0, word) {
            Recall::Known(there) => return Ok(there),
            Recall::Unknown(generation) => generation,
        };
        let row: Option<(i32,)> = on_reader!(self, conn => sqlx::query_as(
            "SELECT 1 FROM search_terms WHERE org_id = $1 AND term = $2")
            .bind(org.0).bind(word).fetch_optional(conn).await)
        .store()?;
        self.search_memo().remember_term(generation, org.0, word, row.is_some());
        Ok(row.is_some())
    }

    async fn collections(&self, org: OrgId) -> Result<Vec<CollectionRecord>> {
        let rows: Vec<(Uuid, Option<Uuid>, String, i64, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT c.id, c.parent_id, c.name, \
             (SELECT COUNT(*) FROM prompts p WHERE p.collection_id = c.id) AS prompt_count, c.created_at \
             FROM collections c WHERE c.org_id = $1 ORDER BY c.name, c.id")
            .bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(id, parent_id, name, prompt_count, created_at)| CollectionRecord {
                id,
                parent_id,
                name,
                prompt_count,
                created_at,
            })
            .collect())
    }

    async fn create_collection(&self, org: OrgId, c: &CollectionRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO collections (id, org_id, parent_id, name, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(c.id).bind(org.0).bind(c.parent_id).bind(&c.name).bind(c.created_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn update_collection(&self, org: OrgId, id: Uuid, name: &str, parent: Option<Uuid>) -> Result<()> {
        let changed = on_pool!(self, pool => sqlx::query(
            "UPDATE collections SET name = $3, parent_id = $4 WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(id).bind(name).bind(parent).execute(pool).await.store()?.rows_affected());
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn delete_collection(&self, org: OrgId, id: Uuid) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let (inside,): (i64,) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM prompts WHERE collection_id = $1) \
                 + (SELECT COUNT(*) FROM collections WHERE parent_id = $1)")
                .bind(id).fetch_one(&mut *tx).await.store()?;
            if inside > 0 {
                return Err(StoreError::Conflict("Move or delete what is inside the collection first.".into()));
            }
            let deleted = sqlx::query("DELETE FROM collections WHERE org_id = $1 AND id = $2")
                .bind(org.0).bind(id).execute(&mut *tx).await.store()?.rows_affected();
            tx.commit().await.store()?;
            if deleted == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
    }

    async fn move_prompts(&self, org: OrgId, ids: &[Uuid], collection: Option<Uuid>) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut sql = Sql::default();
        sql.push("UPDATE prompts SET collection_id = ");
        match collection {
            Some(c) => sql.arg(Arg::Uuid(c)),
            None => sql.push("NULL"),
        };
        sql.push(" WHERE org_id = ").arg(Arg::Uuid(org.0)).push(" AND id IN ").in_list(ids);
        on_pool!(self, pool => bind_all!(sqlx::query(&sql.text), &sql.args).execute(pool).await.store().map(|r| r.rows_affected()))
    }

    async fn set_prompt_tags(&self, org: OrgId, id: Uuid, tags: &[String]) -> Result<()> {
        let tagged = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let joined = tags.join(" ");
            let text: Option<(String, String, String)> = sqlx::query_as(
                "UPDATE prompts SET tags = $3 WHERE org_id = $1 AND id = $2 RETURNING title, description, body")
                .bind(org.0).bind(id).bind(&joined).fetch_optional(&mut *tx).await.store()?;
            let Some((title, description, body)) = text else {
                return Err(StoreError::NotFound);
            };
            let mut writes = IndexWrites::default();
            index_doc!(tx, org.0, writes, id, [title.as_str(), description.as_str(), body.as_str(), joined.as_str()]);
            write_index!(tx, org.0, writes);
            sqlx::query("DELETE FROM prompt_tags WHERE prompt_id = $1").bind(id).execute(&mut *tx).await.store()?;
            for tag in tags {
                sqlx::query("INSERT INTO prompt_tags (prompt_id, org_id, tag) VALUES ($1, $2, $3)")
                    .bind(id).bind(org.0).bind(tag).execute(&mut *tx).await.store()?;
                for word in words(tag).into_iter().filter(|w| (3..=40).contains(&w.chars().count())) {
                    sqlx::query("INSERT INTO search_terms (org_id, term) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(org.0).bind(word).execute(&mut *tx).await.store()?;
                }
            }
            tx.commit().await.store()
        });
        self.search_text_changed();
        tagged
    }

    async fn set_prompt_status(&self, org: OrgId, ids: &[Uuid], status: PromptStatus) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut sql = Sql::default();
        sql.push("UPDATE prompts SET status = ")
            .arg(Arg::Text(status.as_str().to_owned()))
            .push(" WHERE org_id = ")
            .arg(Arg::Uuid(org.0))
            .push(" AND id IN ")
            .in_list(ids);
        on_pool!(self, pool => bind_all!(sqlx::query(&sql.text), &sql.args).execute(pool).await.store().map(|r| r.rows_affected()))
    }

    async fn set_favorite(&self, org: OrgId, id: Uuid, user: UserId, on: bool, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let changed = if on {
                sqlx::query(
                    "INSERT INTO prompt_favorites (prompt_id, user_id, created_at) \
                     SELECT id, $3, $4 FROM prompts WHERE org_id = $1 AND id = $2 ON CONFLICT DO NOTHING")
                    .bind(org.0).bind(id).bind(user.0).bind(at).execute(&mut *tx).await.store()?.rows_affected()
            } else {
                sqlx::query("DELETE FROM prompt_favorites WHERE prompt_id = $1 AND user_id = $2")
                    .bind(id).bind(user.0).execute(&mut *tx).await.store()?.rows_affected()
            };
            if changed > 0 {
                sqlx::query(
                    "UPDATE prompts SET favorite_count = (SELECT COUNT(*) FROM prompt_favorites WHERE prompt_id = $2) \
                     WHERE org_id = $1 AND id = $2")
                    .bind(org.0).bind(id).execute(&mut *tx).await.store()?;
            }
            tx.commit().await.store()
        })
    }

    async fn tag_counts(&self, org: OrgId) -> Result<Vec<(String, i64)>> {
        on_pool!(self, pool => sqlx::query_as(
            "SELECT tag, COUNT(*) AS n FROM prompt_tags WHERE org_id = $1 GROUP BY tag ORDER BY n DESC, tag LIMIT 500")
            .bind(org.0).fetch_all(pool).await.store())
    }

    async fn categories(&self, org: OrgId) -> Result<Vec<CategoryRecord>> {
        let rows: Vec<(String, String, String, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT name, color, icon, created_at FROM categories WHERE org_id = $1 ORDER BY name")
            .bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(name, color, icon, created_at)| CategoryRecord { name, color, icon, created_at })
            .collect())
    }

    async fn save_category(&self, org: OrgId, c: &CategoryRecord) -> Result<()> {
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO categories (org_id, name, color, icon, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id, name) DO UPDATE SET color = excluded.color, icon = excluded.icon")
            .bind(org.0).bind(&c.name).bind(&c.color).bind(&c.icon).bind(c.created_at)
            .execute(pool).await.store().map(|_| ()))
    }

    async fn delete_category(&self, org: OrgId, name: &str) -> Result<bool> {
        on_pool!(self, pool => sqlx::query("DELETE FROM categories WHERE org_id = $1 AND name = $2")
            .bind(org.0).bind(name).execute(pool).await.store().map(|r| r.rows_affected() > 0))
    }
}

/// The two statements that add `rows` prompts' counts: to the prompts' totals, and to their day's
/// row (counts of prompts deleted meanwhile are dropped). Both backends read the same SQL.
fn count_statements(rows: usize) -> (String, String) {
    let values = |width: usize| {
        (0..rows)
            .map(|r| {
                let params: Vec<String> = (1..=width).map(|i| format!("${}", r * width + i)).collect();
                format!("({})", params.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // A prompt may have two days' counts in one flush (across midnight): summed before the update,
    // which would otherwise take one of them.
    let total = format!(
        "WITH c (org_id, id, views, uses) AS (VALUES {}) \
         UPDATE prompts SET view_count = view_count + s.views, use_count = use_count + s.uses \
         FROM (SELECT org_id, id, CAST(SUM(views) AS BIGINT) AS views, CAST(SUM(uses) AS BIGINT) AS uses \
         FROM c GROUP BY org_id, id) s \
         WHERE prompts.org_id = s.org_id AND prompts.id = s.id",
        values(4)
    );
    let daily = format!(
        "WITH c (org_id, id, day, views, uses) AS (VALUES {}) \
         INSERT INTO prompt_usage_daily (org_id, prompt_id, day, views, uses) \
         SELECT c.org_id, c.id, c.day, c.views, c.uses FROM c JOIN prompts p ON p.org_id = c.org_id AND p.id = c.id \
         WHERE TRUE ON CONFLICT (org_id, prompt_id, day) DO UPDATE \
         SET views = prompt_usage_daily.views + excluded.views, uses = prompt_usage_daily.uses + excluded.uses",
        values(5)
    );
    (total, daily)
}
