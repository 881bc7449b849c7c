//! Sending mail: the SMTP transport (lettre) built from `--smtp-url`, and the sender task that
//! delivers the outbox (`db::outbox`). Messages are claimed under a lease, renewed just before
//! each send and longer than any one send, so with several processes each is sent once; a
//! process that dies between sending and marking leaves the claim to run out and the message is
//! sent again (at least once, never lost). Only permanent refusals (5xx) give a message up
//! quickly; an unreachable or busy server is retried for [`GIVE_UP_AFTER_S`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use crate::db;
use crate::domain::Secret;
use crate::domain::notification::Kind;

/// Each step of an SMTP conversation (connect, greeting, each command) times out after this.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages claimed per round.
const BATCH: i64 = 20;
/// Permanent refusals (SMTP 5xx) before a message is given up as failing (its last error kept).
pub const MAX_REJECTIONS: i64 = 10;
/// How long transient failures (server down or unreachable, timeouts, 4xx) are retried, from
/// the message's creation or an operator's retry, before it is given up as failing.
pub const GIVE_UP_AFTER_S: i64 = 3 * 86_400;
/// The longest wait between two attempts.
const MAX_BACKOFF_S: i64 = 3600;

/// How the sender runs (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct Sending {
    /// How often it looks at the outbox when nothing woke it.
    pub poll: Duration,
    /// The first retry's wait; doubles each time, at most an hour.
    pub retry_base_s: i64,
    /// How long a claim holds (`claim_due`, renewed before each send).
    pub lease_s: i64,
}

impl Sending {
    /// A whole send (every SMTP step) is cut off after this: three quarters of the lease, so the
    /// claim renewed just before it still holds when the send ends and is marked.
    pub fn send_deadline(&self) -> Duration {
        Duration::from_secs((self.lease_s.max(2) as u64 * 3) / 4)
    }
}

/// Why a send failed, which decides what happens next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The server refused it for good (5xx), or it cannot be made into a message: counts
    /// towards [`MAX_REJECTIONS`].
    Rejected,
    /// The server answered "not now" (4xx): retried; the server is up, the round goes on.
    Deferred,
    /// No answer: connection refused or cut, TLS, a timeout. Retried, and the round ends there,
    /// since every other message would wait for the same timeout.
    Unreachable,
}

impl Failure {
    fn of(error: &lettre::transport::smtp::Error) -> Self {
        if error.is_permanent() {
            Self::Rejected
        } else if error.is_transient() {
            Self::Deferred
        } else {
            Self::Unreachable
        }
    }
}

/// Whether a message whose send failed with `failure` is given up now: after
/// [`MAX_REJECTIONS`] permanent refusals (`rejections` counts this one), or, for any failure,
/// once it has been retried for [`GIVE_UP_AFTER_S`] since `retrying_since`.
pub fn gives_up(failure: Failure, rejections: i64, retrying_since: i64, now: i64) -> bool {
    (failure == Failure::Rejected && rejections >= MAX_REJECTIONS) || now - retrying_since >= GIVE_UP_AFTER_S
}

/// What start-up should warn about in `--mail-from`: relays refuse a sender at `localhost` (the
/// default), so mail would fail once `--smtp-url` is set.
pub fn sender_warning(mail_from: &str) -> Option<String> {
    let domain = mail_from.rsplit_once('@').map_or("", |(_, d)| d.trim_end_matches('>'));
    domain.eq_ignore_ascii_case("localhost").then(|| {
        format!(
            "--mail-from is {mail_from:?}: most SMTP relays refuse a sender at localhost; \
             set --mail-from (PORTAL_MAIL_FROM) to an address of your domain"
        )
    })
}

/// The configured SMTP server and sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Where mail goes, without the password, for the log.
    pub server: String,
    /// The decoded user and password, for the unit tests.
    #[cfg(test)]
    credentials: Option<(String, String)>,
}

