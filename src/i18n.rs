//! UI strings, Japanese first, English available. Every entry carries both languages, so a
//! string cannot exist in one only; a test checks every key the templates use exists.

use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The `lang` cookie chooses; Japanese otherwise.
    pub fn from_cookie_header(header: Option<&str>) -> Self {
        header
            .into_iter()
            .flat_map(|h| h.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == "lang")
            .and_then(|(_, value)| Self::parse(value))
            .unwrap_or_default()
    }
}

/// The text for `key`; an unknown key shows itself (and fails the template test).
pub fn text(lang: Lang, key: &str) -> &'static str {
    match CATALOG.get(key) {
        Some((ja, en)) => match lang {
            Lang::Ja => ja,
            Lang::En => en,
        },
        None => {
            tracing::warn!(key, "missing UI string");
            "???"
        }
    }
}

pub fn has(key: &str) -> bool {
    CATALOG.contains_key(key)
}

static CATALOG: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> =
    LazyLock::new(|| ENTRIES.iter().map(|(k, ja, en)| (*k, (*ja, *en))).collect());

/// (key, 日本語, English)
const ENTRIES: &[(&str, &str, &str)] = &[
    (
        "app.name",
        "目視モード サポートポータル",
        "Visual-check mode support portal",
    ),
    (
        "footer.text",
        "顔認証付きカードリーダーの目視確認モードを支援するポータルです。",
        "A portal supporting the visual-check mode of face-authentication card readers.",
    ),
    // Navigation
    ("nav.skip", "本文へ移動", "Skip to content"),
    ("nav.label", "メインメニュー", "Main menu"),
    ("nav.clinics", "医療機関", "Clinics"),
    ("nav.my_clinic", "医療機関の情報", "My clinic"),
    ("nav.passcode", "目視確認用パスコード", "Visual-check passcode"),
    ("nav.users", "アカウント", "Accounts"),
    ("nav.logout", "ログアウト", "Sign out"),
    // Forms
    ("form.email", "メールアドレス", "E-mail address"),
    ("form.password", "パスワード", "Password"),
    ("form.password_confirm", "パスワード(確認)", "Password (again)"),
    (
        "form.password_rules",
        "パスワードは12文字以上128文字以内です。文字の種類の決まりはありません。長い文やフレーズがおすすめです。",
        "Passwords have 12 to 128 characters, with no rules about kinds of characters. A long phrase works well.",
    ),
    (
        "form.password_mismatch",
        "確認用のパスワードが一致しません。",
        "The two passwords do not match.",
    ),
    (
        "form.email_invalid",
        "メールアドレスの形式が正しくありません(例: name@example.jp)。",
        "Enter an e-mail address such as name@example.jp.",
    ),
    ("form.too_long", "入力が長すぎます。", "An entry is too long."),
    ("form.cancel", "キャンセル", "Cancel"),
    // Sign-in and setup
    ("login.title", "ログイン", "Sign in"),
    ("login.submit", "ログイン", "Sign in"),
    (
        "login.help",
        "パスワードを忘れた場合は、ポータルの運用担当者にお問い合わせください。",
        "If you forgot your password, contact the portal's operator.",
    ),
    (
        "login.failed",
        "メールアドレスまたはパスワードが正しくありません。",
        "The e-mail address or password is not correct.",
    ),
    (
        "login.throttled",
        "ログインの試行が多すぎます。しばらく待ってからもう一度お試しください。",
        "Too many sign-in attempts. Please wait a little and try again.",
    ),
    ("setup.title", "初期設定", "First-run setup"),
    (
        "setup.intro",
        "まだアカウントがありません。サーバー起動時にコンソールへ表示されたセットアップ用トークンを入力し、最初の運用担当者アカウントを作成してください。",
        "No account exists yet. Enter the setup token printed on the server console at start-up and create the first operator account.",
    ),
    ("setup.token", "セットアップ用トークン", "Setup token"),
    (
        "setup.submit",
        "運用担当者アカウントを作成",
        "Create the operator account",
    ),
    (
        "setup.bad_token",
        "セットアップ用トークンが正しくありません。",
        "The setup token is not correct.",
    ),
    // Roles and install types
    ("role.operator", "運用担当者", "Operator"),
    ("role.agent", "サポート担当者", "Support agent"),
    ("role.clinic_admin", "医療機関管理者", "Clinic admin"),
    ("role.unknown", "不明", "Unknown"),
    ("install.standalone", "単独設置型", "Standalone installation"),
    ("install.shared", "併設設置型", "Shared installation"),
    // Clinics
    ("clinics.title", "医療機関", "Clinics"),
    (
        "clinics.none",
        "登録された医療機関はまだありません。",
        "No clinic has been registered yet.",
    ),
    ("clinics.add", "医療機関を登録", "Register a clinic"),
    ("clinics.add_submit", "登録する", "Register"),
    ("clinic.code", "医療機関コード", "Medical institution code"),
    (
        "clinic.code_hint",
        "10桁の数字(都道府県2桁・点数表1桁・医療機関番号7桁)。例: 0110113719",
        "10 digits: prefecture (2), fee table (1), institution number (7). Example: 0110113719",
    ),
    (
        "clinic.code_invalid",
        "医療機関コードが正しくありません",
        "The medical institution code is not valid",
    ),
    ("clinic.name", "医療機関名", "Clinic name"),
    (
        "clinic.name_invalid",
        "医療機関名を100文字以内で入力してください。",
        "Enter the clinic name (100 characters at most).",
    ),
    ("clinic.phone", "電話番号", "Phone"),
    ("clinic.address", "住所", "Address"),
    ("clinic.contact", "担当者名", "Contact person"),
    // Readers
    (
        "readers.title",
        "顔認証付きカードリーダー",
        "Face-authentication card readers",
    ),
    (
        "readers.none",
        "登録されたカードリーダーはありません。",
        "No card reader is enrolled.",
    ),
    ("readers.enroll", "カードリーダーを登録", "Enroll a card reader"),
    (
        "readers.enroll_submit",
        "登録してトークンを発行",
        "Enroll and issue its token",
    ),
    ("reader.name", "カードリーダー名", "Reader name"),
    ("reader.name_placeholder", "例: 受付1", "e.g. Reception 1"),
    (
        "reader.name_invalid",
        "カードリーダー名を60文字以内で入力してください。",
        "Enter a reader name (60 characters at most).",
    ),
    (
        "reader.name_taken",
        "同じ名前のカードリーダーがすでに登録されています。",
        "A reader with this name is already enrolled.",
    ),
    ("reader.install_type", "設置形態", "Installation type"),
    (
        "reader.install_invalid",
        "設置形態を選択してください。",
        "Choose the installation type.",
    ),
    ("reader.last_poll", "最終接続", "Last poll"),
    ("reader.picked_up", "パスコードの反映", "Passcode picked up"),
    ("reader.up_to_date", "最新", "Current"),
    ("reader.behind", "未反映", "Not yet"),
    ("reader.never_polled", "未接続", "Never polled"),
    ("reader.status", "状態", "Status"),
    ("reader.active", "有効", "Active"),
    ("reader.revoked", "無効化済み", "Revoked"),
    ("reader.locked_until", "入力ロック中 〜", "Locked until"),
    ("reader.actions", "操作", "Actions"),
    ("reader.revoke", "無効化", "Revoke"),
    ("reader.reenroll", "トークン再発行", "Re-enroll"),
    ("token.title", "カードリーダーのトークン", "Card reader token"),
    (
        "token.explain",
        "このトークンをカードリーダーの設定に入力してください。カードリーダーはこのトークンでポータルに接続し、有効なパスコードを自動で受け取ります。",
        "Enter this token in the card reader's settings. The reader uses it to connect to the portal and picks up the active passcode by itself.",
    ),
    (
        "token.shown_once",
        "このトークンは今回だけ表示されます。画面を閉じると再表示できません。",
        "This token is shown only now. It cannot be shown again after you leave this page.",
    ),
    // Passcodes
    ("passcode.title", "目視確認用パスコード", "Visual-check passcode"),
    (
        "passcode.explain",
        "目視確認モードでは、職員がカードリーダーの《職員用ボタン》を押して4桁のパスコードを入力します。パスコードは医療機関管理者がここで発行します。",
        "In visual-check mode, staff press the reader's staff button and type a 4-digit passcode. The clinic admin issues that passcode here.",
    ),
    ("passcode.generation", "世代", "Generation"),
    ("passcode.active", "有効", "Active"),
    ("passcode.issued_at", "発行日時", "Issued at"),
    ("passcode.issued_by", "発行者", "Issued by"),
    (
        "passcode.issued_by_cli",
        "コマンドライン(運用担当者)",
        "Command line (operator)",
    ),
    ("passcode.none", "未発行", "Not issued"),
    (
        "passcode.none_hint",
        "パスコードはまだ発行されていません。",
        "No passcode has been issued yet.",
    ),
    (
        "passcode.disabled_title",
        "パスコードは停止されています",
        "The passcode has been disabled",
    ),
    (
        "passcode.disabled_reason",
        "カードリーダーで誤ったパスコードが10回続けて入力されたため、安全のため自動的に停止しました。",
        "Wrong passcodes were entered 10 times in a row at the readers, so it was disabled automatically for safety.",
    ),
    (
        "passcode.disabled_action",
        "新しいパスコードを発行すると、再び目視確認モードを使えるようになります。",
        "Issue a new passcode to use visual-check mode again.",
    ),
    ("passcode.issue_button", "パスコードを発行する", "Issue a passcode"),
    (
        "passcode.history_link",
        "パスコードの履歴と反映状況",
        "Passcode history and pick-up",
    ),
    (
        "passcode.issue_only_admin",
        "パスコードは、この医療機関の管理者だけが発行できます。",
        "Only this clinic's admins can issue its passcode.",
    ),
    (
        "passcode.lockout_rule",
        "1台のカードリーダーで5回続けて誤入力すると一定時間入力できなくなり、医療機関全体で10回続けて誤入力するとパスコードが停止されます。",
        "Five wrong codes in a row lock a reader for a while; ten in a row across the clinic disable the passcode.",
    ),
    (
        "passcode.pickup_title",
        "カードリーダーへの反映状況",
        "Pick-up by the card readers",
    ),
    (
        "passcode.pickup_hint",
        "カードリーダーは新しいパスコードを自動で受け取ります。オンライン資格確認PCの再起動は不要です。",
        "Readers pick up a new passcode by themselves; there is no need to restart the online eligibility PC.",
    ),
    ("passcode.history_title", "発行履歴", "Issue history"),
    (
        "passcode.history_none",
        "発行履歴はありません。",
        "No passcode has been issued.",
    ),
    ("passcode.state_current", "使用中", "In use"),
    ("passcode.state_superseded", "無効(再発行済み)", "Replaced"),
    ("passcode.state_disabled", "停止", "Disabled"),
    (
        "passcode.confirm_title",
        "パスコードを発行しますか?",
        "Issue a new passcode?",
    ),
    (
        "passcode.confirm_invalidates",
        "新しいパスコードを発行すると、今のパスコードはすぐに使えなくなります。",
        "Issuing a new passcode makes the current one stop working at once.",
    ),
    (
        "passcode.confirm_once",
        "新しいパスコードは一度だけ表示されます。メモの用意をしてください。",
        "The new passcode is shown only once. Have something to write it down.",
    ),
    (
        "passcode.confirm_readers",
        "カードリーダーには自動で反映されます。",
        "The card readers pick it up automatically.",
    ),
    ("passcode.confirm_submit", "発行", "Issue"),
    ("passcode.issued_title", "新しいパスコード", "Your new passcode"),
    (
        "passcode.new_code_label",
        "新しい4桁のパスコード",
        "The new 4-digit passcode",
    ),
    (
        "passcode.shown_once",
        "このパスコードは二度と表示できません。",
        "This passcode cannot be shown again.",
    ),
    (
        "passcode.write_down",
        "画面を閉じる前に必ずメモを取り、職員に伝えてください。忘れた場合は新しいパスコードを発行してください。",
        "Write it down before you leave this page and tell the staff. If it is forgotten, issue a new one.",
    ),
    (
        "passcode.old_invalid",
        "以前のパスコードは使えなくなりました。",
        "The previous passcode no longer works.",
    ),
    (
        "passcode.no_restart",
        "カードリーダーへは自動で反映されます。PCの再起動は不要です。",
        "The card readers pick it up by themselves; no PC restart is needed.",
    ),
    ("passcode.done", "メモしました", "I have written it down"),
    // Attempts and audit
    ("attempts.title", "パスコード入力の記録", "Passcode entries"),
    (
        "attempts.none",
        "入力の記録はありません。",
        "No passcode has been entered yet.",
    ),
    ("attempt.at", "日時", "Time"),
    ("attempt.result", "結果", "Result"),
    ("attempt.accepted", "一致", "Accepted"),
    ("attempt.rejected", "不一致", "Wrong code"),
    ("attempt.locked", "ロック中のため拒否", "Refused: reader locked"),
    ("attempt.disabled", "停止中のため拒否", "Refused: passcode disabled"),
    ("attempt.none_issued", "未発行のため拒否", "Refused: none issued"),
    ("audit.title", "操作記録", "Audit log"),
    ("audit.none", "操作記録はありません。", "Nothing has been recorded yet."),
    ("audit.at", "日時", "Time"),
    ("audit.actor", "操作者", "By"),
    ("audit.action", "操作", "Action"),
    ("audit.detail", "内容", "Detail"),
    ("audit.clinic.created", "医療機関の登録", "Clinic registered"),
    ("audit.user.created", "アカウント作成", "Account created"),
    ("audit.reader.enrolled", "カードリーダー登録", "Reader enrolled"),
    ("audit.reader.revoked", "カードリーダー無効化", "Reader revoked"),
    ("audit.reader.reenrolled", "トークン再発行", "Reader re-enrolled"),
    ("audit.passcode.issued", "パスコード発行", "Passcode issued"),
    ("audit.passcode.disabled", "パスコード停止", "Passcode disabled"),
    ("audit.access.denied", "権限のないアクセス", "Access denied"),
    ("audit.sign_in", "ログイン", "Signed in"),
    ("audit.sign_out", "ログアウト", "Signed out"),
    ("audit.sign_in.failed", "ログイン失敗", "Sign-in failed"),
    ("audit.sign_in.throttled", "ログイン制限", "Sign-in throttled"),
    // Accounts
    ("users.title", "アカウント", "Accounts"),
    ("users.add", "アカウントを作成", "Create an account"),
    ("users.add_submit", "作成する", "Create"),
    ("user.role", "役割", "Role"),
    ("user.role_invalid", "役割を選択してください。", "Choose a role."),
    ("user.clinic", "医療機関", "Clinic"),
    (
        "user.clinic_hint",
        "医療機関管理者の場合のみ選択します。",
        "Only for clinic admins.",
    ),
    (
        "user.clinic_required",
        "医療機関管理者には医療機関を選択してください。",
        "Choose the clinic for a clinic admin.",
    ),
    ("user.created", "作成日時", "Created"),
    ("user.initial_password", "初期パスワード", "Initial password"),
    ("user.disabled", "無効", "Disabled"),
    ("user.disable", "無効にする", "Disable"),
    ("user.enable", "有効にする", "Enable"),
    ("user.reset_password", "パスワード再設定", "Reset password"),
    ("user.new_password", "新しいパスワード", "New password"),
    ("user.reset_password_submit", "再設定する", "Set password"),
    ("audit.user.disabled", "アカウント無効化", "Account disabled"),
    ("audit.user.enabled", "アカウント有効化", "Account enabled"),
    ("audit.user.password_reset", "パスワード再設定", "Password reset"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_both_languages_and_keys_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (key, ja, en) in ENTRIES {
            assert!(seen.insert(key), "duplicate key {key}");
            assert!(
                !ja.trim().is_empty() && !en.trim().is_empty(),
                "{key} is missing a language"
            );
        }
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let pattern = ["t(\"", "\")"];
        let mut missing = Vec::new();
        for dir in ["templates", "src"] {
            for path in walk(&root.join(dir)) {
                let text = std::fs::read_to_string(&path).unwrap();
                for chunk in text.split(pattern[0]).skip(1) {
                    if let Some(key) = chunk.split(pattern[1]).next()
                        && key.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                        && !has(key)
                    {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "missing UI strings: {missing:?}");
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn the_cookie_chooses_the_language_and_japanese_is_the_default() {
        assert_eq!(Lang::from_cookie_header(None), Lang::Ja);
        assert_eq!(Lang::from_cookie_header(Some("a=b; lang=en")), Lang::En);
        assert_eq!(Lang::from_cookie_header(Some("lang=fr")), Lang::Ja);
    }
}
