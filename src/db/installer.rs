//! The installer's own support desk (one row, set by operators).

use sqlx::FromRow;

use super::{Exec, on_engine};

use crate::domain::installer::InstallerDesk;

#[derive(FromRow)]
struct Row {
    name: String,
    phone: String,
    hours: String,
}

/// The desk as stored; the empty default when the row is missing.
pub async fn get(db: impl Into<Exec<'_>>) -> super::Result<InstallerDesk> {
    let row = on_engine!(db, |ex| sqlx::query_as::<_, Row>(
        "SELECT name, phone, hours FROM installer_desk WHERE id = 1"
    )
    .fetch_optional(ex)
    .await)?;
    Ok(row.map_or_else(InstallerDesk::default, |r| InstallerDesk {
        name: r.name,
        phone: r.phone,
        hours: r.hours,
    }))
}

pub async fn set(db: impl Into<Exec<'_>>, desk: &InstallerDesk, now: i64) -> super::Result<()> {
    on_engine!(db, |ex| sqlx::query(
        "INSERT INTO installer_desk (id, name, phone, hours, updated_at) VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
             hours = excluded.hours, updated_at = excluded.updated_at",
    )
    .bind(&desk.name)
    .bind(&desk.phone)
    .bind(&desk.hours)
    .bind(now)
    .execute(ex)
    .await
    .map(super::Done::from))?;
    Ok(())
}
