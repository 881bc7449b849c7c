//! Operators' changes to the desk's settings (categories, closed days, hours, targets, the
//! passcode policy, reader staleness): each saves, and audits, in one transaction.

use crate::db::{self, audit};

/// Who changed a setting, and from where, for the audit entry.
pub struct Operator<'a> {
    pub actor: &'a audit::Actor,
    pub ip: Option<&'a str>,
}

async fn record(tx: &mut db::Tx, by: &Operator<'_>, action: &str, detail: &str) -> db::Result<()> {
    let entry = audit::Entry {
        actor: by.actor,
        action,
        clinic_id: None,
        detail,
        ip: by.ip,
    };
    audit::record(tx, entry).await
}

/// Adds a ticket category. False, and nothing written, when another category has the slug.
pub async fn add_category(
    pool: &db::Pool,
    by: &Operator<'_>,
    slug: &str,
    name_ja: &str,
    name_en: &str,
) -> db::Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    match db::tickets::insert_category(&mut tx, slug, name_ja, name_en).await {
        Ok(_) => {}
        Err(e) if db::is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e),
    }
    record(&mut tx, by, "category.added", slug).await?;
    tx.commit().await?;
    Ok(true)
}

/// Retires a category (it stays on old tickets but is no longer offered) or restores it.
/// False when no category has the slug.
pub async fn set_category_retired(pool: &db::Pool, by: &Operator<'_>, slug: &str, retired: bool) -> db::Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    if !db::tickets::set_category_retired(&mut tx, slug, retired.then(db::now)).await? {
        return Ok(false);
    }
    let action = if retired {
        "category.retired"
    } else {
        "category.restored"
    };
    record(&mut tx, by, action, slug).await?;
    tx.commit().await?;
    Ok(true)
}

/// Adds a day or range the desk is closed, once or every year.
pub async fn add_closure(
    pool: &db::Pool,
    by: &Operator<'_>,
    label: &str,
    start: time::Date,
    end: time::Date,
    yearly: bool,
) -> db::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    db::tickets::insert_closure(&mut tx, label, &start.to_string(), &end.to_string(), yearly).await?;
    let detail = format!("{label} {start}..{end}{}", if yearly { " yearly" } else { "" });
    record(&mut tx, by, "closure.added", &detail).await?;
    tx.commit().await
}

/// Deletes a closed day or range. False when there is none with this id.
pub async fn delete_closure(pool: &db::Pool, by: &Operator<'_>, id: i64) -> db::Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    if !db::tickets::delete_closure(&mut tx, id).await? {
        return Ok(false);
    }
    let detail = format!("closure {id}");
    record(&mut tx, by, "closure.deleted", &detail).await?;
    tx.commit().await?;
    Ok(true)
}

/// The desk's opening hours on business days, in minutes after midnight; `detail` is how the
/// audit log shows them.
pub async fn set_hours(pool: &db::Pool, by: &Operator<'_>, opens: i64, closes: i64, detail: &str) -> db::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    db::tickets::set_desk_hours(&mut tx, opens, closes, db::now()).await?;
    record(&mut tx, by, "desk_hours.changed", detail).await?;
    tx.commit().await
}

/// Response and resolution targets in minutes, one row per priority; `detail` is how the audit
/// log shows them.
pub async fn set_targets(
    pool: &db::Pool,
    by: &Operator<'_>,
    rows: &[(String, i64, i64)],
    detail: &str,
) -> db::Result<()> {
    let now = db::now();
    let mut tx = db::begin_write(pool).await?;
    for (priority, response, resolution) in rows {
        db::tickets::set_desk_target(&mut tx, priority, *response, *resolution, now).await?;
    }
    record(&mut tx, by, "desk_targets.changed", detail).await?;
    tx.commit().await
}

/// How many wrong codes (across a clinic, over one generation) disable a passcode.
pub async fn set_passcode_policy(pool: &db::Pool, by: &Operator<'_>, failures: i64) -> db::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    db::passcodes::set_failures_before_disable(&mut tx, failures, db::now()).await?;
    let detail = audit::fields(&[("failures", &failures.to_string())]);
    record(&mut tx, by, "passcode_policy.changed", &detail).await?;
    tx.commit().await
}

/// After how many minutes without a poll a card reader shows as 未接続.
pub async fn set_reader_staleness(pool: &db::Pool, by: &Operator<'_>, minutes: i64) -> db::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    db::readers::set_stale_after_min(&mut tx, minutes, db::now()).await?;
    let detail = audit::fields(&[("minutes", &minutes.to_string())]);
    record(&mut tx, by, "reader_staleness.changed", &detail).await?;
    tx.commit().await
}