impl Mailer {
    /// The mailer of `--smtp-url` and `--mail-from`; `Ok(None)` when no SMTP URL is set (mail
    /// off); an error naming the problem when the URL or the address is unusable.
    pub fn from_config(
        smtp_url: Option<&Secret<String>>,
        mail_from: &str,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(url) = smtp_url else {
            return Ok(None);
        };
        let url = url.expose();
        let server = db::redacted(url);
        let (scheme, rest) = url
            .split_once("://")
            .with_context(|| format!("invalid --smtp-url {server}: expected smtp://, smtp+starttls:// or smtps://"))?;
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((userinfo, host_port)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                // As in any URL, `@`, `:` and `%` in the user or password are percent-encoded.
                let decode = |part: &str, what: &str| {
                    percent_decode(part).with_context(|| {
                        format!("invalid --smtp-url {server}: the {what} is not valid percent-encoding")
                    })
                };
                (Some((decode(user, "user")?, decode(password, "password")?)), host_port)
            }
            None => (None, rest),
        };
        let host_port = host_port.trim_end_matches('/');
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => {
                let port: u16 = port
                    .parse()
                    .with_context(|| format!("invalid --smtp-url {server}: the port must be a number"))?;
                (host, Some(port))
            }
            None => (host_port, None),
        };
        if host.is_empty() {
            bail!("invalid --smtp-url {server}: no host");
        }
        // The certificate is always verified, against the usual roots plus `--smtp-ca-file`'s.
        let tls = || -> anyhow::Result<TlsParameters> {
            let mut params = TlsParameters::builder(host.to_owned());
            if let Some(path) = ca_file {
                let pem =
                    std::fs::read(path).with_context(|| format!("cannot read --smtp-ca-file {}", path.display()))?;
                let root = Certificate::from_pem(&pem)
                    .with_context(|| format!("--smtp-ca-file {} holds no PEM certificate", path.display()))?;
                params = params.add_root_certificate(root);
            }
            params
                .build_rustls()
                .with_context(|| format!("invalid --smtp-url {server}"))
        };
        let plain = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
        let builder = match scheme {
            "smtp" => plain.port(port.unwrap_or(25)),
            "smtp+starttls" => plain.port(port.unwrap_or(587)).tls(Tls::Required(tls()?)),
            "smtps" => plain.port(port.unwrap_or(465)).tls(Tls::Wrapper(tls()?)),
            other => {
                bail!("invalid --smtp-url {server}: unknown scheme {other:?} (smtp://, smtp+starttls:// or smtps://)")
            }
        };
        let builder = builder.timeout(Some(SMTP_TIMEOUT));
        let builder = match credentials.clone() {
            Some((user, password)) => builder.credentials(Credentials::new(user, password)),
            None => builder,
        };
        let from: Mailbox = mail_from.parse().with_context(|| {
            format!("invalid --mail-from {mail_from:?}: expected an address like portal@example.jp")
        })?;
        Ok(Some(Self {
            transport: builder.build(),
            from,
            server,
            #[cfg(test)]
            credentials,
        }))
    }

    async fn send(&self, message: &db::outbox::Claimed) -> Result<(), (Failure, anyhow::Error)> {
        let email = self.build(message).map_err(|e| (Failure::Rejected, e))?;
        self.transport
            .send(email)
            .await
            .map(drop)
            .map_err(|e| (Failure::of(&e), anyhow::Error::new(e).context("SMTP")))
    }

    fn build(&self, message: &db::outbox::Claimed) -> anyhow::Result<Message> {
        let to: Mailbox = message
            .recipient
            .parse()
            .with_context(|| format!("invalid recipient {:?}", message.recipient))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                message.body_text.clone(),
                message.body_html.clone(),
            ))
            .context("cannot build the message")
    }
}

/// `user%40example.jp` → `user@example.jp`; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Seconds to wait after the `attempts`-th failure: 30 s, 1 min, 2 min… at most an hour.
pub fn backoff_s(base_s: i64, attempts: i64) -> i64 {
    let shift = attempts.clamp(1, 20) - 1;
    base_s.saturating_mul(1 << shift).min(MAX_BACKOFF_S)
}

