//! Pending invitations (migration 0021): an operator invited an address with a role (and a
//! clinic); the invitee sets their own password through a single-use link. Only the SHA-256 of the
//! link's token is stored. A row is deleted when its link is used, revoked or replaced.

use sqlx::FromRow;

use super::{Exec, Tx, execute, on_engine};

pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub token_hash: &'a [u8; 32],
    pub role: &'a str,
    pub clinic_id: Option<i64>,
    pub invited_by: i64,
    pub expires_at: i64,
}

/// An invitation as its link's page and its acceptance need it.
#[derive(Clone, Debug, FromRow)]
pub struct Invitation {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub clinic_id: Option<i64>,
    pub invited_by: i64,
    pub expires_at: i64,
}

/// A row of the operators' list of pending invitations.
#[derive(Clone, Debug, FromRow)]
pub struct Listed {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub clinic_code: Option<String>,
    pub invited_by: String,
    pub expires_at: i64,
}

/// Writes the invitation, replacing a pending one for the same address (whose link stops working
/// with its row). Returns the new row's id and whether one was replaced.
pub async fn replace(tx: &mut Tx, new: &NewInvitation<'_>, now: i64) -> super::Result<(i64, bool)> {
    let replaced = execute!(&mut *tx, "DELETE FROM invitations WHERE email = $1", new.email)?.rows_affected() > 0;
    let id = on_engine!(&mut *tx, |ex| sqlx::query_scalar(
        // ON CONFLICT: an invitation of the same address committed by a parallel transaction
        // after the DELETE above (PostgreSQL's READ COMMITTED) is replaced too, not a 500.
        "INSERT INTO invitations (email, token_hash, role, clinic_id, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (email) DO UPDATE SET token_hash = excluded.token_hash, role = excluded.role,
             clinic_id = excluded.clinic_id, invited_by = excluded.invited_by,
             created_at = excluded.created_at, expires_at = excluded.expires_at
         RETURNING id",
    )
    .bind(new.email)
    .bind(new.token_hash.as_slice())
    .bind(new.role)
    .bind(new.clinic_id)
    .bind(new.invited_by)
    .bind(now)
    .bind(new.expires_at)
    .fetch_one(ex)
    .await)?;
    Ok((id, replaced))
}

const COLUMNS: &str = "id, email, role, clinic_id, invited_by, expires_at";

/// The invitation of a link that may still be used (not expired at `now`); reading does not
/// consume it (mail scanners fetch links before people do).
pub async fn valid(db: impl Into<Exec<'_>>, token_hash: &[u8; 32], now: i64) -> super::Result<Option<Invitation>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Invitation>(&format!(
        "SELECT {COLUMNS} FROM invitations WHERE token_hash = $1 AND expires_at > $2"
    ))
    .bind(token_hash.as_slice())
    .bind(now)
    .fetch_optional(ex)
    .await)
}

/// Consumes the link: deletes its invitation if it is still valid and returns it. Of two
/// transactions consuming the same link, one gets it: SQLite's write lock puts them in single
/// file, and on PostgreSQL the second DELETE waits for the first's row lock and then finds the
/// row gone.
pub async fn consume(tx: &mut Tx, token_hash: &[u8; 32], now: i64) -> super::Result<Option<Invitation>> {
    on_engine!(&mut *tx, |ex| sqlx::query_as::<_, Invitation>(&format!(
        "DELETE FROM invitations WHERE token_hash = $1 AND expires_at > $2 RETURNING {COLUMNS}"
    ))
    .bind(token_hash.as_slice())
    .bind(now)
    .fetch_optional(ex)
    .await)
}

/// Revokes a pending invitation; `None` when there is none with this id (any more).
pub async fn revoke(tx: &mut Tx, id: i64) -> super::Result<Option<Invitation>> {
    on_engine!(&mut *tx, |ex| sqlx::query_as::<_, Invitation>(&format!(
        "DELETE FROM invitations WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await)
}

/// Revokes every pending invitation an operator made (their account was disabled): an
/// invitation is only as good as the operator who made it. Returns the invited addresses.
pub async fn revoke_by_inviter(tx: &mut Tx, user_id: i64) -> super::Result<Vec<String>> {
    on_engine!(&mut *tx, |ex| sqlx::query_scalar(
        "DELETE FROM invitations WHERE invited_by = $1 RETURNING email"
    )
    .bind(user_id)
    .fetch_all(ex)
    .await)
}

/// Forgets invitations whose link has expired (their audit entries stay).
pub async fn prune(db: impl Into<Exec<'_>>, now: i64) -> super::Result<u64> {
    Ok(execute!(db, "DELETE FROM invitations WHERE expires_at <= $1", now)?.rows_affected())
}

/// Pending (unexpired) invitations, soonest to expire first.
pub async fn pending(db: impl Into<Exec<'_>>, now: i64) -> super::Result<Vec<Listed>> {
    on_engine!(db, |ex| sqlx::query_as::<_, Listed>(
        "SELECT i.id, i.email, i.role, c.code AS clinic_code, u.email AS invited_by, i.expires_at
         FROM invitations i
         JOIN users u ON u.id = i.invited_by
         LEFT JOIN clinics c ON c.id = i.clinic_id
         WHERE i.expires_at > $1
         ORDER BY i.expires_at, i.id LIMIT 500",
    )
    .bind(now)
    .fetch_all(ex)
    .await)
}
