//! Accounts by mail (issue 11): operators invite an address (role, clinic) and the invitee sets
//! their own password through a single-use link; anyone may ask for a password-reset link for
//! their address. Each link's token is 32 random bytes (hex, so URL-safe), only its SHA-256 is
//! stored, its expiry is checked here, and it is consumed inside the transaction that creates the
//! account or sets the password. The messages are composed here and written into the outbox in
//! the same transaction as their event; Japanese first, English below, in one message (an
//! invitee has no language yet, and someone locked out may not read the one they chose). The link is the only
//! secret a message ever carries; the outbox forgets it once sent (`db::outbox::mark_sent`).

use askama::Template;

use super::accounts::AccountError;
use crate::auth::{Hasher, device_token, throttle};
use crate::db::{self, audit};
use crate::domain::{ClinicCode, Email, Password, Role, Secret};
use crate::i18n::{self, Lang};
use crate::services::mail::jst;

/// An invitation link works for 72 hours.
pub const INVITATION_VALID_S: i64 = 72 * 3600;
/// A password-reset link works for 30 minutes.
pub const RESET_VALID_S: i64 = 30 * 60;
/// Reset mails per account (by the address typed) asked for from one client address, in a
/// sliding hour.
pub const RESETS_PER_ACCOUNT_FROM_ADDRESS: throttle::Limits = throttle::Limits {
    free: 3,
    per_hour: 3,
    max_delay_s: 0,
};
/// Reset mails per account from all client addresses together, in a sliding hour.
pub const RESETS_PER_ACCOUNT: throttle::Limits = throttle::Limits {
    free: 10,
    per_hour: 10,
    max_delay_s: 0,
};
/// Reset requests per client address in a sliding hour (a clinic behind NAT shares one).
pub const RESETS_PER_ADDRESS: throttle::Limits = throttle::Limits {
    free: 10,
    per_hour: 10,
    max_delay_s: 0,
};

/// A link's path on the portal, before its token.
pub const INVITE_PATH: &str = "/invite/";
pub const RESET_PATH: &str = "/password/reset/";

/// A new link token: 32 random bytes, hex.
fn new_token() -> anyhow::Result<Secret<String>> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
    Ok(Secret::new(hex::encode(bytes)))
}

/// The stored form of a link's token. Anything but 64 hex digits is no token of ours: `None`,
/// looked up nowhere.
pub fn token_hash(token: &str) -> Option<[u8; 32]> {
    (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())).then(|| device_token::hash(token))
}

/// The absolute link, built from the configured public URL (never from the request's Host).
fn link(public_url: &str, path: &str, token: &Secret<String>) -> String {
    format!("{}{path}{}", public_url.trim_end_matches('/'), token.expose())
}

fn role_labels(role: Role) -> (&'static str, &'static str) {
    (
        i18n::text(Lang::Ja, role.label_key()),
        i18n::text(Lang::En, role.label_key()),
    )
}

#[derive(Template)]
#[template(path = "mail/invitation.txt", escape = "none")]
struct InvitationText<'a> {
    invited_by: &'a str,
    role_ja: &'a str,
    role_en: &'a str,
    clinic: Option<&'a str>,
    link: &'a str,
    expires_at: &'a str,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    invited_by: &'a str,
    role_ja: &'a str,
    role_en: &'a str,
    clinic: Option<&'a str>,
    link: &'a str,
    expires_at: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt", escape = "none")]
struct ResetText<'a> {
    account: &'a str,
    link: &'a str,
    expires_at: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct ResetHtml<'a> {
    account: &'a str,
    link: &'a str,
    expires_at: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_changed.txt", escape = "none")]
struct ChangedText<'a> {
    account: &'a str,
    changed_at: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_changed.html")]
struct ChangedHtml<'a> {
    account: &'a str,
    changed_at: &'a str,
}

/// Who invites: an operator signed in on the web.
pub struct Inviter<'a> {
    pub id: i64,
    pub email: &'a str,
}

pub struct Invite<'a> {
    pub email: &'a Email,
    pub role: Role,
    pub clinic: Option<&'a ClinicCode>,
    /// The recipient's language for the message (Japanese first either way until users have one).
    pub language: &'a str,
}

