//! Enrolling, revoking and re-enrolling card readers.

use sqlx::SqlitePool;

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

impl From<sqlx::Error> for ReaderError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

pub struct Enrolled {
    pub reader_id: i64,
    /// Shown once, then only its hash exists.
    pub token: Secret<String>,
}

pub async fn enroll(
    pool: &SqlitePool,
    actor: &audit::Actor,
    clinic_id: i64,
    name: &str,
    install_type: InstallType,
    ip: Option<&str>,
) -> Result<Enrolled, ReaderError> {
    let token = device_token::generate()?;
    let hash = device_token::hash(token.expose());
    let mut tx = db::begin_write(pool).await?;
    let reader_id = match db::readers::insert(&mut *tx, clinic_id, name, install_type.as_db(), &hash).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => return Err(ReaderError::DuplicateName(name.to_owned())),
        Err(e) => return Err(e.into()),
    };
    let detail = format!("reader {reader_id} {name} ({})", install_type.as_db());
    audit::record(
        &mut *tx,
        audit::Entry {
            actor,
            action: "reader.enrolled",
            clinic_id: Some(clinic_id),
            detail: &detail,
            ip,
        },
    )
    .await?;
    db::cache_events::append(&mut *tx, Kind::Reader, reader_id).await?;
    tx.commit().await?;
    Ok(Enrolled { reader_id, token })
}

/// The reader's clinic must be `clinic_id`: callers pass the clinic they authorised.
pub async fn revoke(
    pool: &SqlitePool,
    actor: &audit::Actor,
    clinic_id: i64,
    reader_id: i64,
    ip: Option<&str>,
) -> Result<bool, ReaderError> {
    let mut tx = db::begin_write(pool).await?;
    let reader = db::readers::by_id(&mut *tx, reader_id)
        .await?
        .filter(|r| r.clinic_id == clinic_id);
    let Some(reader) = reader else {
        return Err(ReaderError::NotFound);
    };
    let revoked = db::readers::revoke(&mut *tx, reader_id).await?;
    if revoked {
        let detail = format!("reader {reader_id} {}", reader.name);
        audit::record(
            &mut *tx,
            audit::Entry {
                actor,
                action: "reader.revoked",
                clinic_id: Some(clinic_id),
                detail: &detail,
                ip,
            },
        )
        .await?;
        db::cache_events::append(&mut *tx, Kind::Reader, reader_id).await?;
    }
    tx.commit().await?;
    Ok(revoked)
}

pub async fn reenroll(
    pool: &SqlitePool,
    actor: &audit::Actor,
    clinic_id: i64,
    reader_id: i64,
    ip: Option<&str>,
) -> Result<Enrolled, ReaderError> {
    let token = device_token::generate()?;
    let hash = device_token::hash(token.expose());
    let mut tx = db::begin_write(pool).await?;
    let reader = db::readers::by_id(&mut *tx, reader_id)
        .await?
        .filter(|r| r.clinic_id == clinic_id);
    let Some(reader) = reader else {
        return Err(ReaderError::NotFound);
    };
    db::readers::reenroll(&mut *tx, reader_id, &hash).await?;
    let detail = format!("reader {reader_id} {}", reader.name);
    audit::record(
        &mut *tx,
        audit::Entry {
            actor,
            action: "reader.reenrolled",
            clinic_id: Some(clinic_id),
            detail: &detail,
            ip,
        },
    )
    .await?;
    db::cache_events::append(&mut *tx, Kind::Reader, reader_id).await?;
    tx.commit().await?;
    Ok(Enrolled { reader_id, token })
}
