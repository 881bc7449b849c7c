//! Sending mail: the SMTP transport (lettre) built from `--smtp-url`, and the sender task that
//! delivers the outbox (`db::outbox`). Messages are claimed under a lease, so with several
//! processes each is sent once; a process that dies between sending and marking leaves the
//! claim to run out and the message is sent again (at least once, never lost).

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

/// How long a claim holds: longer than any one send (the SMTP timeout below).
const LEASE_S: i64 = 120;
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages claimed per round.
const BATCH: i64 = 20;
/// Failed attempts before a message is given up as failing (its last error kept).
pub const MAX_ATTEMPTS: i64 = 10;
/// The longest wait between two attempts.
const MAX_BACKOFF_S: i64 = 3600;

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

    async fn send(&self, message: &db::outbox::Claimed) -> anyhow::Result<()> {
        let to: Mailbox = message
            .recipient
            .parse()
            .with_context(|| format!("invalid recipient {:?}", message.recipient))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                message.body_text.clone(),
                message.body_html.clone(),
            ))
            .context("cannot build the message")?;
        self.transport.send(email).await.context("SMTP")?;
        Ok(())
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
/// in this process), otherwise every `poll`.
pub async fn run(
    pool: db::Pool,
    mailer: Arc<Mailer>,
    wake: Arc<Notify>,
    poll: Duration,
    retry_base_s: i64,
    depth: prometheus_client::metrics::gauge::Gauge,
) {
    let owner = format!(
        "{}-{}",
        std::process::id(),
        crate::auth::session::random_hex(6).unwrap_or_default()
    );
    loop {
        match deliver_due(&pool, &mailer, &owner, retry_base_s).await {
            // A full batch: there may be more at once.
            Ok(n) if n as i64 == BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "reading the mail outbox failed"),
        }
        if let Ok(queued) = db::outbox::depth(&pool).await {
            depth.set(queued);
        }
        let _ = tokio::time::timeout(poll, wake.notified()).await;
    }
}

/// One round: claims due messages and sends each. Returns how many were claimed.
pub async fn deliver_due(pool: &db::Pool, mailer: &Mailer, owner: &str, retry_base_s: i64) -> anyhow::Result<usize> {
    let claimed = db::outbox::claim_due(pool, owner, db::now(), LEASE_S, BATCH).await?;
    for message in &claimed {
        match mailer.send(message).await {
            Ok(()) => {
                db::outbox::mark_sent(pool, message.id, owner, db::now()).await?;
                tracing::info!(id = message.id, "mail sent");
            }
            Err(e) => {
                let attempts = message.attempts + 1;
                let give_up = attempts >= MAX_ATTEMPTS;
                let error = format!("{e:#}");
                let next = db::now() + backoff_s(retry_base_s, attempts);
                db::outbox::mark_failed(pool, message.id, owner, &error, next, give_up).await?;
                tracing::warn!(id = message.id, attempts, give_up, error, "sending mail failed");
            }
        }
    }
    Ok(claimed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(Mailer::from_config(Some(&url("smtp://x:notaport")), "a@b.jp", None).is_err());
        assert!(Mailer::from_config(Some(&url("smtp://x:25")), "not an address", None).is_err());
    }
}
