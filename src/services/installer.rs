//! Setting the installer's support desk (the desk settings page and the command line).

use crate::db::{self, audit, cache_events::Kind};
use crate::domain::installer::InstallerDesk;

/// Saves the desk, audits the change and tells every process's cache, in one transaction.
pub async fn set(pool: &db::Pool, actor: &audit::Actor, ip: Option<&str>, desk: &InstallerDesk) -> anyhow::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    db::installer::set(&mut tx, desk, db::now()).await?;
    let detail = audit::fields(&[("name", &desk.name), ("phone", &desk.phone), ("hours", &desk.hours)]);
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "installer_desk.changed",
            clinic_id: None,
            detail: &detail,
            ip,
        },
    )
    .await?;
    db::cache_events::append(&mut tx, Kind::Installer, 0).await?;
    tx.commit().await?;
    Ok(())
}
