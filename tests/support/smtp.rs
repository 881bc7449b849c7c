//! A real SMTP server for tests: Python's aiosmtpd on 127.0.0.1 with a handler that decodes each
//! message (envelope, To, subject, plain text, HTML and the raw message) into a line of JSON, or
//! refuses every message with 550, or takes its time over each (a slow relay); over TLS with a test CA's certificate when asked. Included with
//! `#[path = "support/smtp.rs"] mod smtp;` (it needs nothing of tests/common, so tests without
//! that harness can use it too).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HANDLER: &str = r#"
import asyncio, email, json
from email import policy

class Decoded:
    def __init__(self, path, refuse="no"):
        self.path = path
        self.refuse = refuse == "refuse"
        # "slow:2.5": each message is answered 2.5 s after its data (a slow relay).
        self.delay = float(refuse[5:]) if refuse.startswith("slow:") else 0.0

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "550 5.7.1 refused by the test server"
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        msg = email.message_from_bytes(content, policy=policy.default)
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        record = {
            "rcpt_to": envelope.rcpt_tos,
            "mail_from": envelope.mail_from,
            "to": str(msg.get("to", "")).strip(),
            "subject": str(msg.get("subject", "")),
            "text": plain.get_content() if plain else "",
            "html": html.get_content() if html else "",
            "raw": content.decode("utf-8", "replace").replace("\r\n", "\n"),
        }
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"
"#;

/// A python3 that has aiosmtpd (Debian's `python3-aiosmtpd` lives under /usr/bin/python3, which a
/// pyenv shim on PATH may hide); installed when missing, as scripts/test.sh does.
pub fn python() -> String {
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

/// A message as the SMTP server received it, decoded (by Python's `email` package: transfer
/// encodings, charsets and RFC 2047 encoded words).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Mail {
    /// The envelope's recipients (RCPT TO).
    pub rcpt_to: Vec<String>,
    /// The envelope's sender (MAIL FROM).
    pub mail_from: String,
    /// The To header.
    pub to: String,
    pub subject: String,
    /// The plain-text part ("" without one).
    pub text: String,
    /// The HTML part ("" without one).
    pub html: String,
    /// The whole message as received (headers and encoded body), lines ended by "\n".
    pub raw: String,
}

impl Mail {
    /// The (first) envelope recipient.
    pub fn recipient(&self) -> &str {
        self.rcpt_to.first().map_or("", String::as_str)
    }

    /// Subject, text and HTML together, for checks that look at all of it.
    pub fn all(&self) -> String {
        format!("{}\n{}\n{}", self.subject, self.text, self.html)
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

pub struct SmtpServer {
    child: Child,
    out: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Accepts and records every message.
    pub async fn start(port: u16) -> Self {
        Self::spawn(port, "no", &[]).await
    }

    /// Answers every message with `550`.
    pub async fn refusing(port: u16) -> Self {
        Self::spawn(port, "refuse", &[]).await
    }

    /// Accepts and records every message, answering each `delay_s` seconds after its data.
    pub async fn slow(port: u16, delay_s: f64) -> Self {
        Self::spawn(port, &format!("slow:{delay_s}"), &[]).await
    }

    /// Accepts messages over TLS only: `smtps` (TLS from the first byte) or `starttls`
    /// (required), with the certificate and key files given.
    pub async fn tls(port: u16, kind: &str, cert: &Path, key: &Path) -> Self {
        let flags = match kind {
            "smtps" => ["--smtpscert", "--smtpskey"],
            _ => ["--tlscert", "--tlskey"],
        };
        let args = vec![
            flags[0].to_owned(),
            cert.display().to_string(),
            flags[1].to_owned(),
            key.display().to_string(),
        ];
        Self::spawn(port, "no", &args).await
    }

    async fn spawn(port: u16, mode: &str, flags: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("decoded.py"), HANDLER).expect("handler");
        let out = dir.path().join("received.jsonl");
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(flags)
            .args(["-c", "decoded.Decoded"])
            .arg(&out)
            .arg(mode)
            .env("PYTHONPATH", dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            out,
            port,
            _dir: dir,
        }
    }

    /// The messages received so far, oldest first.
    pub fn received(&self) -> Vec<Mail> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a decoded message"))
            .collect()
    }

    /// Waits until at least `n` messages arrived (at most 30 s), then a little longer so that a
    /// message too many would show; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.received().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        self.received()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA and a certificate it signed for 127.0.0.1 and localhost, made with openssl in
/// `dir`: (CA certificate, server certificate, server key).
pub fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=portal test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}
