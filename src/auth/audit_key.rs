//! The secret that keys the audit log's chain. Like the passcode pepper it lives outside the
//! database (someone who can write the database must not be able to re-seal it): from
//! configuration, or generated once into the data directory, readable by the owner only.

use std::path::Path;

use anyhow::{Context, bail};

use crate::domain::Secret;
use crate::domain::audit_chain::ChainKey;

pub const FILE_NAME: &str = "audit-key";

/// Loads the key. When none exists yet it is created, unless the database already holds a
/// chain: every sealed row would fail verification under a new key.
pub fn load_or_create(
    configured: Option<&Secret<String>>,
    data_dir: &Path,
    chain_started: bool,
) -> anyhow::Result<ChainKey> {
    if let Some(value) = configured {
        if value.expose().len() < 32 {
            bail!("{} must be at least 32 characters", crate::config::AUDIT_KEY_ENV);
        }
        return Ok(ChainKey::new(Secret::new(value.expose().as_bytes().to_vec())));
    }
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not valid hex", path.display()))?;
            if bytes.len() < 32 {
                bail!("{} is too short (expected 32 bytes of hex)", path.display());
            }
            Ok(ChainKey::new(Secret::new(bytes)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if chain_started {
                bail!(
                    "the audit key {} is missing but the audit log is already sealed with one; restore the \
                     file (or set {}) from your backup",
                    path.display(),
                    crate::config::AUDIT_KEY_ENV
                );
            }
            let mut bytes = vec![0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
            super::pepper::write_private(&path, hex::encode(&bytes).as_bytes())?;
            tracing::info!(path = %path.display(), "generated a new audit key");
            Ok(ChainKey::new(Secret::new(bytes)))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_key_once_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(None, dir.path(), false).unwrap();
        let second = load_or_create(None, dir.path(), true).unwrap();
        assert!(second.matches_check(&first.check_value()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn refuses_to_invent_a_key_for_a_sealed_log() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_or_create(None, dir.path(), true).is_err());
    }

    #[test]
    fn a_configured_key_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let short = Secret::new("too short".to_owned());
        assert!(load_or_create(Some(&short), dir.path(), false).is_err());
        let long = Secret::new("x".repeat(32));
        assert!(load_or_create(Some(&long), dir.path(), true).is_ok());
        assert!(!dir.path().join(FILE_NAME).exists(), "a configured key writes no file");
    }
}
