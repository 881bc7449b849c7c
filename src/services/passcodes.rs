//! Issuing (rotating) a clinic's passcode and verifying a code typed at a reader.

use crate::auth::Hasher;
use crate::auth::device_token::{self, TokenHash};
use crate::db::passcodes::IssueTokenClaim;
use crate::db::{self, audit, cache_events::Kind};
use crate::domain::lockout::ReaderLockout;
use crate::domain::{Passcode, Secret};

pub struct Issued {
    pub code: Passcode,
    pub generation: i64,
}

/// Where an issue came from, for the history. A web issue must present the single-use token of
/// the confirmation page it was confirmed on.
#[derive(Clone, Copy, Debug)]
pub enum Via<'a> {
    Web { user_id: i64, issue_token: &'a TokenHash },
    CommandLine,
}

/// What a request to issue came to.
pub enum Outcome {
    Issued(Issued),
    /// The confirmed form was sent again (reload, double click, resubmit): nothing was issued.
    /// `generation` is the code that form already issued.
    AlreadyIssued {
        generation: Option<i64>,
    },
    /// The confirmation expired or belongs to someone else: nothing was issued; ask again.
    ConfirmationExpired,
}

/// How long a confirmation page's token stays valid, and how long used ones are kept to
/// recognise a replay.
const ISSUE_TOKEN_TTL_S: i64 = 30 * 60;
const ISSUE_TOKEN_KEEP_S: i64 = 24 * 60 * 60;

