//! Sign-in throttling per account and per client address: a few free failures, then a
//! doubling delay, and a hard cap per hour. Counted in the database (not the session, which
//! an attacker simply drops), so it also survives restarts.

use crate::db;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Failures allowed without any delay.
    pub free: i64,
    /// Failures allowed in a sliding hour.
    pub per_hour: i64,
    /// Longest delay between attempts, in seconds.
    pub max_delay_s: i64,
}

pub const ACCOUNT: Limits = Limits {
    free: 3,
    per_hour: 100,
    max_delay_s: 300,
};
/// One address may serve a whole clinic behind NAT, so it gets more room.
pub const ADDRESS: Limits = Limits {
    free: 10,
    per_hour: 500,
    max_delay_s: 300,
};

/// Seconds to wait before the next attempt may be checked, if any.
pub fn wait_s(limits: Limits, failures: i64, last: Option<i64>, oldest: Option<i64>, now: i64) -> Option<u64> {
    if failures >= limits.per_hour {
        let until = oldest.unwrap_or(now) + 3600;
        return u64::try_from(until - now).ok().filter(|w| *w > 0);
    }
    if failures < limits.free {
        return None;
    }
    let exponent = u32::try_from(failures - limits.free).unwrap_or(u32::MAX).min(20);
    let delay = (1i64 << exponent).min(limits.max_delay_s);
    // Timestamps are whole seconds: a failure stamped 10 may have happened at 10.999, so one
    // more second makes every delay last at least its full length.
    let until = last.unwrap_or(now) + delay + 1;
    u64::try_from(until - now).ok().filter(|w| *w > 0)
}

pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

/// The key the per-address limit counts under. An IPv6 client is keyed by its /64: one
/// subscriber (or one host with privacy addresses) holds 2^64 addresses, which would otherwise
/// each get their own allowance. IPv4-mapped IPv6 addresses count as the IPv4 address.
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let s = v6.segments();
                format!("address:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => format!("address:{v4}"),
        Err(_) => format!("address:{ip}"),
    }
}

/// An attempt counted in advance as a failure; released if it turns out to succeed.
#[must_use]
pub struct Reservation {
    ids: Vec<i64>,
}

impl Reservation {
    /// The failure row recorded for the first key (by convention the account's).
    pub fn first(&self) -> i64 {
        self.ids.first().copied().unwrap_or_default()
    }
}

/// Checks the limits and, if the attempt may go ahead, records it as a failure first, in one
/// write transaction. Counting before the (slow) password check is what keeps a burst of
/// parallel guesses to the same limits as sequential ones. `Err(wait)` when throttled.
pub async fn reserve(pool: &db::Pool, keys: &[(&str, Limits)]) -> db::Result<Result<Reservation, u64>> {
    let now = db::now();
    let mut tx = db::begin_write(pool).await?;
    // Attempts on one key queue here on PostgreSQL; sorted, so two attempts sharing an account
    // and an address cannot each hold the other's lock.
    let mut locked: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
    locked.sort_unstable();
    locked.dedup();
    for key in locked {
        db::lock(&mut tx, db::Lock::Throttle(key)).await?;
    }
    let mut longest = None;
    for (key, limits) in keys {
        let (failures, last, oldest) = db::login_failures::since(&mut tx, key, now - 3600).await?;
        longest = longest.max(wait_s(*limits, failures, last, oldest, now));
    }
    if let Some(wait) = longest {
        tx.rollback().await?;
        return Ok(Err(wait));
    }
    let mut ids = Vec::with_capacity(keys.len());
    for (key, _) in keys {
        ids.push(db::login_failures::record(&mut tx, key, now).await?);
    }
    tx.commit().await?;
    Ok(Ok(Reservation { ids }))
}

/// The attempt succeeded: it was not a failure after all.
pub async fn release(pool: &db::Pool, reservation: Reservation) -> db::Result<()> {
    let mut tx = db::begin_write(pool).await?;
    for id in reservation.ids {
        db::login_failures::delete(&mut tx, id).await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_bit_prefix() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:ffff:1:2:3")
        );
        assert_eq!(address_key("2001:db8:1:2::1"), "address:2001:db8:1:2::/64");
        assert_ne!(address_key("2001:db8:1:2::1"), address_key("2001:db8:1:3::1"));
        assert_eq!(address_key("::ffff:192.0.2.7"), address_key("192.0.2.7"));
        assert_ne!(address_key("192.0.2.7"), address_key("192.0.2.8"));
        assert_eq!(address_key("unknown"), "address:unknown");
    }

    #[test]
    fn free_failures_then_a_doubling_delay() {
        let now = 10_000;
        assert_eq!(wait_s(ACCOUNT, 2, Some(now), Some(now), now), None);
        assert_eq!(wait_s(ACCOUNT, 3, Some(now), Some(now), now), Some(2));
        assert_eq!(wait_s(ACCOUNT, 4, Some(now), Some(now), now), Some(3));
        assert_eq!(wait_s(ACCOUNT, 6, Some(now), Some(now), now), Some(9));
        assert_eq!(wait_s(ACCOUNT, 40, Some(now), Some(now), now), Some(301));
        // The delay counts from the last failure, in whole seconds past it.
        assert_eq!(wait_s(ACCOUNT, 6, Some(now - 8), Some(now - 100), now), Some(1));
        assert_eq!(wait_s(ACCOUNT, 6, Some(now - 9), Some(now - 100), now), None);
    }

    #[test]
    fn the_hourly_cap_holds_until_the_oldest_failure_ages_out() {
        let now = 10_000;
        assert_eq!(wait_s(ACCOUNT, 100, Some(now - 400), Some(now - 3000), now), Some(600));
        assert_eq!(wait_s(ACCOUNT, 99, Some(now - 400), Some(now - 3000), now), None);
    }
}
