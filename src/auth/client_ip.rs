//! The client's address, for throttling and the audit log. Behind a reverse proxy (which the
//! https deployment needs) every request comes from the proxy: without this, one attacker's
//! failed sign-ins would throttle every clinic behind it.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The peer, unless the peer is a trusted proxy: then the nearest address in `X-Forwarded-For`
/// that is not itself a trusted proxy (the right-most such entry; entries further left were
/// written by the client and can be forged). A missing or unreadable header leaves the peer.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut forwarded = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for part in text.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => forwarded.push(ip),
                // One bad entry makes the chain untrustworthy past this point.
                Err(_) => return peer,
            }
        }
    }
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&["203.0.113.7"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &h, &[ip("10.0.0.2")]), ip("198.51.100.1"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let proxy = ip("10.0.0.2");
        // The client forged the first entry; the proxy appended the real peer.
        let h = headers(&["1.2.3.4, 203.0.113.7"]);
        assert_eq!(client_ip(proxy, &h, &[proxy]), ip("203.0.113.7"));
        // Two trusted proxies in a row are skipped; header lines are read in order.
        let inner = ip("10.0.0.3");
        let h = headers(&["203.0.113.7", "10.0.0.3"]);
        assert_eq!(client_ip(proxy, &h, &[proxy, inner]), ip("203.0.113.7"));
        // IPv6 too.
        let h = headers(&["2001:db8::5"]);
        assert_eq!(client_ip(proxy, &h, &[proxy]), ip("2001:db8::5"));
    }

    #[test]
    fn a_missing_or_damaged_header_leaves_the_peer() {
        let proxy = ip("10.0.0.2");
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
        assert_eq!(client_ip(proxy, &headers(&["203.0.113.7, nonsense"]), &[proxy]), proxy);
        assert_eq!(client_ip(proxy, &headers(&["10.0.0.2"]), &[proxy]), proxy);
    }
}
