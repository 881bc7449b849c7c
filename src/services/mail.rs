//! The messages the portal sends, composed here and written into the outbox (`db::outbox`) in
//! the caller's transaction. Each goes in its recipient's language only (`users.language`,
//! Japanese unless they chose English), plain text and HTML, to the active users the kind is
//! for who have not turned it off (security notices cannot be turned off). No secret ever goes
//! into a message: no passcode, no token, no password, and no text people typed into a ticket
//! beyond its summary (a reply is announced, not quoted).

use askama::Template;
use time::OffsetDateTime;

use crate::db::{self, audit, notifications::Audience};
use crate::domain::business_time::JST;
use crate::domain::notification::{DUE_SOON_LEAD_S, Kind};
use crate::domain::ticket::TicketNumber;
use crate::i18n::{self, Lang};

/// An operator puts a failing message back in the queue, due now, its refusals forgotten and its
/// retry horizon starting again; audited in the same transaction. `false` when the message is
/// not failing (any more): a second click, or it was already put back.
pub async fn retry(pool: &db::Pool, actor: &audit::Actor, id: i64) -> anyhow::Result<bool> {
    let mut tx = db::begin_write(pool).await?;
    let Some(message) = db::outbox::requeue(&mut tx, id, db::now()).await? else {
        return Ok(false);
    };
    audit::record(
        &mut tx,
        audit::Entry {
            actor,
            action: "mail.requeued",
            clinic_id: None,
            detail: &audit::fields(&[("recipient", &message.recipient), ("kind", &message.kind)]),
            ip: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A line of facts: `発行者: admin@clinic.jp`.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// What one message says, in one language.
struct Notice {
    lang: &'static str,
    intro: String,
    facts: Vec<Fact>,
    outro: &'static str,
    footer: &'static str,
}

#[derive(Template)]
#[template(path = "mail/notice.txt", escape = "none")]
struct NoticeText<'a> {
    n: &'a Notice,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a> {
    n: &'a Notice,
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

/// `2026-12-02 21:40（日本時間）` or `2026-12-02 21:40 (JST)`.
fn at_text(lang: Lang, unix: i64) -> String {
    fill(i18n::text(lang, "mail.at"), &[("time", &jst(unix))])
}

/// The UI string with `{name}` replaced by its value.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// The message parts of one kind, in one language: the subject and intro are UI strings
/// `mail.<kind>.subject` / `.intro` filled with `values`, the outro `mail.<kind>.outro`.
fn notice(kind: Kind, lang: Lang, values: &[(&str, &str)], facts: Vec<(&str, String)>) -> (String, Notice) {
    let key = |part: &str| format!("mail.{}.{part}", kind.as_str());
    let subject = fill(i18n::text(lang, &key("subject")), values);
    let notice = Notice {
        lang: lang.code(),
        intro: fill(i18n::text(lang, &key("intro")), values),
        facts: facts
            .into_iter()
            .map(|(label, value)| Fact {
                label: i18n::text(lang, &format!("mail.fact.{label}")),
                value,
            })
            .collect(),
        outro: i18n::text(lang, &key("outro")),
        footer: i18n::text(
            lang,
            if kind.can_opt_out() {
                "mail.footer.optional"
            } else {
                "mail.footer.security"
            },
        ),
    };
    (subject, notice)
}

/// Mails `kind` to `audience` (less `except`, the person who caused the event, and anyone who
/// turned the kind off), composing it once per language. Returns how many were enqueued.
async fn send(
    tx: &mut db::Tx,
    kind: Kind,
    audience: Audience,
    except: Option<i64>,
    compose: impl Fn(Lang) -> (String, Notice),
) -> anyhow::Result<usize> {
    let recipients: Vec<_> = db::notifications::recipients(&mut *tx, audience, kind.as_str())
        .await?
        .into_iter()
        .filter(|r| Some(r.id) != except)
        .collect();
    let mut sent = 0;
    for lang in [Lang::Ja, Lang::En] {
        let group: Vec<_> = recipients
            .iter()
            .filter(|r| Lang::parse(&r.language).unwrap_or_default() == lang)
            .collect();
        if group.is_empty() {
            continue;
        }
        let (subject, notice) = compose(lang);
        let text = NoticeText { n: &notice }.render()?;
        let html = NoticeHtml { n: &notice }.render()?;
        for recipient in group {
            db::outbox::enqueue(
                tx,
                &db::outbox::NewMessage {
                    recipient: &recipient.email,
                    language: lang.code(),
                    kind: kind.as_str(),
                    subject: &subject,
                    body_text: &text,
                    body_html: &html,
                },
            )
            .await?;
            sent += 1;
        }
    }
    Ok(sent)
}

fn clinic_values(clinic: &db::clinics::Clinic) -> [(&'static str, String); 2] {
    [("clinic", clinic.name.clone()), ("code", clinic.code.clone())]
}

fn refs<'a>(values: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    values.iter().map(|(k, v)| (*k, v.as_str())).collect()
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
    let Some(clinic) = db::clinics::by_id(&mut *tx, clinic_id).await? else {
        return Ok(0);
    };
    let values = clinic_values(&clinic);
    send(
        tx,
        Kind::PasscodeIssued,
        Audience::ClinicAdmins(clinic_id),
        None,
        |lang| {
            let by = match actor {
                audit::Actor::User { email, .. } => email.clone(),
                _ => i18n::text(lang, "mail.by_installer_cli").to_owned(),
            };
            let via = i18n::text(
                lang,
                if from_command_line {
                    "mail.via.cli"
                } else {
                    "mail.via.web"
                },
            );
            let facts = vec![("issued_by", by), ("at", at_text(lang, at)), ("via", via.to_owned())];
            notice(Kind::PasscodeIssued, lang, &refs(&values), facts)
        },
    )
    .await
}

/// The clinic's passcode was disabled after too many wrong codes at its readers.
pub async fn passcode_disabled(tx: &mut db::Tx, clinic_id: i64, failures: i64, at: i64) -> anyhow::Result<usize> {
    let Some(clinic) = db::clinics::by_id(&mut *tx, clinic_id).await? else {
        return Ok(0);
    };
    let values = clinic_values(&clinic);
    send(
        tx,
        Kind::PasscodeDisabled,
        Audience::ClinicAdmins(clinic_id),
        None,
        |lang| {
            let facts = vec![("failures", failures.to_string()), ("at", at_text(lang, at))];
            notice(Kind::PasscodeDisabled, lang, &refs(&values), facts)
        },
    )
    .await
}

/// A reader of the clinic was locked after wrong codes.
pub async fn reader_locked(
    tx: &mut db::Tx,
    clinic_id: i64,
    reader_id: i64,
    locked_for_s: u64,
    at: i64,
) -> anyhow::Result<usize> {
    let (Some(clinic), Some(reader)) = (
        db::clinics::by_id(&mut *tx, clinic_id).await?,
        db::readers::by_id(&mut *tx, reader_id).await?,
    ) else {
        return Ok(0);
    };
    let mut values = clinic_values(&clinic).to_vec();
    values.push(("reader", reader.name.clone()));
    send(
        tx,
        Kind::ReaderLocked,
        Audience::ClinicAdmins(clinic_id),
        None,
        |lang| {
            let minutes = locked_for_s.div_ceil(60).to_string();
            let facts = vec![
                ("reader", reader.name.clone()),
                ("at", at_text(lang, at)),
                ("locked_for", fill(i18n::text(lang, "mail.minutes"), &[("n", &minutes)])),
            ];
            notice(Kind::ReaderLocked, lang, &refs(&values), facts)
        },
    )
    .await
}

/// A ticket as a message names it: its number, summary and clinic.
pub struct TicketRef<'a> {
    pub id: i64,
    pub clinic_id: i64,
    pub summary: &'a str,
}

async fn ticket_values(tx: &mut db::Tx, ticket: &TicketRef<'_>) -> anyhow::Result<Vec<(&'static str, String)>> {
    let clinic = db::clinics::by_id(&mut *tx, ticket.clinic_id).await?;
    Ok(vec![
        ("number", TicketNumber::from_id(ticket.id).to_string()),
        ("summary", ticket.summary.to_owned()),
        ("clinic", clinic.as_ref().map(|c| c.name.clone()).unwrap_or_default()),
        ("code", clinic.map(|c| c.code).unwrap_or_default()),
    ])
}

fn ticket_facts(values: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let get = |name: &str| {
        values
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    vec![
        ("ticket", get("number")),
        ("summary", get("summary")),
        ("clinic", format!("{} ({})", get("clinic"), get("code"))),
    ]
}

/// Mails a ticket event of `kind` to `audience`, except its author.
async fn ticket_event(
    tx: &mut db::Tx,
    kind: Kind,
    audience: Audience,
    author_id: Option<i64>,
    ticket: &TicketRef<'_>,
    at: i64,
) -> anyhow::Result<usize> {
    let values = ticket_values(tx, ticket).await?;
    send(tx, kind, audience, author_id, |lang| {
        let mut facts = ticket_facts(&values);
        facts.push(("at", at_text(lang, at)));
        notice(kind, lang, &refs(&values), facts)
    })
    .await
}

/// A clinic asked the desk for help: every agent hears of it.
pub async fn request_new(tx: &mut db::Tx, author_id: i64, ticket: &TicketRef<'_>, at: i64) -> anyhow::Result<usize> {
    ticket_event(tx, Kind::RequestNew, Audience::Agents, Some(author_id), ticket, at).await
}

/// The clinic replied: the assignee hears of it, or every agent while no one (active) is assigned.
pub async fn clinic_reply(
    tx: &mut db::Tx,
    author_id: i64,
    assignee_id: Option<i64>,
    ticket: &TicketRef<'_>,
    at: i64,
) -> anyhow::Result<usize> {
    let audience = assignee_id.map_or(Audience::Agents, Audience::AssigneeOrAgents);
    ticket_event(tx, Kind::ClinicReply, audience, Some(author_id), ticket, at).await
}

/// The desk replied: the clinic's admins hear of it (the reply itself is read on the portal).
pub async fn desk_reply(tx: &mut db::Tx, author_id: i64, ticket: &TicketRef<'_>, at: i64) -> anyhow::Result<usize> {
    let audience = Audience::ClinicAdmins(ticket.clinic_id);
    ticket_event(tx, Kind::DeskReply, audience, Some(author_id), ticket, at).await
}

/// The ticket was assigned to `assignee_id` (not mailed when they assigned it to themselves).
pub async fn ticket_assigned(
    tx: &mut db::Tx,
    author_id: i64,
    assignee_id: i64,
    ticket: &TicketRef<'_>,
    at: i64,
) -> anyhow::Result<usize> {
    let audience = Audience::User(assignee_id);
    ticket_event(tx, Kind::TicketAssigned, audience, Some(author_id), ticket, at).await
}

/// A security notice about the user's own account (`security_*` kinds; they cannot be turned
/// off), for whoever changes a password, resets one or resets a second factor:
/// `security_notice(&mut tx, user_id, Kind::SecurityPasswordChanged, db::now(), ip)` in the
/// transaction of the change. The message says what happened, when and from which address.
pub async fn security_notice(
    tx: &mut db::Tx,
    user_id: i64,
    kind: Kind,
    at: i64,
    ip: Option<&str>,
) -> anyhow::Result<usize> {
    security_notice_with(tx, user_id, kind, at, ip, &[]).await
}

/// Who did it, as a security notice says: the operator's address, or the command line.
pub fn by_whom(actor: &audit::Actor) -> String {
    match actor {
        audit::Actor::User { email, .. } => email.clone(),
        _ => "portal (command line)".to_owned(),
    }
}

/// A security notice with facts of its own after the time and address (who reset the second
/// factor, how many wrong codes), each a `mail.fact.<label>` string and its value.
pub async fn security_notice_with(
    tx: &mut db::Tx,
    user_id: i64,
    kind: Kind,
    at: i64,
    ip: Option<&str>,
    extra: &[(&'static str, String)],
) -> anyhow::Result<usize> {
    anyhow::ensure!(!kind.can_opt_out(), "{} is not a security notice", kind.as_str());
    send(tx, kind, Audience::User(user_id), None, |lang| {
        let mut facts = vec![("at", at_text(lang, at))];
        if let Some(ip) = ip {
            facts.push(("address", ip.to_owned()));
        }
        facts.extend(extra.iter().cloned());
        notice(kind, lang, &[], facts)
    })
    .await
}

/// The time-based notices, found by the server every round (`--notice-check-ms`): readers not
/// seen for longer than the stale threshold, and open tickets within [`DUE_SOON_LEAD_S`] of
/// their next due time. Each is claimed by a conditional UPDATE in the transaction of its
/// message, so with several processes each episode is mailed once. Returns how many were found.
pub async fn time_based(pool: &db::Pool, now: i64) -> anyhow::Result<usize> {
    let stale_after_min = db::readers::stale_after_min(pool).await?;
    let cutoff = now - stale_after_min * 60;
    let mut found = 0;
    for reader in db::notifications::stale_readers(pool, cutoff).await? {
        let mut tx = db::begin_write(pool).await?;
        if db::notifications::claim_stale_reader(&mut tx, reader.id, cutoff, now).await? {
            reader_stale(&mut tx, &reader, stale_after_min).await?;
            found += 1;
        }
        tx.commit().await?;
    }
    for ticket in db::notifications::tickets_due_soon(pool, now, DUE_SOON_LEAD_S).await? {
        let mut tx = db::begin_write(pool).await?;
        if db::notifications::claim_due_soon(&mut tx, ticket.id, ticket.due_at).await? {
            due_soon(&mut tx, &ticket).await?;
            found += 1;
        }
        tx.commit().await?;
    }
    Ok(found)
}

async fn reader_stale(
    tx: &mut db::Tx,
    reader: &db::notifications::StaleReader,
    stale_after_min: i64,
) -> anyhow::Result<usize> {
    let Some(clinic) = db::clinics::by_id(&mut *tx, reader.clinic_id).await? else {
        return Ok(0);
    };
    let mut values = clinic_values(&clinic).to_vec();
    values.push(("reader", reader.name.clone()));
    let threshold = stale_after_min.to_string();
    send(tx, Kind::ReaderStale, Audience::ClinicAdmins(clinic.id), None, |lang| {
        let last_seen = reader
            .last_seen_at
            .map_or_else(|| i18n::text(lang, "mail.never").to_owned(), |at| at_text(lang, at));
        let facts = vec![
            ("reader", reader.name.clone()),
            ("last_seen", last_seen),
            (
                "threshold",
                fill(i18n::text(lang, "mail.minutes"), &[("n", &threshold)]),
            ),
        ];
        notice(Kind::ReaderStale, lang, &refs(&values), facts)
    })
    .await
}

async fn due_soon(tx: &mut db::Tx, ticket: &db::notifications::DueSoon) -> anyhow::Result<usize> {
    let values = ticket_values(
        tx,
        &TicketRef {
            id: ticket.id,
            clinic_id: ticket.clinic_id,
            summary: &ticket.summary,
        },
    )
    .await?;
    let audience = ticket.assignee_id.map_or(Audience::Agents, Audience::AssigneeOrAgents);
    send(tx, Kind::TicketDueSoon, audience, None, |lang| {
        let mut facts = ticket_facts(&values);
        let which = if ticket.response {
            "mail.due.response"
        } else {
            "mail.due.resolution"
        };
        facts.push((
            "due",
            format!("{} {}", i18n::text(lang, which), at_text(lang, ticket.due_at)),
        ));
        notice(Kind::TicketDueSoon, lang, &refs(&values), facts)
    })
    .await
}
