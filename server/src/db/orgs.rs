//! Organizations, memberships, invitations and teams.

use super::{BeginWrite, Db, OrStore, StoreResult as Result, on_pool};
use app::domain::{OrgId, OrgKind, OrgRole, TeamId, UserId};
use app::ports::{InvitationRecord, MemberRecord, MembershipRecord, OrgRecord, OrgStore, StoreError, TeamRecord};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// Inside a write transaction: whether `org` has a seat free for one more person — fewer than
/// `seats` (`None`: no limit) members and, unless `members_only`, pending invitations other than
/// `except`. Takes the organization's row lock first (`lock`, from [`Db::org_lock`]), so that
/// transactions that each take a seat run one after the other.
macro_rules! seat_free {
    ($tx:expr, $lock:expr, $org:expr, $seats:expr, $now:expr, $except:expr, $members_only:expr) => {{
        match $seats {
            None => true,
            Some(seats) => {
                let org: OrgId = $org;
                sqlx::query($lock).bind(org.0).execute(&mut *$tx).await.store()?;
                let (taken,): (i64,) = sqlx::query_as(
                    "SELECT CAST((SELECT COUNT(*) FROM memberships WHERE org_id = $1) + \
                     (SELECT COUNT(*) FROM invitations WHERE org_id = $1 AND NOT $4 AND accepted_at IS NULL \
                     AND revoked_at IS NULL AND expires_at > $2 AND ($3 IS NULL OR id <> $3)) AS BIGINT)",
                )
                .bind(org.0)
                .bind($now)
                .bind($except)
                .bind($members_only)
                .fetch_one(&mut *$tx)
                .await
                .store()?;
                taken < seats
            }
        }
    }};
}

impl Db {
    /// Locks an organization's row for the rest of a write transaction: PostgreSQL's row lock;
    /// SQLite's write transaction holds the whole database already.
    fn org_lock(&self) -> &'static str {
        match self {
            Db::Postgres(_) => "SELECT id FROM organizations WHERE id = $1 FOR NO KEY UPDATE",
            Db::Sqlite(_) => "SELECT id FROM organizations WHERE id = $1",
        }
    }
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    id: Uuid,
    name: String,
    kind: String,
    created_at: DateTime<Utc>,
    role: String,
    enterprise_admin: bool,
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: Uuid,
    org_id: Uuid,
    org_name: String,
    email: String,
    role: String,
    invited_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<InvitationRow> for InvitationRecord {
    fn from(r: InvitationRow) -> Self {
        InvitationRecord {
            id: r.id,
            org_id: OrgId(r.org_id),
            org_name: r.org_name,
            email: r.email,
            role: OrgRole::parse(&r.role).unwrap_or(OrgRole::Viewer),
            invited_by: UserId(r.invited_by),
            created_at: r.created_at,
            expires_at: r.expires_at,
            accepted_at: r.accepted_at,
            revoked_at: r.revoked_at,
        }
    }
}

const MEMBERSHIP_SELECT: &str = "SELECT o.id, o.name, o.kind, o.created_at, m.role, m.enterprise_admin \
     FROM memberships m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1";

const INVITATION_SELECT: &str = "SELECT i.id, i.org_id, o.name AS org_name, i.email, i.role, i.invited_by, \
     i.created_at, i.expires_at, i.accepted_at, i.revoked_at FROM invitations i JOIN organizations o ON o.id = i.org_id";

pub(super) fn org_role(raw: &str) -> OrgRole {
    OrgRole::parse(raw).unwrap_or(OrgRole::Viewer)
}

