//! Storage: one `Db` over SQLite or PostgreSQL, chosen from the URL at run time.
//!
//! The SQL is written once with `$1` placeholders, which both backends accept, and run on
//! whichever pool is open through `on_pool!`; the few statements whose dialects differ branch
//! explicitly. Each submodule implements one of the ports of `app::ports` for `Db`.

mod analytics;
mod api_keys;
mod audit;
mod billing;
mod collab;
mod journeys;
mod mail;
mod orgs;
mod postings;
mod prompts;
mod readers;
mod relevance;
mod search_weights;
mod searches;
mod sequences;
mod sessions;
mod sql;
mod test_panel;
mod users;
mod webhooks;

use app::ports::StoreError;
use readers::Readers;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Database, PgPool, Pool, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(Backend<sqlx::Sqlite>),
    Postgres(Backend<sqlx::Postgres>),
}

/// A database's pool, and the connections kept apart for the hottest reads ([`readers`]).
#[derive(Debug)]
pub struct Backend<DB: Database> {
    pub pool: Pool<DB>,
    readers: Arc<Readers<DB::Connection>>,
    /// What searches look up and may remember: words' document counts in the full-text index
    /// (SQLite), searches' best matches and typo tolerance's lookups in `search_terms` (both).
    search_memo: Arc<search_weights::SearchMemo>,
    /// The search index's postings of the words searched for ([`postings`]).
    postings: Arc<postings::PostingsMemo>,
}

impl<DB: Database> Clone for Backend<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            readers: self.readers.clone(),
            search_memo: self.search_memo.clone(),
            postings: self.postings.clone(),
        }
    }
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds. The body is compiled once per
/// backend, so it must only use SQL and types both accept.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(backend) => {
                let $pool = &backend.pool;
                $body
            }
            $crate::db::Db::Postgres(backend) => {
                let $pool = &backend.pool;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Like `on_pool!` for a single read on one of the backend's reader connections (`$conn`, a
/// `&mut` connection): the hot paths of the prompt library. `$body` evaluates to a
/// `Result<_, sqlx::Error>`; the connection is lent again only after a read that succeeded.
macro_rules! on_reader {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(backend) => $crate::db::on_reader!(@read backend, $conn => $body),
            $crate::db::Db::Postgres(backend) => $crate::db::on_reader!(@read backend, $conn => $body),
        }
    };
    (@read $backend:expr, $conn:ident => $body:expr) => {
        match $backend.readers.get().await {
            Ok(mut reader) => {
                let result = {
                    let $conn = &mut *reader;
                    $body
                };
                if result.is_ok() {
                    reader.done();
                }
                result
            }
            Err(err) => Err(err),
        }
    };
}
pub(crate) use on_reader;

impl<DB: Database> Backend<DB> {
    fn new(pool: Pool<DB>, options: <DB::Connection as sqlx::Connection>::Options, readers: usize) -> Self {
        Self {
            pool,
            readers: Arc::new(Readers::new(options, readers)),
            search_memo: Arc::default(),
            postings: Arc::default(),
        }
    }

