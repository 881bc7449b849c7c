//! A real SMTP server for tests (Python's aiosmtpd, saving every message into a Maildir), and
//! the received messages decoded: recipient, subject, the plain-text and HTML parts, and the
//! links in them (tests/mail.rs has its own copy of the server part).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portal::domain::Secret;

use super::TestApp;

/// A python3 that has aiosmtpd (Debian's `python3-aiosmtpd` lives under /usr/bin/python3, which a
/// pyenv shim on PATH may hide); installed when missing, as scripts/test.sh does.
fn python() -> String {
    let has = |py: &str| {
        Command::new(py)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for py in ["/usr/bin/python3", "python3"] {
        if has(py) {
            return py.to_owned();
        }
    }
    let _ = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
        .status();
    assert!(
        has("python3"),
        "aiosmtpd is missing: apt-get install python3-aiosmtpd (or pip install aiosmtpd)"
    );
    "python3".to_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        // Maildir creates its new/cur/tmp only in a directory it makes itself.
        let maildir = dir.path().join("box");
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            port,
            child,
            maildir,
            _dir: dir,
        }
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for entry in entries.flatten() {
                    let modified = entry.metadata().and_then(|m| m.modified()).ok();
                    files.push((modified, entry.path()));
                }
            }
        }
        files.sort();
        files
            .iter()
            .map(|(_, path)| Mail::parse(&std::fs::read_to_string(path).unwrap_or_default()))
            .collect()
    }

    /// Waits (up to 30 s) until `n` messages have arrived, then a little longer to see no more
    /// come; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.messages().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        self.messages()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A portal that mails through `smtp` (sender polling every 200 ms), with `adjust` on top.
pub async fn app_mailing_to(smtp: &SmtpServer, adjust: impl FnOnce(&mut portal::config::Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = smtp.port;
    TestApp::spawn_with(dir, |c| {
        c.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));
        c.mail_from = "portal@installer.example.jp".to_owned();
        c.mail_retry_base_s = 1;
        c.mail_poll_ms = 200;
        adjust(c);
    })
    .await
}

/// A received message, decoded.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    /// The Subject header as sent (RFC 2047 encoded words decoded).
    pub subject: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl Mail {
    pub fn parse(raw: &str) -> Self {
        let raw = raw.replace("\r\n", "\n");
        let (head, _) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let headers = unfold(head);
        let header = |name: &str| {
            headers
                .iter()
                .find_map(|(n, v)| n.eq_ignore_ascii_case(name).then(|| v.clone()))
                .unwrap_or_default()
        };
        let mut mail = Self {
            to: header("To").trim().to_owned(),
            subject: decode_words(&header("Subject")),
            text: String::new(),
            html: String::new(),
            raw: raw.clone(),
        };
        let content_type = header("Content-Type");
        match boundary(&content_type) {
            Some(boundary) => {
                for part in raw.split(&format!("--{boundary}")).skip(1) {
                    let part = part.strip_prefix('\n').unwrap_or(part);
                    if part.starts_with("--") {
                        break;
                    }
                    let (part_head, body) = part.split_once("\n\n").unwrap_or((part, ""));
                    let part_headers = unfold(part_head);
                    let get = |name: &str| {
                        part_headers
                            .iter()
                            .find_map(|(n, v)| n.eq_ignore_ascii_case(name).then(|| v.clone()))
                            .unwrap_or_default()
                    };
                    let decoded = decode_body(body, &get("Content-Transfer-Encoding"));
                    let kind = get("Content-Type").to_ascii_lowercase();
                    if kind.starts_with("text/plain") {
                        mail.text = decoded;
                    } else if kind.starts_with("text/html") {
                        mail.html = decoded;
                    }
                }
            }
            None => {
                let (_, body) = raw.split_once("\n\n").unwrap_or(("", ""));
                mail.text = decode_body(body, &header("Content-Transfer-Encoding"));
            }
        }
        mail
    }

    /// The first link in the plain text whose path starts with `path` (e.g. "/invite/").
    pub fn link(&self, path: &str) -> Option<String> {
        let at = self.text.find(path)?;
        let start = self.text[..at].rfind("http")?;
        let end = self.text[at..]
            .find(|c: char| c.is_whitespace())
            .map_or(self.text.len(), |i| at + i);
        Some(self.text[start..end].to_owned())
    }

    /// Whether any part mentions an URL at all.
    pub fn has_any_link(&self) -> bool {
        [&self.text, &self.html]
            .iter()
            .any(|part| part.contains("http://") || part.contains("https://") || part.contains("href"))
    }
}

/// The token at the end of a link.
pub fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap_or_default().to_owned()
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    headers
}

fn boundary(content_type: &str) -> Option<String> {
    let at = content_type.find("boundary=")? + "boundary=".len();
    let rest = &content_type[at..];
    let value = rest.split(';').next()?.trim().trim_matches('"');
    Some(value.to_owned())
}

fn decode_body(body: &str, encoding: &str) -> String {
    match encoding.trim().to_ascii_lowercase().as_str() {
        "base64" => String::from_utf8_lossy(&base64(body)).into_owned(),
        "quoted-printable" => String::from_utf8_lossy(&quoted_printable(body)).into_owned(),
        _ => body.to_owned(),
    }
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`), joined.
fn decode_words(value: &str) -> String {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !between.trim().is_empty() {
            out.extend_from_slice(between.as_bytes());
        }
        let word = &rest[start + 2..];
        let mut pieces = word.splitn(3, '?');
        let (_charset, kind, tail) = match (pieces.next(), pieces.next(), pieces.next()) {
            (Some(c), Some(k), Some(t)) => (c, k, t),
            _ => break,
        };
        let Some(end) = tail.find("?=") else { break };
        let data = &tail[..end];
        match kind.to_ascii_lowercase().as_str() {
            "b" => out.extend(base64(data)),
            _ => out.extend(quoted_printable(&data.replace('_', " "))),
        }
        rest = &tail[end + 2..];
    }
    out.extend_from_slice(rest.as_bytes());
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let Some(v) = value(c) else { continue };
        buffer = (buffer << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}