impl Db {
    async fn memberships(&self, user: UserId, org: Option<OrgId>) -> Result<Vec<MembershipRecord>> {
        let sql = if org.is_some() {
            format!("{MEMBERSHIP_SELECT} AND m.org_id = $2 ORDER BY o.created_at")
        } else {
            format!("{MEMBERSHIP_SELECT} ORDER BY o.created_at")
        };
        let (rows, teams): (Vec<MembershipRow>, Vec<(Uuid, Uuid, bool)>) = on_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(user.0);
            if let Some(org) = org {
                query = query.bind(org.0);
            }
            let rows = query.fetch_all(pool).await.store()?;
            let teams = sqlx::query_as("SELECT org_id, team_id, leader FROM team_members WHERE user_id = $1")
                .bind(user.0).fetch_all(pool).await.store()?;
            (rows, teams)
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                let in_org = teams.iter().filter(|(org, _, _)| *org == r.id);
                MembershipRecord {
                    teams: in_org.clone().map(|(_, team, _)| TeamId(*team)).collect(),
                    led_teams: in_org.filter(|(_, _, leader)| *leader).map(|(_, team, _)| TeamId(*team)).collect(),
                    org: OrgRecord {
                        id: OrgId(r.id),
                        name: r.name,
                        kind: OrgKind::parse(&r.kind).unwrap_or(OrgKind::Team),
                        created_at: r.created_at,
                    },
                    role: org_role(&r.role),
                    enterprise_admin: r.enterprise_admin,
                }
            })
            .collect())
    }

    /// Owners left after `user` stops being one.
    async fn other_owners(&self, org: OrgId, user: UserId) -> Result<i64> {
        on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner' AND user_id <> $2")
            .bind(org.0).bind(user.0).fetch_one(pool).await.store())
    }
}