    async fn close(&self) {
        self.readers.close().await;
        self.pool.close().await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL {0:?} names no backend this build supports: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("{backend} support is not compiled into this build (enable the `{backend}` feature)")]
    NotCompiled { backend: &'static str },
    #[error("could not open the database: {0}")]
    Open(#[from] sqlx::Error),
    #[error("could not run migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not index prompts for search: {0}")]
    Index(StoreError),
}

/// How many reader connections ([`readers`]) an instance keeps: `CAIRN_DB_READERS`, or the
/// backend's default. On SQLite each is a thread doing the read itself, so more of them than
/// the cores can keep busy only take turns (two per core; with eight on two cores a list's p95 was
/// 11.8 ms against 9.2-9.7 with three or four). PostgreSQL does the work in its own processes:
/// eight, which did better than four there.
fn readers(sqlite: bool) -> usize {
    let default = if sqlite { 2 * std::thread::available_parallelism().map_or(1, |n| n.get()) } else { 8 };
    std::env::var("CAIRN_DB_READERS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(default)
}

/// How much of a SQLite database file its connections map into memory to read it (1 GiB).
const SQLITE_MMAP_SIZE: u64 = 1 << 30;

impl Db {
    /// Opens a pool for the URL (`sqlite://…` or `postgres://…`) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let db = if url.starts_with("sqlite:") {
            if !cfg!(feature = "sqlite") {
                return Err(ConnectError::NotCompiled { backend: "sqlite" });
            }
            if let Some(path) = url.strip_prefix("sqlite://").map(|p| p.split('?').next().unwrap_or(p))
                && let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                let _ = std::fs::create_dir_all(parent);
            }
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                // Reads map the file instead of copying each page with a system call into the
                // connection's own cache (a bound, not an allocation: SQLite maps what it reads).
                .pragma("mmap_size", SQLITE_MMAP_SIZE.to_string());
            // A connection to a local file does not go stale: no ping (a round trip to the
            // connection's thread) before each use.
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await?;
            sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
            Db::Sqlite(Backend::new(pool, options, readers(true)))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            if !cfg!(feature = "postgres") {
                return Err(ConnectError::NotCompiled { backend: "postgres" });
            }
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await?;
            sqlx::migrate!("../migrations/postgres").run(&pool).await?;
            Db::Postgres(Backend::new(pool, options, readers(false)))
        } else {
            return Err(ConnectError::UnsupportedUrl(url.to_owned()));
        };
        db.index_waiting_prompts().await.map_err(ConnectError::Index)?;
        Ok(db)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A trivial query, for health checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(backend) => backend.close().await,
            Db::Postgres(backend) => backend.close().await,
        }
    }
}

/// Maps storage errors by kind, never by message.
pub(crate) fn store_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("already exists".into()),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        // PostgreSQL's text cannot hold NUL (SQLSTATE 22021); callers check text first, this is the backstop.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
            StoreError::Invalid("Text may not contain NUL characters.".into())
        }
        _ => StoreError::Other(err.to_string()),
    }
}

pub(crate) type StoreResult<T> = std::result::Result<T, StoreError>;

/// Starts a transaction that writes. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a deferred transaction that reads first and writes later fails with
/// `SQLITE_BUSY_SNAPSHOT` when another connection wrote in between, which waiting cannot cure.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = std::result::Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl Future<Output = std::result::Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = std::result::Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

/// `?` on sqlx results inside store methods.
pub(crate) trait OrStore<T> {
    fn store(self) -> StoreResult<T>;
}

impl<T> OrStore<T> for std::result::Result<T, sqlx::Error> {
    fn store(self) -> StoreResult<T> {
        self.map_err(store_err)
    }
}

#[cfg(test)]
mod tests {
    use super::{Db, SQLITE_MMAP_SIZE};

    /// The flags in `.cargo/config.toml` reach the bundled SQLite, and connections map the file.
    #[tokio::test]
    async fn sqlite_connections_share_no_global_page_cache_and_map_the_file() {
        let dir = tempfile::tempdir().expect("a folder");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("cairn.db").display())).await.expect("open");
        let Db::Sqlite(backend) = &db else { unreachable!("a SQLite URL") };
        let options: Vec<(String,)> =
            sqlx::query_as("PRAGMA compile_options").fetch_all(&backend.pool).await.expect("compile options");
        let options: Vec<&str> = options.iter().map(|(o,)| o.as_str()).collect();
        assert!(options.contains(&"ENABLE_FTS5"), "{options:?}");
        assert!(!options.contains(&"ENABLE_MEMORY_MANAGEMENT"), "one page cache group for all: {options:?}");
        assert!(options.contains(&"DEFAULT_MEMSTATUS=0"), "a global lock on every allocation: {options:?}");
        let (mmap,): (i64,) = sqlx::query_as("PRAGMA mmap_size").fetch_one(&backend.pool).await.expect("mmap_size");
        assert_eq!(mmap, SQLITE_MMAP_SIZE as i64);
        db.close().await;
    }
}
