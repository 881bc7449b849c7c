//! Runtime configuration: flags and environment, with defaults that work on a fresh machine.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::domain::Secret;

/// Options shared by every subcommand (they locate the data).
#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// Directory for the SQLite database, the passcode pepper and the audit key files.
    #[arg(long, env = "PORTAL_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// `sqlite:` or `postgres://` URL; defaults to `portal.db` (SQLite) inside the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

/// Options of `portal serve`.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PORTAL_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Public base URL (for example https://portal.example.jp). With https, cookies are
    /// marked `Secure` and HSTS is sent.
    #[arg(long, env = "PORTAL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Most long-polls held at once; beyond it readers get 503 with Retry-After, and slots
    /// are shared fairly between clinics. Clamped below --max-connections.
    #[arg(long, env = "PORTAL_MAX_LONG_POLLS", default_value_t = 15_000)]
    pub max_long_polls: usize,
    /// Most client connections open at once; beyond it new connections get a quick 503 (a few
    /// more are kept for /healthz and /readyz). Default: what the open-file limit leaves room
    /// for, at most 50,000. Clamped to that room.
    #[arg(long, env = "PORTAL_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a reader is told to wait before its next short poll.
    #[arg(long, env = "PORTAL_POLL_AFTER_S", default_value_t = 30)]
    pub poll_after_s: u32,
    /// Address of a reverse proxy in front of the portal (repeat, or comma-separate in the
    /// variable): for its requests the client address is read from `X-Forwarded-For`.
    #[arg(long = "trusted-proxy", env = "PORTAL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Address for Prometheus metrics (`GET /metrics`), a listener of its own: keep it on
    /// loopback or a private network. Without it no metrics are served.
    #[arg(long, env = "PORTAL_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// SMTP server for the portal's mail: `smtp://host:port` (plain), `smtp+starttls://…` or
    /// `smtps://…`, optionally with `user:password@`. Without it mail is off (messages wait in
    /// the outbox).
    #[arg(long, env = "PORTAL_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// A PEM file of root certificates to trust for the SMTP server's TLS besides the usual ones
    /// (a relay whose certificate a private CA signed). The certificate is always checked.
    #[arg(long, env = "PORTAL_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender address of the portal's mail.
    #[arg(long, env = "PORTAL_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// How often (seconds) to look for readers not seen and tickets about to miss their due
    /// time, to mail them.
    #[arg(long, env = "PORTAL_NOTICE_CHECK_S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub notice_check_s: u64,
}

pub const DEFAULT_MAIL_FROM: &str = "portal@localhost";

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: Option<String>,
    /// Pepper for passcode hashes. `None`: read or create `<data_dir>/passcode-pepper`.
    pub passcode_pepper: Option<Secret<String>>,
    /// Key of the audit log's chain. `None`: read or create `<data_dir>/audit-key`.
    pub audit_key: Option<Secret<String>>,
    /// Requested; the server runs with `limits::plan` of it (see `App::caps`).
    pub max_long_polls: usize,
    /// Requested connection cap; `None`: derived from the open-file limit.
    pub max_connections: Option<usize>,
    pub poll_after_s: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see `auth::client_ip`).
    pub trusted_proxies: Vec<IpAddr>,
    /// Where `/metrics` is served; `None`: nowhere.
    pub metrics_addr: Option<SocketAddr>,
    /// How often the cache follower looks for changes made by other processes.
    pub follow_interval_ms: u64,
    /// How often batched reader last-seen times are written.
    pub last_seen_flush_s: u64,
    /// Longest a page or a ticket-API request may take (long-polls get their wait on top).
    pub request_timeout_s: u64,
    /// A request body must have arrived completely within this many seconds (slow clients).
    pub body_deadline_s: u64,
    /// A request's head (request line and headers) must have arrived within this many seconds.
    pub header_read_timeout_s: u64,
    /// An unchanged session is saved again (moving its idle expiry) at most this often.
    pub session_touch_s: u64,
    /// Issuing a passcode asks for the second factor again when this session proved it longer
    /// ago (600 s; shorter only in tests).
    pub totp_recheck_s: i64,
    /// How long after the password the sign-in code may be typed (300 s; shorter only in tests).
    pub totp_pending_s: i64,
    /// `--smtp-url` (it may carry a password); `None`: mail off.
    pub smtp_url: Option<Secret<String>>,
    /// `--smtp-ca-file`: more roots to trust for the SMTP server's certificate.
    pub smtp_ca_file: Option<PathBuf>,
    pub mail_from: String,
    /// The first retry's wait after a failed send; doubles each time, at most an hour.
    pub mail_retry_base_s: i64,
    /// How often the sender looks at the outbox when nothing woke it.
    pub mail_poll_ms: u64,
    /// How long a sender's claim on a message holds (120 s; shorter only in tests). Each send is
    /// cut off well before it (`mail::send_deadline`) and the claim renewed just before it.
    pub mail_lease_s: i64,
    /// How often the server looks for time-based notices (stale readers, tickets due soon).
    pub notice_check_ms: u64,
}

pub const PEPPER_ENV: &str = "PORTAL_PASSCODE_PEPPER";
pub const AUDIT_KEY_ENV: &str = "PORTAL_AUDIT_KEY";