/// Delivers due messages until the task is aborted: at once when woken (`wake`, after an enqueue
/// in this process), otherwise every `poll`; after a round that found the server unreachable,
/// after a backoff instead (unless woken).
pub async fn run(
    pool: db::Pool,
    mailer: Arc<Mailer>,
    wake: Arc<Notify>,
    sending: Sending,
    depth: prometheus_client::metrics::gauge::Gauge,
) {
    let owner = format!(
        "{}-{}",
        std::process::id(),
        crate::auth::session::random_hex(6).unwrap_or_default()
    );
    let mut unreachable_rounds = 0;
    loop {
        let pause = match deliver_due(&pool, &mailer, &owner, &sending).await {
            Ok(round) if round.unreachable => {
                unreachable_rounds += 1;
                let wait_s = backoff_s(sending.retry_base_s, unreachable_rounds);
                sending.poll.max(Duration::from_secs(wait_s as u64))
            }
            Ok(round) => {
                unreachable_rounds = 0;
                // A full batch: there may be more at once.
                if round.claimed as i64 == BATCH {
                    continue;
                }
                sending.poll
            }
            Err(e) => {
                tracing::warn!(error = ?e, "reading the mail outbox failed");
                sending.poll
            }
        };
        if let Ok(queued) = db::outbox::depth(&pool).await {
            depth.set(queued);
        }
        let _ = tokio::time::timeout(pause, wake.notified()).await;
    }
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Round {
    /// Messages claimed.
    pub claimed: usize,
    /// The server did not answer: the round ended early, the rest given back.
    pub unreachable: bool,
}

/// One round: claims due messages and sends each, renewing the claim just before. A database
/// error on one message is logged and the round goes on with the next (that message is tried
/// again once its lease runs out).
pub async fn deliver_due(pool: &db::Pool, mailer: &Mailer, owner: &str, sending: &Sending) -> anyhow::Result<Round> {
    let claimed = db::outbox::claim_due(pool, owner, db::now(), sending.lease_s, BATCH).await?;
    let mut round = Round {
        claimed: claimed.len(),
        unreachable: false,
    };
    for message in &claimed {
        if round.unreachable {
            // Given back at once, so the next round (of any process) need not wait for the lease.
            if let Err(e) = db::outbox::release(pool, message.id, owner).await {
                tracing::warn!(id = message.id, error = ?e, "giving a claimed message back failed");
            }
            continue;
        }
        match deliver(pool, mailer, owner, sending, message).await {
            Ok(Some(Failure::Unreachable)) => round.unreachable = true,
            Ok(_) => {}
            Err(e) => tracing::warn!(
                id = message.id,
                error = ?e,
                "updating the mail outbox failed; the message is tried again once its claim runs out"
            ),
        }
    }
    Ok(round)
}

/// Sends one claimed message and records the outcome; `Some(failure)` when the send failed.
async fn deliver(
    pool: &db::Pool,
    mailer: &Mailer,
    owner: &str,
    sending: &Sending,
    message: &db::outbox::Claimed,
) -> db::Result<Option<Failure>> {
    let id = message.id;
    let kind = Kind::parse(&message.kind);
    if kind.is_some_and(|k| k.out_of_date(message.created_at, db::now())) {
        if db::outbox::drop_claimed(pool, id, owner).await? {
            tracing::info!(id, kind = message.kind, "out-of-date notice dropped, not sent");
        }
        return Ok(None);
    }
    if !db::outbox::renew(pool, id, owner).await? {
        tracing::warn!(
            id,
            "claim lost before sending (its lease ran out): left to the sender now holding it"
        );
        return Ok(None);
    }
    let sent = match tokio::time::timeout(sending.send_deadline(), mailer.send(message)).await {
        Ok(sent) => sent,
        Err(_) => Err((
            Failure::Unreachable,
            anyhow::anyhow!("SMTP: no answer within {} s", sending.send_deadline().as_secs()),
        )),
    };
    match sent {
        Ok(()) => {
            if db::outbox::mark_sent(pool, id, owner, db::now()).await? {
                tracing::info!(id, "mail sent");
            } else {
                tracing::warn!(id, "mail sent, but the claim was lost meanwhile: it may be sent again");
            }
            Ok(None)
        }
        Err((failure, e)) => {
            let now = db::now();
            let attempts = message.attempts + 1;
            let rejections = message.rejections + i64::from(failure == Failure::Rejected);
            let since = message.requeued_at.unwrap_or(message.created_at);
            let give_up = gives_up(failure, rejections, since, now);
            let error = format!("{e:#}");
            let next = now + backoff_s(sending.retry_base_s, attempts);
            let marked =
                db::outbox::mark_failed(pool, id, owner, &error, next, give_up, failure == Failure::Rejected).await?;
            tracing::warn!(id, attempts, ?failure, give_up, marked, error, "sending mail failed");
            Ok(Some(failure))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_refusals_count_and_transient_failures_go_on_for_three_days() {
        let t = 1_000_000;
        assert!(!gives_up(Failure::Rejected, MAX_REJECTIONS - 1, t, t));
        assert!(gives_up(Failure::Rejected, MAX_REJECTIONS, t, t));
        for failure in [Failure::Deferred, Failure::Unreachable] {
            // However many attempts: only the time since it was (re)queued counts.
            assert!(!gives_up(failure, 0, t, t + GIVE_UP_AFTER_S - 1), "{failure:?}");
            assert!(gives_up(failure, 0, t, t + GIVE_UP_AFTER_S), "{failure:?}");
        }
    }

    #[test]
    fn a_sender_at_localhost_is_warned_about() {
        assert!(sender_warning(crate::config::DEFAULT_MAIL_FROM).is_some());
        assert!(sender_warning("Portal <portal@LOCALHOST>").is_some());
        assert!(sender_warning("portal@installer.example.jp").is_none());
    }

    #[test]
    fn a_send_ends_well_within_its_lease() {
        let sending = |lease_s| Sending {
            poll: Duration::from_secs(3),
            retry_base_s: 30,
            lease_s,
        };
        assert_eq!(sending(120).send_deadline(), Duration::from_secs(90));
        assert_eq!(sending(4).send_deadline(), Duration::from_secs(3));
    }

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_an_hour() {
        assert_eq!(backoff_s(30, 1), 30);
        assert_eq!(backoff_s(30, 2), 60);
        assert_eq!(backoff_s(30, 3), 120);
        assert_eq!(backoff_s(30, 10), 3600);
        assert_eq!(backoff_s(30, 50), 3600);
    }

    #[test]
    fn the_user_and_password_of_an_smtp_url_are_percent_decoded() {
        assert_eq!(percent_decode("user%40example.jp").as_deref(), Some("user@example.jp"));
        assert_eq!(percent_decode("p%40ss%3Aw%25rd").as_deref(), Some("p@ss:w%rd"));
        assert_eq!(percent_decode("%E3%81%82").as_deref(), Some("あ"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        for broken in ["%", "%4", "%zz", "%FF"] {
            assert_eq!(percent_decode(broken), None, "{broken}");
        }
        let url = Secret::new("smtp://user%40example.jp:p%40ss@127.0.0.1:2525".to_owned());
        let m = Mailer::from_config(Some(&url), "a@b.jp", None).unwrap().unwrap();
        assert_eq!(
            m.credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
            Some(("user@example.jp", "p@ss"))
        );
        let bad = Secret::new("smtp://u:hunter2%zz@127.0.0.1".to_owned());
        let e = Mailer::from_config(Some(&bad), "a@b.jp", None).err().unwrap();
        assert!(format!("{e:#}").contains("percent-encoding") && !format!("{e:#}").contains("hunter2"));
    }

    #[test]
    fn smtp_urls_are_parsed_and_bad_ones_refused() {
        let url = |s: &str| Secret::new(s.to_owned());
        assert!(Mailer::from_config(None, "a@b.jp", None).unwrap().is_none());
        let m = Mailer::from_config(Some(&url("smtp://u:hunter2@127.0.0.1:2525")), "a@b.jp", None)
            .unwrap()
            .unwrap();
        assert!(!m.server.contains("hunter2"), "{}", m.server);
        assert!(Mailer::from_config(Some(&url("smtp+starttls://mail.example.jp")), "a@b.jp", None).is_ok());
        assert!(Mailer::from_config(Some(&url("smtps://mail.example.jp:465")), "a@b.jp", None).is_ok());
        let bad = Mailer::from_config(Some(&url("http://u:hunter2@x")), "a@b.jp", None)
            .err()
            .unwrap();
        assert!(!format!("{bad:#}").contains("hunter2"));
        // Without a scheme the start-up error names the URL, still without the password.
        let bad = Mailer::from_config(Some(&url("user:hunter2@mail.example.jp")), "a@b.jp", None)
            .err()
            .unwrap();
        let bad = format!("{bad:#}");
        assert!(
            bad.contains("user@mail.example.jp") && !bad.contains("hunter2"),
            "{bad}"
        );
        assert!(Mailer::from_config(Some(&url("smtp://x:notaport")), "a@b.jp", None).is_err());
        assert!(Mailer::from_config(Some(&url("smtp://x:25")), "not an address", None).is_err());
    }
}
