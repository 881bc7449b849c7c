//! Cookies other than the session's: the language, the visitor's CSRF token, the guide walk and
//! the device cookie. Reading picks one value out of a `Cookie:` header; writing builds the
//! `Set-Cookie` value with the attributes every one of them needs.

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name` in these request headers, if sent (the first one wins).
pub fn find<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|h| find_in(h, name))
}

/// The value of cookie `name` in one `Cookie:` header's text.
pub fn find_in<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// Every `Cookie:` header of a request as one text (browsers send one; HTTP/2 may split it).
pub fn header_text(headers: &HeaderMap) -> String {
    let values: Vec<&str> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    values.join("; ")
}

/// Whether `value` is what `session::random_hex(bytes)` makes: cookies are client input.
pub fn is_hex_token(value: &str, bytes: usize) -> bool {
    value.len() == bytes * 2 && value.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A `Set-Cookie` value: always HttpOnly and SameSite=Lax, `Secure` when the portal is served
/// over https. `max_age_s: None` makes a cookie that ends with the browser session.
pub fn set(name: &str, value: &str, path: &str, max_age_s: Option<u64>, secure: bool) -> HeaderValue {
    let max_age = max_age_s.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path={path}{max_age}; SameSite=Lax; HttpOnly{secure}");
    // Names and values are ours (hex tokens, language codes): always valid header text.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; lang=en"));
        headers.append(header::COOKIE, HeaderValue::from_static("walk=abc"));
        assert_eq!(find(&headers, "lang"), Some("en"));
        assert_eq!(find(&headers, "walk"), Some("abc"));
        assert_eq!(find(&headers, "missing"), None);
        assert_eq!(find(&headers, "a"), Some("1"));
    }

    #[test]
    fn tokens_are_checked_for_length_and_lower_hex() {
        assert!(is_hex_token(&"ab".repeat(16), 16));
        assert!(!is_hex_token(&"AB".repeat(16), 16));
        assert!(!is_hex_token(&"ab".repeat(15), 16));
        assert!(!is_hex_token(&"zz".repeat(16), 16));
    }

    #[test]
    fn set_cookie_carries_the_safe_attributes() {
        let plain = set("walk", "x", "/guide", None, false);
        assert_eq!(plain, "walk=x; Path=/guide; SameSite=Lax; HttpOnly");
        let secure = set("lang", "ja", "/", Some(60), true);
        assert_eq!(secure, "lang=ja; Path=/; Max-Age=60; SameSite=Lax; HttpOnly; Secure");
    }
}
