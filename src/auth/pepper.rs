//! The server-side secret that keys passcode hashes. It lives outside the database: from
//! configuration, or generated once into the data directory, readable by the owner only.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::domain::Secret;

pub const FILE_NAME: &str = "passcode-pepper";

/// Loads the pepper. When none exists yet it is created, unless the database already holds
/// passcode hashes or sealed PC sign-in passwords: those would silently stop verifying (or
/// opening) under a new pepper.
pub fn load_or_create(
    configured: Option<&Secret<String>>,
    data_dir: &Path,
    database_has_passcodes: bool,
) -> anyhow::Result<Secret<Vec<u8>>> {
    if let Some(value) = configured {
        if value.expose().len() < 32 {
            bail!("{} must be at least 32 characters", crate::config::PEPPER_ENV);
        }
        return Ok(Secret::new(value.expose().as_bytes().to_vec()));
    }
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).with_context(|| format!("{} is not valid hex", path.display()))?;
            if bytes.len() < 32 {
                bail!("{} is too short (expected 32 bytes of hex)", path.display());
            }
            Ok(Secret::new(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if database_has_passcodes {
                bail!(
                    "the passcode pepper {} is missing but the database holds passcodes or PC sign-in passwords keyed by it; restore the file \
                     (or set {}) from your backup",
                    path.display(),
                    crate::config::PEPPER_ENV
                );
            }
            let mut bytes = vec![0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
            write_private(&path, hex::encode(&bytes).as_bytes())?;
            tracing::info!(path = %path.display(), "generated a new passcode pepper");
            Ok(Secret::new(bytes))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub(crate) fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// What `secret_checks` keeps of the pepper: an HMAC of a fixed text under it (the pepper itself
/// cannot be recovered from it).
fn check_value(pepper: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(pepper).expect("HMAC accepts any key length");
    mac.update(b"mokushi portal: passcode pepper check, v1");
    mac.finalize().into_bytes().to_vec()
}

/// Refuses a pepper other than the one this database's first process started with: with several
/// processes on one PostgreSQL, a different `PORTAL_PASSCODE_PEPPER` on one of them would make
/// the passcodes it issues fail on the others (and theirs on it), silently.
pub async fn check_against_database(pool: &crate::db::Pool, pepper: &Secret<Vec<u8>>) -> anyhow::Result<()> {
    use subtle::ConstantTimeEq;
    let mine = check_value(pepper.expose());
    let stored = crate::db::secret_checks::stored_or_insert(pool, "passcode_pepper", &mine).await?;
    if !bool::from(stored.ct_eq(&mine)) {
        bail!(
            "this passcode pepper is not the one this database's passcodes are keyed by (another portal process, or an \
             earlier start, used a different {}); every process on one database must have the same value. Refusing \
             to start",
            crate::config::PEPPER_ENV
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_pepper_once_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(None, dir.path(), false).unwrap();
        let second = load_or_create(None, dir.path(), true).unwrap();
        assert_eq!(first.expose(), second.expose());
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
    fn refuses_to_invent_a_pepper_for_existing_passcodes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_or_create(None, dir.path(), true).is_err());
    }
}
