//! Where to send a user back to after signing in or switching the language: only a path on this
//! site. Browsers strip tabs and newlines from URLs and treat `\` like `/`, so `/\t/evil.example`
//! and `/\evil.example` would leave the site as `//evil.example`: anything but a plain path and
//! query is refused.

/// A same-site path with an optional query, safe to put in a `Location` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPath(String);

const MAX_LEN: usize = 2_000;

impl LocalPath {
    pub fn parse(input: &str) -> Option<Self> {
        let ok_chars = input.chars().all(|c| c.is_ascii_graphic() && c != '\\' && c != '#');
        // Path-absolute ("/x", never "//host"): resolved against this site whatever follows.
        let shape = input.starts_with('/') && !input.starts_with("//") && input.len() <= MAX_LEN;
        (ok_chars && shape).then(|| Self(input.to_owned()))
    }

    /// The path, or `fallback` when `input` is not a safe local path.
    pub fn or(input: &str, fallback: &str) -> String {
        Self::parse(input).map_or_else(|| fallback.to_owned(), |p| p.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The sign-in page that comes back to `path` afterwards.
pub fn login_url(path: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", path)
        .finish();
    format!("/login?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_on_this_site_are_kept() {
        for good in [
            "/",
            "/guide/mokushi/B-4?path=A-1,B-1",
            "/clinics/0110113719/passcode",
            "/desk/tickets?q=%E3%81%82",
        ] {
            assert_eq!(LocalPath::parse(good).map(|p| p.0).as_deref(), Some(good), "{good}");
        }
        for bad in [
            "",
            "guide",
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/ /evil.example",
            "https://evil.example/",
            "/\u{0}",
            "/\u{7f}",
            "/パス",
            "/#frag",
        ] {
            assert_eq!(LocalPath::parse(bad), None, "{bad:?}");
        }
        assert_eq!(LocalPath::parse(&format!("/{}", "a".repeat(3000))), None);
        assert_eq!(LocalPath::or("//evil.example", "/"), "/");
    }
}
