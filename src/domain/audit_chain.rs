//! The audit log's hash chain, without I/O: how a sealed row is encoded and MACed, the key's
//! check value, and the walk that finds the first broken or missing row.
//!
//! Each sealed row carries `mac = HMAC-SHA256(key, previous row's mac || encode(row))`, where the
//! encoding covers the row's chain position, its id and every stored field. Without the key
//! nobody can produce a MAC, so an edited row, a removed row (a gap in the positions) or rows
//! renumbered to hide a gap all show up on the walk. Removing the newest rows leaves a valid,
//! shorter chain: only a copy of the last position and MAC kept elsewhere (the server's log)
//! reveals that.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Separates this use of the key from any other (and this encoding from a later one).
const ROW_DOMAIN: &[u8] = b"mokushi-portal audit row v1\0";
const KEY_CHECK_TEXT: &[u8] = b"mokushi-portal audit chain key check v1";

/// The secret that keys the chain. It lives outside the database (`auth::audit_key`).
pub struct ChainKey(Secret<Vec<u8>>);

/// The fields of one row as the chain covers them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFields<'a> {
    pub position: i64,
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub clinic_id: Option<i64>,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
}

impl ChainFields<'_> {
    /// An unambiguous encoding: fixed-width integers, length-prefixed text, and a tag byte that
    /// tells an absent value from an empty one, so no two different rows encode alike.
    pub fn encode(&self) -> Vec<u8> {
        fn int(out: &mut Vec<u8>, value: i64) {
            out.extend_from_slice(&value.to_be_bytes());
        }
        fn text(out: &mut Vec<u8>, value: &str) {
            out.extend_from_slice(&(value.len() as u64).to_be_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        let mut out = Vec::with_capacity(64 + self.actor.len() + self.action.len() + self.detail.len());
        out.extend_from_slice(ROW_DOMAIN);
        int(&mut out, self.position);
        int(&mut out, self.id);
        int(&mut out, self.at);
        match self.actor_id {
            Some(id) => {
                out.push(1);
                int(&mut out, id);
            }
            None => out.push(0),
        }
        text(&mut out, self.actor);
        text(&mut out, self.action);
        match self.clinic_id {
            Some(id) => {
                out.push(1);
                int(&mut out, id);
            }
            None => out.push(0),
        }
        text(&mut out, self.detail);
        match self.ip {
            Some(ip) => {
                out.push(1);
                text(&mut out, ip);
            }
            None => out.push(0),
        }
        out
    }
}

impl ChainKey {
    pub fn new(key: Secret<Vec<u8>>) -> Self {
        Self(key)
    }

    fn hmac(&self) -> HmacSha256 {
        // HMAC takes a key of any length; the error type exists only for fixed-size MACs.
        HmacSha256::new_from_slice(self.0.expose()).expect("HMAC accepts any key length")
    }

    fn row_hmac(&self, previous_mac: &[u8], row: &ChainFields<'_>) -> HmacSha256 {
        let mut mac = self.hmac();
        mac.update(&(previous_mac.len() as u64).to_be_bytes());
        mac.update(previous_mac);
        mac.update(&row.encode());
        mac
    }

    /// The MAC that seals `row` after the row whose MAC is `previous_mac` (empty for the first).
    pub fn seal(&self, previous_mac: &[u8], row: &ChainFields<'_>) -> Vec<u8> {
        self.row_hmac(previous_mac, row).finalize().into_bytes().to_vec()
    }

    /// Whether `mac` seals `row` after `previous_mac` (compared in constant time).
    pub fn verifies(&self, previous_mac: &[u8], row: &ChainFields<'_>, mac: &[u8]) -> bool {
        self.row_hmac(previous_mac, row).verify_slice(mac).is_ok()
    }

    /// A value stored beside the chain that tells whether a key is the one that sealed it; it
    /// reveals nothing of the key.
    pub fn check_value(&self) -> Vec<u8> {
        let mut mac = self.hmac();
        mac.update(KEY_CHECK_TEXT);
        mac.finalize().into_bytes().to_vec()
    }

    pub fn matches_check(&self, stored: &[u8]) -> bool {
        bool::from(self.check_value().ct_eq(stored))
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey([redacted])")
    }
}

/// Where the chain is broken, as the walk first finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// The key given is not the one that sealed the chain.
    WrongKey,
    /// Sealed rows exist but the key's check value is gone.
    KeyCheckMissing,
    /// Positions `from..=to` are absent: rows were deleted (or their seal removed).
    Missing { from: i64, to: i64, before_id: i64 },
    /// The row's MAC does not match its fields and its predecessor: it was changed after
    /// sealing (or the row before it was replaced).
    Edited { position: i64, id: i64 },
    /// A row carries a MAC but no position: its seal was tampered with.
    SealWithoutPosition { id: i64 },
    /// A row was not sealed although it is older than the sealer's grace period.
    Unsealed { id: i64, at: i64 },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WrongKey => f.write_str(
                "key mismatch: the audit key is not the one that sealed this audit log (restore the \
                 audit-key file or PORTAL_AUDIT_KEY from your backup)",
            ),
            Self::KeyCheckMissing => f.write_str("the audit chain's key check row is missing: it was deleted"),
            Self::Missing { from, to, before_id } if from == to => write!(
                f,
                "position {from} is missing (before row id {before_id}): a row was deleted"
            ),
            Self::Missing { from, to, before_id } => write!(
                f,
                "positions {from} to {to} are missing (before row id {before_id}): rows were deleted"
            ),
            Self::Edited { position, id } => write!(
                f,
                "position {position} (row id {id}): MAC mismatch, the row was edited after it was sealed"
            ),
            Self::SealWithoutPosition { id } => {
                write!(
                    f,
                    "row id {id} has a MAC but no chain position: its seal was tampered with"
                )
            }
            Self::Unsealed { id, at } => write!(
                f,
                "row id {id} (written at unix time {at}) is not sealed: sealing it failed or it was \
                 inserted behind the portal's back"
            ),
        }
    }
}

