//! Users, their platform roles, capabilities, two-factor secrets and recovery codes.

use super::sql::{Sql, bind_all};
use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{CapabilityRole, Email, PlatformRole, UserId};
use app::ports::{NewUser, OrgRecord, UserName, UserRecord, UserStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    display_name: String,
    password_hash: Option<String>,
    email_verified_at: Option<DateTime<Utc>>,
    timezone: String,
    totp_secret: Option<String>,
    totp_enabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str =
    "id, email, display_name, password_hash, email_verified_at, timezone, totp_secret, totp_enabled_at, created_at";

impl Db {
    async fn load_user(&self, row: Option<UserRow>) -> Result<Option<UserRecord>> {
        let Some(row) = row else { return Ok(None) };
        let (platform, capabilities): (Vec<(String,)>, Vec<(String,)>) = on_pool!(self, pool => {
            let platform = sqlx::query_as("SELECT role FROM user_platform_roles WHERE user_id = $1")
                .bind(row.id).fetch_all(pool).await.store()?;
            let capabilities = sqlx::query_as("SELECT capability FROM user_capabilities WHERE user_id = $1")
                .bind(row.id).fetch_all(pool).await.store()?;
            (platform, capabilities)
        });
        Ok(Some(user_record(
            row,
            platform.iter().filter_map(|(r,)| PlatformRole::parse(r).ok()).collect(),
            capabilities.iter().filter_map(|(c,)| CapabilityRole::parse(c).ok()).collect(),
        )))
    }
}

fn user_record(row: UserRow, platform_roles: Vec<PlatformRole>, capabilities: Vec<CapabilityRole>) -> UserRecord {
    UserRecord {
        id: UserId(row.id),
        email: row.email,
        display_name: row.display_name,
        password_hash: row.password_hash,
        email_verified_at: row.email_verified_at,
        timezone: row.timezone,
        totp_secret: row.totp_secret,
        totp_enabled_at: row.totp_enabled_at,
        platform_roles,
        capabilities,
        created_at: row.created_at,
    }
}

#[async_trait]
impl UserStore for Db {
    async fn create_user(&self, user: &NewUser, org: &OrgRecord) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query("INSERT INTO users (id, email, display_name, password_hash, email_verified_at, timezone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(user.id.0).bind(user.email.as_str()).bind(&user.display_name).bind(&user.password_hash)
                .bind(user.email_verified_at).bind(&user.timezone).bind(user.created_at)
                .execute(&mut *tx).await.store()?;
            sqlx::query("INSERT INTO organizations (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
                .bind(org.id.0).bind(&org.name).bind(org.kind.as_str()).bind(org.created_at)
                .execute(&mut *tx).await.store()?;
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, enterprise_admin, created_at) VALUES ($1, $2, 'owner', FALSE, $3)")
                .bind(org.id.0).bind(user.id.0).bind(org.created_at)
                .execute(&mut *tx).await.store()?;
            tx.commit().await.store()
        })
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row: Option<UserRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(pool).await.store()?);
        self.load_user(row).await
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row: Option<UserRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await.store()?);
        self.load_user(row).await
    }

    async fn user_names(&self, ids: &[UserId]) -> Result<Vec<UserName>> {
        let mut ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut names = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut sql = Sql::default();
            sql.push("SELECT id, email, display_name FROM users WHERE id IN ").in_list(chunk);
            let rows: Vec<(Uuid, String, String)> =
                on_pool!(self, pool => bind_all!(sqlx::query_as(&sql.text), &sql.args).fetch_all(pool).await.store()?);
            names.extend(rows.into_iter().map(|(id, email, display_name)| UserName {
                id: UserId(id),
                email,
                display_name,
            }));
        }
        Ok(names)
    }

    async fn mark_email_verified(&self, id: UserId, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $1")
            .bind(id.0).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id.0).bind(hash).execute(pool).await.store().map(|_| ()))
    }

    async fn update_profile(&self, id: UserId, display_name: &str, timezone: &str) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE users SET display_name = $2, timezone = $3 WHERE id = $1")
            .bind(id.0).bind(display_name).bind(timezone).execute(pool).await.store().map(|_| ()))
    }

    async fn set_totp(&self, id: UserId, secret: Option<&str>, enabled_at: Option<DateTime<Utc>>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE users SET totp_secret = $2, totp_enabled_at = $3 WHERE id = $1")
            .bind(id.0).bind(secret).bind(enabled_at).execute(pool).await.store().map(|_| ()))
    }

    async fn replace_recovery_codes(&self, id: UserId, code_hashes: &[String]) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(id.0).execute(&mut *tx).await.store()?;
            for hash in code_hashes {
                sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                    .bind(id.0).bind(hash).execute(&mut *tx).await.store()?;
            }
            tx.commit().await.store()
        })
    }

    async fn use_recovery_code(&self, id: UserId, code_hash: &str, at: DateTime<Utc>) -> Result<bool> {
        on_pool!(self, pool => sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(id.0).bind(code_hash).bind(at).execute(pool).await.store().map(|r| r.rows_affected() == 1))
    }

    async fn grant_platform_role(&self, id: UserId, role: PlatformRole) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO user_platform_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id.0).bind(role.as_str()).execute(pool).await.store().map(|_| ()))
    }

    async fn grant_capability(&self, id: UserId, capability: CapabilityRole) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO user_capabilities (user_id, capability) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id.0).bind(capability.as_str()).execute(pool).await.store().map(|_| ()))
    }

    async fn revoke_platform_role(&self, id: UserId, role: PlatformRole) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM user_platform_roles WHERE user_id = $1 AND role = $2")
            .bind(id.0).bind(role.as_str()).execute(pool).await.store().map(|_| ()))
    }

    async fn revoke_capability(&self, id: UserId, capability: CapabilityRole) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM user_capabilities WHERE user_id = $1 AND capability = $2")
            .bind(id.0).bind(capability.as_str()).execute(pool).await.store().map(|_| ()))
    }

    async fn search_users(&self, search: &str, limit: i64) -> Result<Vec<UserRecord>> {
        let pattern =
            format!("%{}%", search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email LIKE $1 ESCAPE '\\' OR LOWER(display_name) LIKE $1 ESCAPE '\\' ORDER BY created_at, email LIMIT $2"
        );
        // Three queries for the whole page, not two per user.
        let (rows, platform, capabilities): (Vec<UserRow>, Vec<(Uuid, String)>, Vec<(Uuid, String)>) = on_pool!(self, pool => {
            let rows = sqlx::query_as(&sql).bind(&pattern).bind(limit).fetch_all(pool).await.store()?;
            let platform = sqlx::query_as("SELECT user_id, role FROM user_platform_roles").fetch_all(pool).await.store()?;
            let capabilities = sqlx::query_as("SELECT user_id, capability FROM user_capabilities").fetch_all(pool).await.store()?;
            (rows, platform, capabilities)
        });
        Ok(rows
            .into_iter()
            .map(|row| {
                let platform_roles = platform
                    .iter()
                    .filter(|(u, _)| *u == row.id)
                    .filter_map(|(_, r)| PlatformRole::parse(r).ok())
                    .collect();
                let capabilities = capabilities
                    .iter()
                    .filter(|(u, _)| *u == row.id)
                    .filter_map(|(_, c)| CapabilityRole::parse(c).ok())
                    .collect();
                user_record(row, platform_roles, capabilities)
            })
            .collect())
    }

    async fn count_users(&self) -> Result<i64> {
        on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await.store())
    }
}
