//! Scratch databases for the benchmark and the crash test: a fresh SQLite file in a temporary
//! folder, or a fresh PostgreSQL database next to `CAIRN_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), removed again by [`Scratch::remove`].

use std::path::PathBuf;

pub struct Scratch {
    /// What `DATABASE_URL` would say.
    pub url: String,
    place: Place,
}

enum Place {
    Folder(PathBuf),
    Postgres { admin: sqlx::PgPool, name: String },
}

impl Scratch {
    /// Makes an empty database; `backend` is `sqlite` or `postgres`, `tag` names it.
    pub async fn create(backend: &str, tag: &str) -> Result<Self, sqlx::Error> {
        let name = format!("cairn_{tag}_{}", std::process::id());
        if backend == "postgres" {
            let admin_url = std::env::var("CAIRN_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let admin = sqlx::PgPool::connect(&admin_url).await?;
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await?;
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
            return Ok(Self { url: format!("{base}/{name}"), place: Place::Postgres { admin, name } });
        }
        let folder = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&folder).map_err(sqlx::Error::Io)?;
        Ok(Self { url: format!("sqlite://{}", folder.join("cairn.db").display()), place: Place::Folder(folder) })
    }

    /// Drops the database (best effort).
    pub async fn remove(self) {
        match self.place {
            Place::Postgres { admin, name } => {
                let _ = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await;
            }
            Place::Folder(folder) => {
                let _ = std::fs::remove_dir_all(folder);
            }
        }
    }
}