/// Makes the single-use token a confirmation page carries (returned once, stored hashed).
pub async fn new_issue_token(pool: &db::Pool, clinic_id: i64, user_id: i64) -> anyhow::Result<Secret<String>> {
    let token = Secret::new(crate::auth::session::random_hex(32)?);
    let now = db::now();
    let mut tx = db::begin_write(pool).await?;
    db::passcodes::insert_issue_token(
        &mut tx,
        &device_token::hash(token.expose()),
        clinic_id,
        user_id,
        now,
        now - ISSUE_TOKEN_KEEP_S,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Issues a new passcode for the clinic. The previous one stops working in the same
/// transaction; the new code never equals the one it replaces. A web issue consumes its
/// confirmation token in that transaction too, so one confirmed form issues exactly one code.
pub async fn issue(
    pool: &db::Pool,
    hasher: &Hasher,
    actor: &audit::Actor,
    clinic_id: i64,
    via: Via<'_>,
    ip: Option<&str>,
) -> anyhow::Result<Outcome> {
    // A concurrent issue for the same clinic makes us start over; a few rounds always suffice.
    for _ in 0..8 {
        let replaced = db::passcodes::current(pool, clinic_id).await?;
        let code = Passcode::generate()?;
        if let Some(old) = &replaced
            && hasher.verify_passcode(&code, &old.code_hash).await?
        {
            continue;
        }
        let hash = hasher.hash_passcode(&code).await?;

        let mut tx = db::begin_write(pool).await?;
        // Issues for one clinic queue here on PostgreSQL (SQLite's write lock already does).
        db::lock(&mut tx, db::Lock::Clinic(clinic_id)).await?;
        let now = db::now();
        if let Via::Web { user_id, issue_token } = via {
            let not_before = now - ISSUE_TOKEN_TTL_S;
            match db::passcodes::claim_issue_token(&mut tx, issue_token, clinic_id, user_id, now, not_before).await? {
                IssueTokenClaim::Claimed => {}
                IssueTokenClaim::AlreadyUsed { generation } => return Ok(Outcome::AlreadyIssued { generation }),
                IssueTokenClaim::Invalid => return Ok(Outcome::ConfirmationExpired),
            }
        }
        let still_current = db::passcodes::current(&mut tx, clinic_id).await?.map(|p| p.id);
        if still_current != replaced.as_ref().map(|p| p.id) {
            continue;
        }
        db::passcodes::supersede(&mut tx, clinic_id, now).await?;
        let generation = db::clinics::next_generation(&mut tx, clinic_id).await?;
        let (issued_by, issued_via) = match via {
            Via::Web { user_id, issue_token } => {
                db::passcodes::set_issue_token_generation(&mut tx, issue_token, generation).await?;
                (Some(user_id), "web")
            }
            Via::CommandLine => (None, "cli"),
        };
        db::passcodes::insert(
            &mut tx,
            &db::passcodes::NewPasscode {
                clinic_id,
                generation,
                code_hash: &hash,
                issued_at: now,
                issued_by,
                issued_via,
            },
        )
        .await?;
        let detail = audit::fields(&[("generation", &generation.to_string()), ("via", issued_via)]);
        audit::record(
            &mut tx,
            audit::Entry {
                actor,
                action: "passcode.issued",
                clinic_id: Some(clinic_id),
                detail: &detail,
                ip,
            },
        )
        .await?;
        db::cache_events::append(&mut tx, Kind::Clinic, clinic_id).await?;
        crate::services::mail::passcode_issued(&mut tx, clinic_id, actor, issued_via == "cli", now).await?;
        tx.commit().await?;
        return Ok(Outcome::Issued(Issued { code, generation }));
    }
    anyhow::bail!("could not issue a passcode: too many concurrent issues for this clinic")
}

/// Issues from the command line or a script: no confirmation page, so always a new code.
pub async fn issue_unconfirmed(
    pool: &db::Pool,
    hasher: &Hasher,
    actor: &audit::Actor,
    clinic_id: i64,
    ip: Option<&str>,
) -> anyhow::Result<Issued> {
    match issue(pool, hasher, actor, clinic_id, Via::CommandLine, ip).await? {
        Outcome::Issued(issued) => Ok(issued),
        Outcome::AlreadyIssued { .. } | Outcome::ConfirmationExpired => {
            anyhow::bail!("a command-line issue needs no confirmation")
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    Accepted {
        generation: i64,
    },
    Rejected {
        generation: i64,
        attempts_left: i64,
        locked_for_s: Option<u64>,
        passcode_disabled: bool,
    },
    NoneIssued,
    Disabled {
        generation: i64,
    },
    Locked {
        retry_after_s: u64,
    },
}

impl Verification {
    pub fn attempt_result(self) -> &'static str {
        match self {
            Self::Accepted { .. } => "accepted",
            Self::Rejected { .. } => "rejected",
            Self::NoneIssued => "none_issued",
            Self::Disabled { .. } => "disabled",
            Self::Locked { .. } => "locked",
        }
    }
}

/// Checks a code typed at a reader. Every attempt is recorded (never the digits). The lock
/// checks are repeated inside the write transaction so parallel guesses cannot slip past them.
pub async fn verify(
    pool: &db::Pool,
    hasher: &Hasher,
    clinic_id: i64,
    reader_id: i64,
    code: &Passcode,
) -> anyhow::Result<Verification> {
    let now = db::now();
    // Cheap pre-checks first: a locked reader or a dead passcode costs no argon2 work.
    let lock = to_domain(db::readers::lockout(pool, reader_id).await?);
    let current = db::passcodes::current(pool, clinic_id).await?;
    let matches = match (&current, lock.locked_for_s(now)) {
        (Some(p), None) if p.disabled_at.is_none() => Some(hasher.verify_passcode(code, &p.code_hash).await?),
        _ => None,
    };

    let mut tx = db::begin_write(pool).await?;
    // Verifications for one clinic queue here, so the re-reads below are still true at the
    // commit (the argon2 work above stays outside the lock).
    db::lock(&mut tx, db::Lock::Clinic(clinic_id)).await?;
    let now = db::now();
    let lock = to_domain(db::readers::lockout(&mut tx, reader_id).await?);
    let now_current = db::passcodes::current(&mut tx, clinic_id).await?;
    let generation = now_current.as_ref().map(|p| p.generation);
    let outcome = match (&now_current, lock.locked_for_s(now), matches) {
        (_, Some(retry_after_s), _) => Verification::Locked { retry_after_s },
        (None, None, _) => Verification::NoneIssued,
        (Some(p), None, _) if p.disabled_at.is_some() => Verification::Disabled {
            generation: p.generation,
        },
        // Rotated (or disabled) while we hashed: check once more against the new code.
        (Some(p), None, _) if Some(p.id) != current.as_ref().map(|c| c.id) || matches.is_none() => {
            drop(tx);
            return Box::pin(verify(pool, hasher, clinic_id, reader_id, code)).await;
        }
        (Some(p), None, Some(true)) => {
            // The reader's own lock clears; the generation's count of wrong codes does not, or
            // one right code between guesses would reset the bound an attacker faces.
            set_lockout(&mut tx, reader_id, ReaderLockout::CLEAR).await?;
            Verification::Accepted {
                generation: p.generation,
            }
        }
        (Some(p), None, _) => {
            let lock = lock.after_failure(now);
            set_lockout(&mut tx, reader_id, lock).await?;
            let clinic_failures = p.failed_attempts + 1;
            db::passcodes::set_failures(&mut tx, p.id, clinic_failures).await?;
            let threshold = db::passcodes::failures_before_disable(&mut tx).await?;
            let passcode_disabled = clinic_failures >= threshold;
            if passcode_disabled {
                db::passcodes::disable(&mut tx, p.id, now, "too_many_failures").await?;
                let detail = audit::fields(&[
                    ("generation", &p.generation.to_string()),
                    ("failures", &clinic_failures.to_string()),
                ]);
                let actor = audit::Actor::Reader { id: reader_id };
                audit::record(
                    &mut tx,
                    audit::Entry {
                        actor: &actor,
                        action: "passcode.disabled",
                        clinic_id: Some(clinic_id),
                        detail: &detail,
                        ip: None,
                    },
                )
                .await?;
                db::cache_events::append(&mut tx, Kind::Clinic, clinic_id).await?;
                crate::services::mail::passcode_disabled(&mut tx, clinic_id, clinic_failures, now).await?;
            }
            // This wrong code locked the reader (it was not locked before): one notice per lockout.
            if let Some(locked_for_s) = lock.locked_for_s(now) {
                crate::services::mail::reader_locked(&mut tx, clinic_id, reader_id, locked_for_s, now).await?;
            }
            Verification::Rejected {
                generation: p.generation,
                attempts_left: lock.attempts_left(),
                locked_for_s: lock.locked_for_s(now),
                passcode_disabled,
            }
        }
    };
    // Every answer is recorded. A wrong code is a row of its own (the reader locks after a few);
    // the same other answer (accepted, locked, disabled, none issued) to the same reader within
    // a minute adds to one row's count: a reader that knows the code, or hammers while locked,
    // would otherwise add a row per request, without bound.
    let merge_since = (!matches!(outcome, Verification::Rejected { .. })).then_some(now - 60);
    let result = outcome.attempt_result();
    db::passcodes::record_attempt(&mut tx, clinic_id, reader_id, generation, result, merge_since).await?;
    tx.commit().await?;
    Ok(outcome)
}

fn to_domain(row: db::readers::Lockout) -> ReaderLockout {
    ReaderLockout {
        failed_attempts: row.failed_attempts,
        lockouts: row.lockouts,
        locked_until: row.locked_until,
    }
}

async fn set_lockout(tx: &mut db::Tx, reader_id: i64, lock: ReaderLockout) -> db::Result<()> {
    let row = db::readers::Lockout {
        failed_attempts: lock.failed_attempts,
        lockouts: lock.lockouts,
        locked_until: lock.locked_until,
    };
    db::readers::set_lockout(&mut *tx, reader_id, &row).await
}