impl Config {
    /// Defaults for a data directory: used by the command line and by tests.
    pub fn for_data_dir(data_dir: impl AsRef<Path>) -> Self {
        let data_dir = data_dir.as_ref().to_path_buf();
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: default_database_url(&data_dir),
            data_dir,
            public_url: None,
            passcode_pepper: std::env::var(PEPPER_ENV).ok().map(Secret::new),
            audit_key: std::env::var(AUDIT_KEY_ENV).ok().map(Secret::new),
            max_long_polls: 15_000,
            max_connections: None,
            poll_after_s: 30,
            trusted_proxies: Vec::new(),
            metrics_addr: None,
            follow_interval_ms: 250,
            last_seen_flush_s: 5,
            request_timeout_s: 30,
            body_deadline_s: 10,
            header_read_timeout_s: 10,
            session_touch_s: 60,
            totp_recheck_s: 600,
            totp_pending_s: 300,
            smtp_url: None,
            smtp_ca_file: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            mail_retry_base_s: 30,
            mail_poll_ms: 3000,
            mail_lease_s: 120,
            notice_check_ms: 60_000,
        }
    }

    pub fn from_args(data: &DataArgs, serve: Option<&ServeArgs>) -> Self {
        let mut config = Self::for_data_dir(&data.data_dir);
        if let Some(url) = &data.database_url {
            config.database_url = url.clone();
        }
        if let Some(serve) = serve {
            config.addr = serve.addr;
            config.public_url = serve.public_url.clone();
            config.max_long_polls = serve.max_long_polls;
            config.max_connections = serve.max_connections;
            config.poll_after_s = serve.poll_after_s;
            config.trusted_proxies = serve.trusted_proxies.clone();
            config.metrics_addr = serve.metrics_addr;
            config.smtp_url = serve.smtp_url.clone().map(Secret::new);
            config.smtp_ca_file = serve.smtp_ca_file.clone();
            config.mail_from = serve.mail_from.clone();
            config.notice_check_ms = serve.notice_check_s * 1000;
        }
        config
    }

    /// Creates the data directory if needed and checks that it can be written (the database,
    /// its WAL and the pepper file live there), so a read-only directory is named as such at
    /// start instead of surfacing as SQLite's "unable to open database file".
    ///
    /// The directory is created 0700 and the database file 0600 (tightened at every start): they
    /// hold live session ids. SQLite gives its `-wal` and `-shm` files the database file's mode.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        let dir = &self.data_dir;
        create_private_dir(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        // A name of its own: two processes starting at once (the server and a command, or two
        // commands run in parallel) must not remove each other's probe.
        static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let probe = dir.join(format!(".write-check-{}-{n}", std::process::id()));
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .with_context(|| format!("the data directory {} cannot be written", dir.display()))?;
        if let Some(path) = self.sqlite_path() {
            make_private_file(&path).with_context(|| format!("cannot prepare the database file {}", path.display()))?;
        }
        Ok(())
    }

    /// On PostgreSQL several processes share one database, so the secrets every process must
    /// agree on come from the configuration, never from a file one process generates: a pepper
    /// made by process A would make every passcode it issues fail on process B, and audit rows
    /// sealed with A's key would read as tampered on B.
    pub fn check_shared_secrets(&self) -> anyhow::Result<()> {
        if crate::db::Engine::of_url(&self.database_url) != crate::db::Engine::Postgres {
            return Ok(());
        }
        let missing: Vec<&str> = [
            (self.passcode_pepper.is_none(), PEPPER_ENV),
            (self.audit_key.is_none(), AUDIT_KEY_ENV),
        ]
        .into_iter()
        .filter_map(|(missing, name)| missing.then_some(name))
        .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "on PostgreSQL {} must be set (32+ random characters each, the same in every portal process): several \
                 processes share this database, and a secret generated by one of them would make passcodes issued \
                 (or audit rows sealed) by it fail on the others. Generate one with `openssl rand -hex 32` and keep \
                 it with your backups (docs/deploy.md)",
                missing.join(" and ")
            );
        }
        Ok(())
    }

    /// The SQLite database file, when the database URL names one.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
    }

    pub fn uses_https(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// The URL to print for people at start-up.
    pub fn display_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates the database file 0600 if it is missing (an empty file is an empty database), or
/// tightens an existing one and its WAL companions to 0600.
#[cfg(unix)]
fn make_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !path.exists() {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            // Another process starting at the same moment made it first: check its mode below.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                // Another owner's file cannot be tightened by us: say so, but go on.
                if let Err(e) = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                    tracing::warn!(file = %file.display(), error = %e, "cannot make the database file private (0600)");
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private_file(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("portal.db").display())
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn starts_at_the_same_moment_do_not_trip_over_each_others_write_check() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::for_data_dir(dir.path());
        let runs: Vec<_> = (0..8)
            .map(|_| {
                let config = config.clone();
                std::thread::spawn(move || (0..200).try_for_each(|_| config.prepare_data_dir()))
            })
            .collect();
        for run in runs {
            run.join().unwrap().expect("every start finds the directory writable");
        }
        let left = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".write-check"))
            .count();
        assert_eq!(left, 0, "no probe files are left behind");
    }
}