#[async_trait]
impl OrgStore for Db {
    async fn create_org(&self, org: &OrgRecord, owner: UserId) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query("INSERT INTO organizations (id, name, kind, created_at) VALUES ($1, $2, $3, $4)")
                .bind(org.id.0).bind(&org.name).bind(org.kind.as_str()).bind(org.created_at)
                .execute(&mut *tx).await.store()?;
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, enterprise_admin, created_at) VALUES ($1, $2, 'owner', $3, $4)")
                .bind(org.id.0).bind(owner.0).bind(org.kind == OrgKind::Enterprise).bind(org.created_at)
                .execute(&mut *tx).await.store()?;
            tx.commit().await.store()
        })
    }

    async fn memberships_of(&self, user: UserId) -> Result<Vec<MembershipRecord>> {
        self.memberships(user, None).await
    }

    async fn membership(&self, org: OrgId, user: UserId) -> Result<Option<MembershipRecord>> {
        Ok(self.memberships(user, Some(org)).await?.into_iter().next())
    }

    async fn rename_org(&self, org: OrgId, name: &str) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE organizations SET name = $2 WHERE id = $1")
            .bind(org.0).bind(name).execute(pool).await.store().map(|_| ()))
    }

    async fn delete_org(&self, org: OrgId) -> Result<()> {
        // Its search postings have no foreign key to go with it (see migration 0034).
        let deleted = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query("DELETE FROM search_postings WHERE word_id IN (SELECT id FROM search_words WHERE org_id = $1)")
                .bind(org.0).execute(&mut *tx).await.store()?;
            sqlx::query("DELETE FROM organizations WHERE id = $1").bind(org.0).execute(&mut *tx).await.store()?;
            tx.commit().await.store()
        });
        // Its prompts went with it.
        self.search_text_changed();
        deleted
    }

    async fn members(&self, org: OrgId) -> Result<Vec<MemberRecord>> {
        let rows: Vec<(Uuid, String, String, String, bool, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT u.id, u.email, u.display_name, m.role, m.enterprise_admin, m.created_at FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY m.created_at, u.email")
            .bind(org.0).fetch_all(pool).await.store()?);
        Ok(rows
            .into_iter()
            .map(|(id, email, display_name, role, enterprise_admin, joined_at)| MemberRecord {
                user_id: UserId(id),
                email,
                display_name,
                role: org_role(&role),
                enterprise_admin,
                joined_at,
            })
            .collect())
    }

    async fn set_enterprise_admin(&self, org: OrgId, user: UserId, on: bool) -> Result<()> {
        let done = on_pool!(self, pool => sqlx::query("UPDATE memberships SET enterprise_admin = $3 WHERE org_id = $1 AND user_id = $2")
            .bind(org.0).bind(user.0).bind(on).execute(pool).await.store()?.rows_affected());
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn add_member(&self, org: OrgId, user: UserId, role: OrgRole, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO memberships (org_id, user_id, role, enterprise_admin, created_at) VALUES ($1, $2, $3, FALSE, $4)")
            .bind(org.0).bind(user.0).bind(role.as_str()).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn set_member_role(&self, org: OrgId, user: UserId, role: OrgRole) -> Result<()> {
        if role != OrgRole::Owner && self.other_owners(org, user).await? == 0 {
            return Err(StoreError::Conflict("An organization needs at least one owner.".into()));
        }
        let updated = on_pool!(self, pool => sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2")
            .bind(org.0).bind(user.0).bind(role.as_str()).execute(pool).await.store()?.rows_affected());
        if updated == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn remove_member(&self, org: OrgId, user: UserId) -> Result<()> {
        if self.other_owners(org, user).await? == 0 {
            return Err(StoreError::Conflict("An organization needs at least one owner.".into()));
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            sqlx::query("DELETE FROM team_members WHERE org_id = $1 AND user_id = $2")
                .bind(org.0).bind(user.0).execute(&mut *tx).await.store()?;
            sqlx::query("UPDATE sessions SET active_org_id = NULL WHERE user_id = $2 AND active_org_id = $1")
                .bind(org.0).bind(user.0).execute(&mut *tx).await.store()?;
            sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                .bind(org.0).bind(user.0).execute(&mut *tx).await.store()?;
            tx.commit().await.store()
        })
    }

    async fn create_invitation(&self, i: &InvitationRecord, token_hash: &str, seats: Option<i64>) -> Result<bool> {
        let lock = self.org_lock();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            if !seat_free!(tx, lock, i.org_id, seats, i.created_at, None::<Uuid>, false) {
                return Ok(false);
            }
            sqlx::query("INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(i.id).bind(i.org_id.0).bind(&i.email).bind(i.role.as_str()).bind(token_hash).bind(i.invited_by.0)
                .bind(i.created_at).bind(i.expires_at).execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn pending_invitations(&self, org: OrgId, now: DateTime<Utc>) -> Result<Vec<InvitationRecord>> {
        let sql = format!(
            "{INVITATION_SELECT} WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 ORDER BY i.created_at DESC"
        );
        let rows: Vec<InvitationRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(now).fetch_all(pool).await.store()?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn invitation(&self, org: OrgId, id: Uuid) -> Result<Option<InvitationRecord>> {
        let sql = format!("{INVITATION_SELECT} WHERE i.org_id = $1 AND i.id = $2");
        let row: Option<InvitationRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(org.0).bind(id).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn invitation_by_token_hash(&self, token_hash: &str) -> Result<Option<InvitationRecord>> {
        let sql = format!("{INVITATION_SELECT} WHERE i.token_hash = $1");
        let row: Option<InvitationRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(token_hash).fetch_optional(pool).await.store()?);
        Ok(row.map(Into::into))
    }

    async fn renew_invitation(
        &self,
        org: OrgId,
        id: Uuid,
        token_hash: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        seats: Option<i64>,
    ) -> Result<bool> {
        let lock = self.org_lock();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let expired: Option<(bool,)> = sqlx::query_as("SELECT expires_at <= $3 FROM invitations WHERE org_id = $1 AND id = $2")
                .bind(org.0).bind(id).bind(at).fetch_optional(&mut *tx).await.store()?;
            let Some((expired,)) = expired else { return Err(StoreError::NotFound) };
            if expired && !seat_free!(tx, lock, org, seats, at, Some(id), false) {
                return Ok(false);
            }
            sqlx::query("UPDATE invitations SET token_hash = $3, expires_at = $4 WHERE org_id = $1 AND id = $2")
                .bind(org.0).bind(id).bind(token_hash).bind(expires_at).execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn revoke_invitation(&self, org: OrgId, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL")
            .bind(org.0).bind(id).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn accept_invitation(&self, id: Uuid, user: UserId, at: DateTime<Utc>, seats: Option<i64>) -> Result<bool> {
        let lock = self.org_lock();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await.store()?;
            let row: Option<(Uuid, String)> = sqlx::query_as(
                "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 RETURNING org_id, role")
                .bind(id).bind(at).fetch_optional(&mut *tx).await.store()?;
            let Some((org, role)) = row else {
                return Err(StoreError::Conflict("This invitation can no longer be accepted.".into()));
            };
            if !seat_free!(tx, lock, OrgId(org), seats, at, Some(id), true) {
                return Ok(false);
            }
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, enterprise_admin, created_at) VALUES ($1, $2, $3, FALSE, $4)")
                .bind(org).bind(user.0).bind(role).bind(at).execute(&mut *tx).await.store()?;
            tx.commit().await.store()?;
            Ok(true)
        })
    }

    async fn create_team(&self, org: OrgId, id: TeamId, name: &str, at: DateTime<Utc>) -> Result<()> {
        on_pool!(self, pool => sqlx::query("INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.0).bind(org.0).bind(name).bind(at).execute(pool).await.store().map(|_| ()))
    }

    async fn teams(&self, org: OrgId) -> Result<Vec<TeamRecord>> {
        let (teams, members): (Vec<(Uuid, String)>, Vec<(Uuid, Uuid, String, bool)>) = on_pool!(self, pool => {
            let teams = sqlx::query_as("SELECT id, name FROM teams WHERE org_id = $1 ORDER BY name")
                .bind(org.0).fetch_all(pool).await.store()?;
            let members = sqlx::query_as(
                "SELECT tm.team_id, u.id, u.display_name, tm.leader FROM team_members tm JOIN users u ON u.id = tm.user_id \
                 WHERE tm.org_id = $1 ORDER BY tm.leader DESC, u.display_name")
                .bind(org.0).fetch_all(pool).await.store()?;
            (teams, members)
        });
        let mut by_team: HashMap<Uuid, Vec<(UserId, String, bool)>> = HashMap::new();
        for (team, user, name, leader) in members {
            by_team.entry(team).or_default().push((UserId(user), name, leader));
        }
        Ok(teams
            .into_iter()
            .map(|(id, name)| TeamRecord {
                id: TeamId(id),
                org_id: org,
                name,
                members: by_team.remove(&id).unwrap_or_default(),
            })
            .collect())
    }

    async fn delete_team(&self, org: OrgId, team: TeamId) -> Result<()> {
        let deleted = on_pool!(self, pool => sqlx::query("DELETE FROM teams WHERE org_id = $1 AND id = $2")
            .bind(org.0).bind(team.0).execute(pool).await.store()?.rows_affected());
        if deleted == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn set_team_member(&self, org: OrgId, team: TeamId, user: UserId, leader: bool) -> Result<()> {
        on_pool!(self, pool => {
            let exists: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM teams WHERE org_id = $1 AND id = $2")
                .bind(org.0).bind(team.0).fetch_optional(pool).await.store()?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
            // The membership foreign key rejects people outside the organization.
            sqlx::query("INSERT INTO team_members (team_id, org_id, user_id, leader) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (team_id, user_id) DO UPDATE SET leader = excluded.leader")
                .bind(team.0).bind(org.0).bind(user.0).bind(leader).execute(pool).await.store().map(|_| ())
        })
    }

    async fn remove_team_member(&self, org: OrgId, team: TeamId, user: UserId) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM team_members WHERE org_id = $1 AND team_id = $2 AND user_id = $3")
            .bind(org.0).bind(team.0).bind(user.0).execute(pool).await.store().map(|_| ()))
    }
}
