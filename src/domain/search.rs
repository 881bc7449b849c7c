//! Ticket search: the folding that makes `ぱすこーど`, `ﾊﾟｽｺｰﾄﾞ` and `パスコード` the same
//! word, and the bounds on what a search may ask for.
//!
//! The folding lives here, in Rust and with no I/O, rather than in a database tokenizer: the
//! stored search text and every query go through the same [`fold`], so any engine that stores
//! the folded text (SQLite FTS5 trigram today, PostgreSQL pg_trgm later) matches the same way.

use unicode_normalization::UnicodeNormalization;

/// A search query longer than this (in characters, as typed) is refused.
pub const MAX_QUERY_CHARS: usize = 200;
/// At most this many words per search; every one must match.
pub const MAX_TERMS: usize = 8;
/// Shorter words cannot be looked up in the index (see `db::tickets`), so they are refused.
pub const MIN_TERM_CHARS: usize = 2;

/// Folds text for searching, identically for the indexed text and the query:
/// NFKC (full-width letters and digits become ASCII, half-width katakana full-width, a separate
/// ゛/゜ joins its kana), hiragana becomes katakana, lower case, dash-like characters become `-`
/// (and `ー` too between two digits, as an IME types phone numbers), `〜` becomes `~`.
/// Voiced and semi-voiced kana (ハ, バ, パ) and small kana (ツ, ッ) stay different.
pub fn fold(text: &str) -> String {
    // U+309B/U+309C are the spacing ゛/゜, which NFKC turns into a space plus a combining mark;
    // the combining ones compose with the kana before them (ハ゛ → バ).
    let composed: Vec<char> = text
        .chars()
        .map(|c| match c {
            '\u{309B}' => '\u{3099}',
            '\u{309C}' => '\u{309A}',
            other => other,
        })
        .nfkc()
        .collect();
    let mut folded = String::with_capacity(text.len());
    for (i, &c) in composed.iter().enumerate() {
        match c {
            // ぁ..ゖ and ゝゞ sit 0x60 below their katakana.
            '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
                folded.push(char::from_u32(u32::from(c) + 0x60).unwrap_or(c));
            }
            '\u{2010}'..='\u{2015}' | '\u{2212}' => folded.push('-'),
            '\u{30FC}' if between_digits(&composed, i) => folded.push('-'),
            '\u{301C}' => folded.push('~'),
            c if c.is_uppercase() => folded.extend(c.to_lowercase()),
            c => folded.push(c),
        }
    }
    folded
}

fn between_digits(chars: &[char], i: usize) -> bool {
    let before = i.checked_sub(1).and_then(|j| chars.get(j));
    let after = chars.get(i + 1);
    matches!((before, after), (Some(b), Some(a)) if b.is_ascii_digit() && a.is_ascii_digit())
}

/// Why a search query was refused; each carries a UI-string key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("the search is longer than {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("a search may have at most {MAX_TERMS} words")]
    TooManyTerms,
    #[error("each search word needs at least {MIN_TERM_CHARS} characters")]
    TermTooShort,
}

impl SearchError {
    pub fn key(&self) -> &'static str {
        match self {
            Self::TooLong => "search.too_long",
            Self::TooManyTerms => "search.too_many_terms",
            Self::TermTooShort => "search.term_too_short",
        }
    }
}

/// The folded words of a query, split on any white space (full-width too). An empty query has
/// no words and matches every ticket.
pub fn terms(query: &str) -> Result<Vec<String>, SearchError> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(SearchError::TooLong);
    }
    let folded = fold(query);
    let terms: Vec<String> = folded.split_whitespace().map(str::to_owned).collect();
    if terms.len() > MAX_TERMS {
        return Err(SearchError::TooManyTerms);
    }
    if terms.iter().any(|t| t.chars().count() < MIN_TERM_CHARS) {
        return Err(SearchError::TermTooShort);
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (typed, stored): the typed word, folded, is found in the stored text, folded.
    const FINDS: &[(&str, &str)] = &[
        ("ぱすこーど", "パスコード"),
        ("ﾊﾟｽｺｰﾄﾞ", "パスコード"),
        ("パスコード", "ﾊﾟｽｺｰﾄﾞを忘れた"),
        ("パスコード", "ぱすこーど"),
        ("０１１－２３１", "011-231-4567"),
        ("011-231", "０１１－２３１－４５６７"),
        ("011ー231", "011-231"),
        ("011−231", "011-231"),
        ("pcの", "ＰＣの電源"),
        ("PC", "ｐｃ"),
        ("sup-000123", "SUP-000123"),
        ("ﾘﾓｰﾄﾃﾞｽｸﾄｯﾌﾟ", "リモートデスクトップ"),
        ("ハ゛ス", "バス"),
        ("ヴ", "ゔ"),
        ("ﾞ", "\u{3099}"),
        ("カードリーダー", "かーどりーだー"),
        ("windows", "Ｗｉｎｄｏｗｓ"),
        ("9〜18", "9~18"),
        ("①", "1"),
        ("㈱", "(株)"),
    ];

    /// (typed, stored): different words that must not match.
    const KEEPS_APART: &[(&str, &str)] = &[
        ("ハス", "バス"),
        ("バス", "パス"),
        ("ハス", "パス"),
        ("はす", "ぱす"),
        ("ﾊｽ", "バス"),
        ("ツ", "ッ"),
        ("ヨ", "ョ"),
        ("コード", "コート"),
        ("カード", "ガード"),
        ("リーダー", "リーター"),
        ("ー", "-"),
        ("データ", "デ-タ"),
        ("1", "2"),
        ("一", "-"),
        ("日", "曰"),
    ];

    #[test]
    fn typed_words_find_what_people_mean() {
        for (typed, stored) in FINDS {
            assert!(fold(stored).contains(&fold(typed)), "{typed:?} should find {stored:?}");
        }
    }

    #[test]
    fn folding_keeps_different_words_apart() {
        for (typed, stored) in KEEPS_APART {
            assert_ne!(fold(typed), fold(stored), "{typed:?} must not match {stored:?}");
        }
    }

    #[test]
    fn folding_is_stable_when_applied_twice() {
        for (a, b) in FINDS.iter().chain(KEEPS_APART) {
            assert_eq!(fold(&fold(a)), fold(a));
            assert_eq!(fold(&fold(b)), fold(b));
        }
    }

    #[test]
    fn folds_to_katakana_ascii_and_lower_case() {
        assert_eq!(fold("ぱすこーど"), "パスコード");
        assert_eq!(fold("ＰＣ　ﾛｸﾞｲﾝ"), "pc ログイン");
        assert_eq!(fold("０１１ー２３１"), "011-231");
    }

    #[test]
    fn queries_split_on_any_white_space_and_are_folded() {
        assert_eq!(
            terms(" ぱすこーど\u{3000}ＰＣの ").unwrap(),
            vec!["パスコード".to_owned(), "pcノ".to_owned()]
        );
        assert_eq!(terms("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn queries_are_bounded() {
        assert_eq!(terms(&"あ".repeat(MAX_QUERY_CHARS + 1)), Err(SearchError::TooLong));
        assert!(terms(&"あ".repeat(MAX_QUERY_CHARS)).is_ok());
        assert_eq!(terms(&"ab ".repeat(MAX_TERMS + 1)), Err(SearchError::TooManyTerms));
        assert_eq!(terms("パスコード の"), Err(SearchError::TermTooShort));
        assert!(terms("pc の端末").is_ok());
    }
}
