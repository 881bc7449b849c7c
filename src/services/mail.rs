//! The messages the portal sends, composed here and written into the outbox (`db::outbox`) in
//! the caller's transaction. Japanese first, English below (users have no language of their
//! own yet); plain text and HTML. No secret ever goes into a message: no passcode, no token, no
//! password.

use askama::Template;
use time::OffsetDateTime;

use crate::db::{self, audit};
use crate::domain::business_time::JST;

#[derive(Template)]
#[template(path = "mail/passcode_issued.txt", escape = "none")]
struct PasscodeIssuedText<'a> {
    clinic_name: &'a str,
    clinic_code: &'a str,
    issued_by_ja: &'a str,
    issued_by_en: &'a str,
    issued_at: &'a str,
    via_ja: &'a str,
    via_en: &'a str,
}

#[derive(Template)]
#[template(path = "mail/passcode_issued.html")]
struct PasscodeIssuedHtml<'a> {
    clinic_name: &'a str,
    clinic_code: &'a str,
    issued_by_ja: &'a str,
    issued_by_en: &'a str,
    issued_at: &'a str,
    via_ja: &'a str,
    via_en: &'a str,
}

/// A Unix time as people in Japan read it: `2026-12-02 21:40`.
pub fn jst(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.to_offset(JST))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// Tells every active clinic admin of the clinic that its passcode was issued: by whom, when
/// and from where, never the code. Written in `tx`, the issue's own transaction.
pub async fn passcode_issued(
    tx: &mut db::Tx,
    clinic_id: i64,
    actor: &audit::Actor,
    from_command_line: bool,
    at: i64,
) -> anyhow::Result<usize> {
    let recipients = db::users::clinic_admin_emails(&mut *tx, clinic_id).await?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let Some(clinic) = db::clinics::by_id(&mut *tx, clinic_id).await? else {
        return Ok(0);
    };
    let (issued_by_ja, issued_by_en) = match actor {
        audit::Actor::User { email, .. } => (email.clone(), email.clone()),
        _ => (
            "設置業者（コマンドライン）".to_owned(),
            "the installer (command line)".to_owned(),
        ),
    };
    let (via_ja, via_en) = if from_command_line {
        ("コマンドライン", "the command line")
    } else {
        ("ポータル（Web）", "the portal (web)")
    };
    let issued_at = jst(at);
    let text = PasscodeIssuedText {
        clinic_name: &clinic.name,
        clinic_code: &clinic.code,
        issued_by_ja: &issued_by_ja,
        issued_by_en: &issued_by_en,
        issued_at: &issued_at,
        via_ja,
        via_en,
    }
    .render()?;
    let html = PasscodeIssuedHtml {
        clinic_name: &clinic.name,
        clinic_code: &clinic.code,
        issued_by_ja: &issued_by_ja,
        issued_by_en: &issued_by_en,
        issued_at: &issued_at,
        via_ja,
        via_en,
    }
    .render()?;
    let subject = format!(
        "【目視確認用パスコード】{} のパスコードが発行されました / Passcode issued",
        clinic.name
    );
    for recipient in &recipients {
        db::outbox::enqueue(
            tx,
            &db::outbox::NewMessage {
                recipient,
                language: "ja",
                kind: "passcode_issued",
                subject: &subject,
                body_text: &text,
                body_html: &html,
            },
        )
        .await?;
    }
    Ok(recipients.len())
}