/// Invites an address: the invitation row, its audit entry and its mail in one transaction. A
/// pending invitation for the same address is replaced (its link stops working). Refused when
/// the address already has an account. Returns whether one was replaced.
pub async fn invite(
    pool: &db::Pool,
    public_url: &str,
    inviter: &Inviter<'_>,
    invite: &Invite<'_>,
) -> Result<bool, AccountError> {
    let clinic = match (invite.role, invite.clinic) {
        (Role::ClinicAdmin, None) => return Err(AccountError::ClinicRequired),
        (Role::ClinicAdmin, Some(code)) => Some(
            db::clinics::by_code(pool, code.as_str())
                .await?
                .ok_or_else(|| AccountError::UnknownClinic(code.to_string()))?,
        ),
        (_, Some(_)) => return Err(AccountError::ClinicNotAllowed),
        (_, None) => None,
    };
    let token = new_token()?;
    let hash = device_token::hash(token.expose());
    let now = db::now();
    let expires_at = now + INVITATION_VALID_S;
    let mut tx = db::begin_write(pool).await?;
    if db::users::by_email(&mut tx, invite.email.as_str()).await?.is_some() {
        return Err(AccountError::DuplicateUser(invite.email.to_string()));
    }
    db::invitations::prune(&mut tx, now).await?;
    let new = db::invitations::NewInvitation {
        email: invite.email.as_str(),
        token_hash: &hash,
        role: invite.role.as_db(),
        clinic_id: clinic.as_ref().map(|c| c.id),
        invited_by: inviter.id,
        expires_at,
    };
    let (_, replaced) = db::invitations::replace(&mut tx, &new, now).await?;
    // The replaced link's mail, if still unsent, goes with it.
    db::outbox::withdraw_unsent(&mut tx, "invitation", invite.email.as_str()).await?;
    let clinic_code = clinic.as_ref().map_or("", |c| c.code.as_str());
    audit::record(
        &mut tx,
        audit::Entry {
            actor: &audit::Actor::User {
                id: inviter.id,
                email: inviter.email.to_owned(),
            },
            action: "user.invited",
            clinic_id: clinic.as_ref().map(|c| c.id),
            detail: &audit::fields(&[
                ("email", invite.email.as_str()),
                ("role", invite.role.as_db()),
                ("clinic", clinic_code),
                ("replaced", if replaced { "yes" } else { "no" }),
            ]),
            ip: None,
        },
    )
    .await?;
    let clinic_label = clinic.as_ref().map(|c| format!("{}（{}）", c.name, c.code));
    invitation_mail(
        &mut tx,
        invite.email.as_str(),
        invite.language,
        &InvitationFacts {
            invited_by: inviter.email,
            role: invite.role,
            clinic: clinic_label.as_deref(),
            link: &link(public_url, INVITE_PATH, &token),
            expires_at,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(replaced)
}

struct InvitationFacts<'a> {
    invited_by: &'a str,
    role: Role,
    clinic: Option<&'a str>,
    link: &'a str,
    expires_at: i64,
}

/// The invitation mail: who invited, the role and clinic, the link and until when it works.
async fn invitation_mail(
    tx: &mut db::Tx,
    recipient: &str,
    language: &str,
    facts: &InvitationFacts<'_>,
) -> anyhow::Result<()> {
    let (role_ja, role_en) = role_labels(facts.role);
    let expires_at = jst(facts.expires_at);
    let text = InvitationText {
        invited_by: facts.invited_by,
        role_ja,
        role_en,
        clinic: facts.clinic,
        link: facts.link,
        expires_at: &expires_at,
    }
    .render()?;
    let html = InvitationHtml {
        invited_by: facts.invited_by,
        role_ja,
        role_en,
        clinic: facts.clinic,
        link: facts.link,
        expires_at: &expires_at,
    }
    .render()?;
    db::outbox::enqueue(
        tx,
        &db::outbox::NewMessage {
            recipient,
            language,
            kind: "invitation",
            subject: "【目視モード サポートポータル】アカウントへの招待 / You are invited to the portal",
            body_text: &text,
            body_html: &html,
        },
    )
    .await?;
    Ok(())
}

/// Revokes a pending invitation (its link stops working); false when there is none any more.
pub async fn revoke_invitation(pool: &db::Pool, actor: &audit::Actor, id: i64) -> Result<bool, AccountError> {
    let mut tx = db::begin_write(pool).await?;
    let Some(invitation) = db::invitations::revoke(&mut tx, id).await? else {
        return Ok(false);
    };
    // Its mail, if still unsent (the SMTP server down), is not sent after all.
    db::outbox::withdraw_unsent(&mut tx, "invitation", &invitation.email).await?;
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "invitation.revoked",
            clinic_id: invitation.clinic_id,
            detail: &audit::fields(&[("email", &invitation.email), ("role", &invitation.role)]),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// What an invitation link's page shows.
pub struct InvitationView {
    pub email: String,
    pub role: Role,
    pub clinic_name: Option<String>,
    pub expires_at: i64,
}

/// The invitation of a link, if it may still be used; reading does not consume it.
pub async fn invitation_for(pool: &db::Pool, token: &str) -> Result<Option<InvitationView>, AccountError> {
    let Some(hash) = token_hash(token) else {
        return Ok(None);
    };
    let Some(invitation) = db::invitations::valid(pool, &hash, db::now()).await? else {
        return Ok(None);
    };
    let Some(role) = Role::from_db(&invitation.role) else {
        return Ok(None);
    };
    let clinic_name = match invitation.clinic_id {
        Some(id) => db::clinics::by_id(pool, id).await?.map(|c| c.name),
        None => None,
    };
    Ok(Some(InvitationView {
        email: invitation.email,
        role,
        clinic_name,
        expires_at: invitation.expires_at,
    }))
}

/// Accepts an invitation: creates the account with the invited role and clinic and the password
/// the invitee chose, consuming the link in the same transaction. `Ok(None)` when the link is not
/// (or no longer) valid: of two racing acceptances one creates the account, the other gets this.
pub async fn accept_invitation(
    pool: &db::Pool,
    hasher: &Hasher,
    token: &str,
    password: &Password,
    ip: Option<&str>,
) -> Result<Option<i64>, AccountError> {
    let Some(hash) = token_hash(token) else {
        return Ok(None);
    };
    // No argon2 work for a link that is no good.
    if db::invitations::valid(pool, &hash, db::now()).await?.is_none() {
        return Ok(None);
    }
    let password_hash = hasher.hash_password(password).await?;
    let mut tx = db::begin_write(pool).await?;
    let Some(invitation) = db::invitations::consume(&mut tx, &hash, db::now()).await? else {
        return Ok(None);
    };
    let id = match db::users::insert(
        &mut tx,
        &invitation.email,
        &password_hash,
        &invitation.role,
        invitation.clinic_id,
    )
    .await
    {
        Ok(id) => id,
        // Created meanwhile from the command line or the create form: the invitation stays.
        Err(e) if db::is_unique_violation(&e) => return Err(AccountError::DuplicateUser(invitation.email)),
        Err(e) => return Err(e.into()),
    };
    let inviter = db::users::by_id(&mut tx, invitation.invited_by)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    audit::record(
        &mut tx,
        audit::Entry {
            actor: &audit::Actor::User {
                id,
                email: invitation.email.clone(),
            },
            action: "invitation.accepted",
            clinic_id: invitation.clinic_id,
            detail: &audit::fields(&[
                ("email", &invitation.email),
                ("role", &invitation.role),
                ("invited_by", &inviter),
            ]),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// What became of a reset request. The person asking is told the same in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetRequest {
    Mailed,
    /// No account has this address, or it is disabled: nothing mailed.
    NoAccount,
    /// Too many requests for this address or from this client: nothing mailed.
    Throttled,
}

/// Asks for a password-reset link for `typed_email`: mailed when an active account has the
/// address and neither limit is reached. The work is the same whether or not the account
/// exists (a throttle reservation, a token, the message rendered, one write transaction with an
/// audit entry); only the reset row and the outbox row are skipped without an account.
pub async fn request_reset(
    pool: &db::Pool,
    public_url: &str,
    typed_email: &str,
    ip: Option<&str>,
    language: &str,
) -> Result<ResetRequest, AccountError> {
    let email: String = typed_email.trim().to_lowercase().chars().take(254).collect();
    let address = throttle::address_key(ip.unwrap_or("unknown"));
    // Distinct prefixes, so no typed address can land in another key's bucket. The account's
    // own limit is per client address, so a stranger asking over and over uses up only their
    // own share; the account's overall limit is higher, so several strangers are needed to
    // hold its owner's mail back, and the mailbox gets at most that many an hour.
    let account_key = format!("password_reset:account:{email}");
    let account_from_key = format!("password_reset:account_from:{address}:{email}");
    let address_key = format!("password_reset:{address}");
    let limits = [
        (account_from_key.as_str(), RESETS_PER_ACCOUNT_FROM_ADDRESS),
        (account_key.as_str(), RESETS_PER_ACCOUNT),
        (address_key.as_str(), RESETS_PER_ADDRESS),
    ];
    // Every request counts (never released): the limits are on mails asked for, not failures.
    if throttle::reserve(pool, &limits).await?.is_err() {
        return Ok(ResetRequest::Throttled);
    }
    let user = match Email::parse(&email) {
        Ok(email) => db::users::by_email(pool, email.as_str()).await?,
        Err(_) => None,
    }
    .filter(|u| u.disabled_at.is_none());
    let now = db::now();
    let account = user.as_ref().map_or(email.as_str(), |u| u.email.as_str());
    let mail = reset_mail(public_url, account, now)?;
    let mut tx = db::begin_write(pool).await?;
    db::password_resets::prune(&mut tx, now).await?;
    if let Some(user) = &user {
        queue_reset(&mut tx, user, &mail, now, language).await?;
    }
    let outcome = if user.is_some() {
        ResetRequest::Mailed
    } else {
        ResetRequest::NoAccount
    };
    audit::record(
        &mut tx,
        audit::Entry {
            actor: &audit::Actor::Anonymous,
            action: "password.reset_requested",
            clinic_id: user.as_ref().and_then(|u| u.clinic_id),
            detail: &audit::fields(&[
                ("email", &email),
                ("outcome", if user.is_some() { "mailed" } else { "no_account" }),
            ]),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A reset link's mail, rendered (the same work whether or not it is then sent).
struct ResetMail {
    hash: [u8; 32],
    expires_at: i64,
    text: String,
    html: String,
}

fn reset_mail(public_url: &str, account: &str, now: i64) -> Result<ResetMail, AccountError> {
    let token = new_token()?;
    let hash = device_token::hash(token.expose());
    let expires_at = now + RESET_VALID_S;
    let expires = jst(expires_at);
    let link = link(public_url, RESET_PATH, &token);
    let text = ResetText {
        account,
        link: &link,
        expires_at: &expires,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let html = ResetHtml {
        account,
        link: &link,
        expires_at: &expires,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(ResetMail {
        hash,
        expires_at,
        text,
        html,
    })
}

/// Writes the account's new reset link (older unused ones stop working, and their mails go if
/// still unsent) and its mail, in the caller's transaction.
async fn queue_reset(
    tx: &mut db::Tx,
    user: &db::users::User,
    mail: &ResetMail,
    now: i64,
    language: &str,
) -> Result<(), AccountError> {
    db::password_resets::replace(tx, user.id, &mail.hash, now, mail.expires_at).await?;
    // An older link's mail still waiting (the SMTP server down) would carry a dead link.
    db::outbox::withdraw_unsent(tx, "password_reset", &user.email).await?;
    db::outbox::enqueue(
        tx,
        &db::outbox::NewMessage {
            recipient: &user.email,
            language,
            kind: "password_reset",
            subject: "【目視モード サポートポータル】パスワードの再設定 / Reset your password",
            body_text: &mail.text,
            body_html: &mail.html,
        },
    )
    .await?;
    Ok(())
}

/// Forgets the account's unused reset link and withdraws its mail if still unsent, in the
/// caller's transaction: the password was just set another way (or the account disabled), and a
/// link asked for before must not set it again.
pub async fn forget_reset_link(tx: &mut db::Tx, user_id: i64, email: &str) -> db::Result<()> {
    db::password_resets::forget_for_user(tx, user_id).await?;
    db::outbox::withdraw_unsent(tx, "password_reset", email).await?;
    Ok(())
}

/// An operator sends a user a reset link (instead of typing a password for them): the user
/// chooses their own through it, exactly as after 「パスワードをお忘れの方」. Audited as
/// `password.reset_link_sent`. `Ok(false)` when the account is disabled.
pub async fn send_reset_link(
    pool: &db::Pool,
    public_url: &str,
    actor: &audit::Actor,
    user_id: i64,
) -> Result<bool, AccountError> {
    let user = db::users::by_id(pool, user_id)
        .await?
        .ok_or(AccountError::UnknownUser)?;
    if user.disabled_at.is_some() {
        return Ok(false);
    }
    let now = db::now();
    let mail = reset_mail(public_url, &user.email, now)?;
    let language = db::notifications::language(pool, user.id)
        .await?
        .unwrap_or_else(|| "ja".to_owned());
    let mut tx = db::begin_write(pool).await?;
    db::password_resets::prune(&mut tx, now).await?;
    queue_reset(&mut tx, &user, &mail, now, &language).await?;
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "password.reset_link_sent",
            clinic_id: user.clinic_id,
            detail: &audit::fields(&[("email", &user.email)]),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Whether a reset link may still be used (for its page); reading does not consume it.
pub async fn reset_link_is_valid(pool: &db::Pool, token: &str) -> Result<bool, AccountError> {
    let Some(hash) = token_hash(token) else {
        return Ok(false);
    };
    let Some(user_id) = db::password_resets::valid(pool, &hash, db::now()).await? else {
        return Ok(false);
    };
    Ok(db::users::by_id(pool, user_id)
        .await?
        .is_some_and(|u| u.disabled_at.is_none()))
}

/// Sets a new password through a reset link, consuming it in the same transaction: every session
/// of the account ends (the session generation moves on and the sessions list's rows end), the
/// account's sign-in delay is lifted, `password.reset` is audited and the account is sent a
/// security notice (no link, no secret). `Ok(None)` when the link is not (or no longer) valid or
/// the account is disabled.
pub async fn reset_password(
    pool: &db::Pool,
    hasher: &Hasher,
    token: &str,
    password: &Password,
    ip: Option<&str>,
    language: &str,
) -> Result<Option<i64>, AccountError> {
    let Some(hash) = token_hash(token) else {
        return Ok(None);
    };
    if !reset_link_is_valid(pool, token).await? {
        return Ok(None);
    }
    let password_hash = hasher.hash_password(password).await?;
    let mut tx = db::begin_write(pool).await?;
    let now = db::now();
    let Some(user_id) = db::password_resets::consume(&mut tx, &hash, now).await? else {
        return Ok(None);
    };
    let Some(user) = db::users::by_id(&mut tx, user_id).await? else {
        return Ok(None);
    };
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    db::users::set_password_hash(&mut tx, user.id, &password_hash, false).await?;
    db::user_sessions::end_others(&mut tx, user.id, None, now).await?;
    db::login_failures::clear(&mut tx, &throttle::account_key(&user.email)).await?;
    audit::record(
        &mut tx,
        audit::Entry {
            actor: &audit::Actor::User {
                id: user.id,
                email: user.email.clone(),
            },
            action: "password.reset",
            clinic_id: user.clinic_id,
            detail: &audit::fields(&[("email", &user.email)]),
            ip,
        },
    )
    .await?;
    let changed_at = jst(now);
    let text = ChangedText {
        account: &user.email,
        changed_at: &changed_at,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let html = ChangedHtml {
        account: &user.email,
        changed_at: &changed_at,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    db::outbox::enqueue(
        &mut tx,
        &db::outbox::NewMessage {
            recipient: &user.email,
            language,
            kind: "password_changed",
            subject: "【目視モード サポートポータル】パスワードが変更されました / Your password was changed",
            body_text: &text,
            body_html: &html,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(user.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_in_hex_and_only_those_are_looked_up() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        assert_eq!(token_hash(a.expose()), Some(device_token::hash(a.expose())));
        assert_eq!(token_hash("short"), None);
        assert_eq!(token_hash(&"g".repeat(64)), None);
    }

    #[test]
    fn links_start_with_the_public_url() {
        let token = Secret::new("ab".repeat(32));
        assert_eq!(
            link("https://portal.example.jp/", INVITE_PATH, &token),
            format!("https://portal.example.jp/invite/{}", "ab".repeat(32))
        );
    }
}
