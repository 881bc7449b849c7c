//! Enrolling, revoking and re-enrolling card readers.

use crate::auth::device_token;
use crate::db::{self, audit, cache_events::Kind};
use crate::domain::{InstallType, Secret};

#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("this clinic already has a reader named {0:?}")]
    DuplicateName(String),
    #[error("no such reader")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<db::Error> for ReaderError {
    fn from(e: db::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub struct Enrolled {
    pub reader_id: i64,
    /// Shown once, then only its hash exists.
    pub token: Secret<String>,
}

pub async fn enroll(
    pool: &db::Pool,
    actor: &audit::Actor,
    clinic_id: i64,
    name: &str,
    install_type: InstallType,
    ip: Option<&str>,
) -> Result<Enrolled, ReaderError> {
    let token = device_token::generate()?;
    let hash = device_token::hash(token.expose());
    let mut tx = db::begin_write(pool).await?;
    let reader_id = match db::readers::insert(&mut tx, clinic_id, name, install_type.as_db(), &hash).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => return Err(ReaderError::DuplicateName(name.to_owned())),
        Err(e) => return Err(e.into()),
    };
    let detail = reader_fields(reader_id, name, Some(install_type));
    record_change(&mut tx, actor, "reader.enrolled", clinic_id, reader_id, &detail, ip).await?;
    tx.commit().await?;
    Ok(Enrolled { reader_id, token })
}

/// The reader's clinic must be `clinic_id`: callers pass the clinic they authorised.
pub async fn revoke(
    pool: &db::Pool,
    actor: &audit::Actor,
    clinic_id: i64,
    reader_id: i64,
    ip: Option<&str>,
) -> Result<bool, ReaderError> {
    let mut tx = db::begin_write(pool).await?;
    let reader = reader_in_clinic(&mut tx, clinic_id, reader_id).await?;
    let revoked = db::readers::revoke(&mut tx, reader_id).await?;
    if revoked {
        let detail = reader_fields(reader_id, &reader.name, None);
        record_change(&mut tx, actor, "reader.revoked", clinic_id, reader_id, &detail, ip).await?;
    }
    tx.commit().await?;
    Ok(revoked)
}

/// Gives the reader a new token; the old one stops working at once.
pub async fn reenroll(
    pool: &db::Pool,
    actor: &audit::Actor,
    clinic_id: i64,
    reader_id: i64,
    ip: Option<&str>,
) -> Result<Enrolled, ReaderError> {
    let token = device_token::generate()?;
    let hash = device_token::hash(token.expose());
    let mut tx = db::begin_write(pool).await?;
    let reader = reader_in_clinic(&mut tx, clinic_id, reader_id).await?;
    db::readers::reenroll(&mut tx, reader_id, &hash).await?;
    let detail = reader_fields(reader_id, &reader.name, None);
    record_change(&mut tx, actor, "reader.reenrolled", clinic_id, reader_id, &detail, ip).await?;
    tx.commit().await?;
    Ok(Enrolled { reader_id, token })
}

type Tx = db::Tx;

async fn reader_in_clinic(tx: &mut Tx, clinic_id: i64, reader_id: i64) -> Result<db::readers::Reader, ReaderError> {
    db::readers::by_id(&mut *tx, reader_id)
        .await?
        .filter(|r| r.clinic_id == clinic_id)
        .ok_or(ReaderError::NotFound)
}

fn reader_fields(reader_id: i64, name: &str, install_type: Option<InstallType>) -> String {
    let id = reader_id.to_string();
    match install_type {
        Some(install) => audit::fields(&[("reader", &id), ("name", name), ("install", install.as_db())]),
        None => audit::fields(&[("reader", &id), ("name", name)]),
    }
}

/// The audit entry and the cache event every reader change writes with it.
async fn record_change(
    tx: &mut Tx,
    actor: &audit::Actor,
    action: &str,
    clinic_id: i64,
    reader_id: i64,
    detail: &str,
    ip: Option<&str>,
) -> db::Result<()> {
    let entry = audit::Entry {
        actor,
        action,
        clinic_id: Some(clinic_id),
        detail,
        ip,
    };
    audit::record(&mut *tx, entry).await?;
    db::cache_events::append(&mut *tx, Kind::Reader, reader_id).await
}
