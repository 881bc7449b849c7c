//! The second factor's arithmetic: TOTP (RFC 6238, through totp-rs) as every authenticator app
//! does it (SHA-1, six digits, 30-second steps), the provisioning URI and QR code, and the
//! recovery codes. What is stored and who may use it is `services::totp`'s.

use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Builder, Secret as TotpSecret, Totp};

use crate::domain::Secret;

/// One step either side of now: a phone clock half a minute off still works, and a code lives
/// at most 90 seconds.
const SKEW_STEPS: u16 = 1;
const STEP_S: u64 = 30;
/// 160 bits, the size RFC 4226 recommends and what authenticator apps expect.
const SECRET_BYTES: usize = 20;
/// What the authenticator app shows above the code.
pub const ISSUER: &str = "Mokushi Portal";
/// Recovery codes: 16 characters of Crockford-like base32 (80 bits), shown as four groups.
const RECOVERY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKMNPQRSTVWXYZ0123456789";
pub const RECOVERY_CODES: usize = 10;

/// A fresh random secret, as the base32 text people type into an app.
pub fn new_secret() -> anyhow::Result<Secret<String>> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
    Ok(Secret::new(TotpSecret::from(bytes.to_vec()).to_base32()))
}

fn totp(secret_base32: &str, account: &str) -> anyhow::Result<Totp> {
    let secret = TotpSecret::try_from_base32(secret_base32).map_err(|e| anyhow::anyhow!("bad TOTP secret: {e:?}"))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_S)
        .with_secret(secret)
        // otpauth labels may not hold ':'; an e-mail address never does.
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| anyhow::anyhow!("TOTP: {e:?}"))
}

/// The step (Unix time / 30 s) whose code `typed` is, within one step of `now`; `None` for a
/// wrong code or anything that is not six digits. Spaces people type between groups are ignored.
pub fn matching_step(secret_base32: &str, typed: &str, now: i64) -> Option<u64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).take(12).collect();
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    totp(secret_base32, "").ok()?.check(&digits, now)
}

/// The code an app shows at `time` (for tests and the test harness).
pub fn code_at(secret_base32: &str, time: i64) -> anyhow::Result<String> {
    let time = u64::try_from(time)?;
    Ok(totp(secret_base32, "")?.generate(time).to_string())
}

/// `otpauth://totp/…` for the QR code.
pub fn provisioning_uri(secret_base32: &str, account: &str) -> anyhow::Result<String> {
    totp(secret_base32, account)?
        .to_url()
        .map_err(|e| anyhow::anyhow!("otpauth URI: {e:?}"))
}

/// The provisioning URI as an inline SVG QR code (no external image, so the CSP stays strict and
/// the secret never travels in an image URL).
pub fn qr_svg(uri: &str) -> anyhow::Result<String> {
    let code = QrCode::new(uri.as_bytes())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The base32 secret in groups of four, easier to type into an app by hand.
pub fn grouped(secret_base32: &str) -> String {
    secret_base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ten fresh recovery codes, `XXXX-XXXX-XXXX-XXXX`.
pub fn new_recovery_codes() -> anyhow::Result<Vec<Secret<String>>> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("CSPRNG failed: {e}"))?;
            let chars: Vec<u8> = bytes.iter().map(|b| RECOVERY_ALPHABET[usize::from(b & 31)]).collect();
            let groups: Vec<&str> = chars
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect();
            Ok(Secret::new(groups.join("-")))
        })
        .collect()
}

/// A typed recovery code in the form it was hashed: upper case, no dashes or spaces, and the
/// letters people confuse with digits read as the digits (Crockford's rule) — `None` when it
/// cannot be one.
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .take(40)
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (code.len() == 16 && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the secret is ASCII "12345678901234567890"; the RFC's
    /// eight-digit values, cut to the six that apps show.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = TotpSecret::from(b"12345678901234567890".to_vec()).to_base32();
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(code_at(&secret, time).unwrap(), eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = new_secret().unwrap();
        let secret = secret.expose();
        let now = 1_800_000_015;
        let code = code_at(secret, now).unwrap();
        assert_eq!(matching_step(secret, &code, now), Some(60_000_000));
        assert_eq!(matching_step(secret, &code, now + 30), Some(60_000_000));
        assert_eq!(matching_step(secret, &code, now - 30), Some(60_000_000));
        assert_eq!(matching_step(secret, &code, now + 60), None);
        assert_eq!(
            matching_step(secret, &format!("{} {}", &code[..3], &code[3..]), now),
            Some(60_000_000)
        );
        for wrong in ["", "12345", "1234567", "abcdef", "１２３４５６"] {
            assert_eq!(matching_step(secret, wrong, now), None, "{wrong:?}");
        }
    }

    #[test]
    fn the_provisioning_uri_names_the_issuer_account_and_secret() {
        let uri = provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "admin@clinic.example.jp").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Mokushi%20Portal:admin%40clinic.example.jp?"),
            "{uri}"
        );
        assert!(uri.contains("secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), "{uri}");
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_however_typed() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), 10);
        let normalized: std::collections::HashSet<_> = codes
            .iter()
            .map(|c| normalize_recovery_code(c.expose()).unwrap())
            .collect();
        assert_eq!(normalized.len(), 10);
        let code = codes[0].expose();
        assert_eq!(
            normalize_recovery_code(&code.to_lowercase().replace('-', " ")),
            normalize_recovery_code(code)
        );
        assert_eq!(normalize_recovery_code("too-short"), None);
    }
}
