//! Connections for the hottest reads (a prompt, a page of prompts, a search), kept outside sqlx's
//! pool.
//!
//! sqlx's pool pings every connection it takes back, on a task of its own, and that cannot be
//! turned off: one more round trip to SQLite's connection thread, or to PostgreSQL, after every
//! query, which costs about as much as a small read itself. A connection here goes back to the
//! idle list as it is once the read that used it has finished. One dropped mid-read (its request
//! went away) or whose read failed is closed instead, so no connection comes back in a state the
//! next read would trip over.

use sqlx::{ConnectOptions, Connection};
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

pub struct Readers<C: Connection> {
    options: <C as Connection>::Options,
    idle: Mutex<Vec<C>>,
    permits: Semaphore,
}

impl<C: Connection> std::fmt::Debug for Readers<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("available", &self.permits.available_permits()).finish_non_exhaustive()
    }
}

impl<C: Connection> Readers<C> {
    /// At most `size` connections, opened when first needed with `options`.
    pub fn new(options: <C as Connection>::Options, size: usize) -> Self {
        Self { options, idle: Mutex::new(Vec::with_capacity(size)), permits: Semaphore::new(size) }
    }

    /// An idle connection, or a new one while there are fewer than `size`; otherwise waits for one.
    pub async fn get(&self) -> Result<Reader<'_, C>, sqlx::Error> {
        let permit = self.permits.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(Reader { readers: self, conn: Some(conn), _permit: permit })
    }

    /// Closes the idle connections (those in use close when their reads end).
    pub async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for conn in idle {
            let _ = conn.close().await;
        }
    }
}

/// A connection lent for one read; [`Reader::done`] gives it back.
pub struct Reader<'a, C: Connection> {
    readers: &'a Readers<C>,
    conn: Option<C>,
    _permit: SemaphorePermit<'a>,
}

impl<C: Connection> Reader<'_, C> {
    /// The read finished: the connection waits for the next one. A `Reader` dropped without this
    /// closes its connection.
    pub fn done(mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
    }
}

impl<C: Connection> Deref for Reader<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn.as_ref().expect("a reader holds its connection until dropped")
    }
}

impl<C: Connection> DerefMut for Reader<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().expect("a reader holds its connection until dropped")
    }
}

#[cfg(test)]
mod tests {
    use super::Readers;
    use sqlx::SqliteConnection;
    use sqlx::sqlite::SqliteConnectOptions;
    use std::time::Duration;

    #[tokio::test]
    async fn a_connection_is_lent_again_only_after_a_read_that_finished() {
        let dir = tempfile::tempdir().expect("a folder");
        let options = SqliteConnectOptions::new().filename(dir.path().join("readers.db")).create_if_missing(true);
        let readers = Readers::<SqliteConnection>::new(options, 2);
        // A temporary table lives as long as its connection: it tells connections apart.
        let mut reader = readers.get().await.expect("a connection");
        sqlx::query("CREATE TEMP TABLE mark (x)").execute(&mut *reader).await.expect("mark it");
        reader.done();
        let mut reader = readers.get().await.expect("a connection");
        sqlx::query("SELECT x FROM mark").fetch_all(&mut *reader).await.expect("the same connection");
        drop(reader);
        let mut reader = readers.get().await.expect("a connection");
        let read = sqlx::query("SELECT x FROM mark").fetch_all(&mut *reader).await;
        assert!(read.is_err(), "one dropped mid-read is closed, not lent again");

        let _other = readers.get().await.expect("a second connection");
        let third = tokio::time::timeout(Duration::from_millis(50), readers.get()).await;
        assert!(third.is_err(), "no more than two at once");
        drop(reader);
        assert!(readers.get().await.is_ok(), "one freed is lent");
    }
}