/// Walks sealed rows in position order, each checked against the one before.
pub struct Walk<'k> {
    key: &'k ChainKey,
    next_position: i64,
    previous_mac: Vec<u8>,
    verified: u64,
}

impl<'k> Walk<'k> {
    pub fn new(key: &'k ChainKey) -> Self {
        Self {
            key,
            next_position: 1,
            previous_mac: Vec::new(),
            verified: 0,
        }
    }

    /// Checks the next sealed row (rows must come in ascending position).
    pub fn step(&mut self, row: &ChainFields<'_>, mac: Option<&[u8]>) -> Result<(), Break> {
        if row.position > self.next_position {
            return Err(Break::Missing {
                from: self.next_position,
                to: row.position - 1,
                before_id: row.id,
            });
        }
        let intact = row.position == self.next_position
            && mac.is_some_and(|mac| self.key.verifies(&self.previous_mac, row, mac));
        let Some(mac) = mac.filter(|_| intact) else {
            return Err(Break::Edited {
                position: row.position,
                id: row.id,
            });
        };
        self.previous_mac = mac.to_vec();
        self.next_position += 1;
        self.verified += 1;
        Ok(())
    }

    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// The last verified position and its MAC, if any row was verified.
    pub fn last(&self) -> Option<(i64, &[u8])> {
        (self.verified > 0).then(|| (self.next_position - 1, self.previous_mac.as_slice()))
    }
}

/// The first characters of a MAC in hex: enough to compare a log line with the chain's head.
pub fn mac_prefix(mac: &[u8]) -> String {
    hex::encode(&mac[..mac.len().min(8)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> ChainKey {
        ChainKey::new(Secret::new(vec![byte; 32]))
    }

    fn row(position: i64, detail: &str) -> ChainFields<'_> {
        ChainFields {
            position,
            id: position + 100,
            at: 1_700_000_000,
            actor_id: Some(3),
            actor: "admin@clinic.jp",
            action: "passcode.issued",
            clinic_id: Some(1),
            detail,
            ip: None,
        }
    }

    fn chain(key: &ChainKey, details: &[&'static str]) -> Vec<(ChainFields<'static>, Vec<u8>)> {
        let mut previous = Vec::new();
        let mut rows = Vec::new();
        for (i, detail) in details.iter().enumerate() {
            let fields = row(i as i64 + 1, detail);
            let mac = key.seal(&previous, &fields);
            previous.clone_from(&mac);
            rows.push((fields, mac));
        }
        rows
    }

    #[test]
    fn an_intact_chain_walks_to_its_end() {
        let k = key(7);
        let rows = chain(&k, &["a", "b", "c"]);
        let mut walk = Walk::new(&k);
        for (fields, mac) in &rows {
            walk.step(fields, Some(mac)).unwrap();
        }
        assert_eq!(walk.verified(), 3);
        assert_eq!(walk.last().unwrap().0, 3);
    }

    #[test]
    fn an_edited_row_is_named_by_its_position() {
        let k = key(7);
        let mut rows = chain(&k, &["a", "b", "c"]);
        rows[1].0.detail = "B";
        let mut walk = Walk::new(&k);
        walk.step(&rows[0].0, Some(&rows[0].1)).unwrap();
        assert_eq!(
            walk.step(&rows[1].0, Some(&rows[1].1)),
            Err(Break::Edited { position: 2, id: 102 })
        );
    }

    #[test]
    fn a_deleted_row_is_a_gap_and_renumbering_it_away_breaks_the_mac() {
        let k = key(7);
        let rows = chain(&k, &["a", "b", "c"]);
        let mut walk = Walk::new(&k);
        walk.step(&rows[0].0, Some(&rows[0].1)).unwrap();
        assert_eq!(
            walk.step(&rows[2].0, Some(&rows[2].1)),
            Err(Break::Missing {
                from: 2,
                to: 2,
                before_id: 103
            })
        );
        let mut renumbered = rows[2].0.clone();
        renumbered.position = 2;
        assert_eq!(
            walk.step(&renumbered, Some(&rows[2].1)),
            Err(Break::Edited { position: 2, id: 103 })
        );
    }

    #[test]
    fn another_key_neither_verifies_rows_nor_matches_the_check() {
        let rows = chain(&key(7), &["a"]);
        assert!(!key(8).verifies(&[], &rows[0].0, &rows[0].1));
        assert!(!key(8).matches_check(&key(7).check_value()));
        assert!(key(7).matches_check(&key(7).check_value()));
    }

    #[test]
    fn absent_and_empty_values_encode_differently() {
        let mut with_empty = row(1, "");
        with_empty.ip = Some("");
        let mut absent = row(1, "");
        absent.ip = None;
        assert_ne!(with_empty.encode(), absent.encode());
        // A field boundary cannot be moved: "ab" + "" differs from "a" + "b".
        let mut moved = row(1, "b");
        moved.action = "passcode.issue";
        let mut original = row(1, "");
        original.action = "passcode.issueb";
        assert_ne!(moved.encode(), original.encode());
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", key(7)), "ChainKey([redacted])");
    }
}
