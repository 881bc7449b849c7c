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
            .and_then(|h| crate::auth::cookies::find_in(h, "lang"))
            .and_then(Self::parse)
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
    ("nav.outbox", "送信メール", "Outgoing mail"),
    ("nav.logout", "ログアウト", "Sign out"),
    // Forms
    ("form.email", "メールアドレス", "E-mail address"),
    ("form.password", "パスワード", "Password"),
    ("form.password_confirm", "パスワード（確認）", "Password (again)"),
    (
        "form.password_rules",
        "パスワードは12文字以上128文字以内です。文字の種類の決まりはありません。長い文やフレーズがおすすめです。",
        "Passwords have 12 to 128 characters, with no rules about kinds of characters. A long phrase works well.",
    ),
    (
        "form.password_common",
        "このパスワードは、よく使われるパスワードや漏えいしたパスワードの一覧に載っています。推測されやすいため、別のパスワードにしてください。",
        "This password is on the list of the most common and breached passwords, so it is easy to guess. Choose another.",
    ),
    (
        "form.password_mismatch",
        "確認用のパスワードが一致しません。",
        "The two passwords do not match.",
    ),
    (
        "form.email_invalid",
        "メールアドレスの形式が正しくありません（例：name@example.jp）。",
        "Enter an e-mail address such as name@example.jp.",
    ),
    ("form.too_long", "入力が長すぎます。", "An entry is too long."),
    (
        "form.fix_below",
        "入力内容を確認してください。問題のある項目に理由を表示しています。",
        "Please check the form: the reason is shown next to each field in question.",
    ),
    (
        "form.malformed",
        "フォームの内容を読み取れませんでした。ページを再読み込みしてもう一度お試しください。",
        "The form could not be read. Reload the page and try again.",
    ),
    ("form.cancel", "キャンセル", "Cancel"),
    (
        "form.invalid_choice",
        "選べない値が送信されました。ページを再読み込みしてもう一度お試しください。",
        "The form sent a value it does not offer. Reload the page and try again.",
    ),
    (
        "ticket.conflict_reload",
        "このチケットは、開いた後にほかの担当者が更新しました。再読み込みして最新の内容を確認してから、もう一度操作してください。",
        "Someone else changed this ticket after you opened it. Reload it, check the latest state, and try again.",
    ),
    (
        "ticket.transition_refused",
        "「{from}」から「{to}」には変更できません。",
        "A ticket cannot go from \u{201c}{from}\u{201d} to \u{201c}{to}\u{201d}.",
    ),
    (
        "ticket.invalid.reader",
        "このカードリーダーはこの医療機関のものではありません。",
        "The reader does not belong to this clinic.",
    ),
    (
        "ticket.invalid.assignee",
        "担当者にできるのは、有効なサポート担当者と運用担当者だけです。",
        "Tickets can be assigned to active agents and operators only.",
    ),
    (
        "ticket.invalid.category",
        "この分類は存在しないか、廃止されています。",
        "Unknown or retired category.",
    ),
    (
        "ticket.invalid.merged",
        "このチケットは統合済みです。統合先のチケットに記録してください。",
        "This ticket was merged; write on the ticket it was merged into.",
    ),
    (
        "ticket.invalid.merge_self",
        "チケットを自分自身には統合できません。",
        "A ticket cannot be merged into itself.",
    ),
    (
        "ticket.invalid.merge_again",
        "統合済みのチケットはもう一度統合できません。",
        "Merged tickets cannot be merged again.",
    ),
    (
        "ticket.invalid.merge_clinic",
        "統合できるのは同じ医療機関のチケットだけです。",
        "Only tickets of the same clinic can be merged.",
    ),
    (
        "ticket.invalid.number",
        "チケット番号は SUP-000123 の形で入力してください。",
        "Enter a ticket number such as SUP-000123.",
    ),
    (
        "ticket.invalid.call_clinic",
        "このチケットは別の医療機関のものです。",
        "That ticket belongs to another clinic.",
    ),
    (
        "settings.other_stays",
        "既定の分類「その他」は廃止できません。",
        "The default category \u{201c}Other\u{201d} cannot be retired.",
    ),
    (
        "confirm.revoke_reader_title",
        "このカードリーダーを無効にしますか？",
        "Revoke this card reader?",
    ),
    (
        "confirm.revoke_reader_consequence",
        "このリーダーのトークンはすぐに使えなくなり、職員が入力した目視確認用パスコードも確認できなくなります。もう一度使うには再登録して、新しいトークンをリーダーに設定してください。",
        "Its token stops working at once, and staff can no longer have a 目視確認 passcode checked on it. To use it again, re-enroll it and set the new token on the reader.",
    ),
    ("confirm.revoke_reader_submit", "無効にする", "Revoke"),
    (
        "confirm.reenroll_reader_title",
        "このカードリーダーを再登録しますか？",
        "Re-enroll this card reader?",
    ),
    (
        "confirm.reenroll_reader_consequence",
        "新しいトークンを発行します。今のトークンはすぐに使えなくなるため、新しいトークンをリーダーに設定するまで、このリーダーではパスコードを確認できません。",
        "A new token is issued and the current one stops working at once: until the new token is set on the reader, it cannot check passcodes.",
    ),
    ("confirm.reenroll_reader_submit", "再登録する", "Re-enroll"),
    (
        "confirm.disable_user_title",
        "このアカウントを無効にしますか？",
        "Disable this account?",
    ),
    (
        "confirm.disable_user_consequence",
        "このアカウントではすぐにサインインできなくなり、使用中のセッションとAPIトークン、このアカウントが送った未使用の招待も使えなくなります。あとで有効に戻せます。",
        "It can no longer sign in, and its open sessions, its API tokens and the unused invitations it sent stop working at once. You can enable it again later.",
    ),
    ("confirm.disable_user_submit", "無効にする", "Disable"),
    (
        "confirm.mfa_reset_title",
        "このアカウントの二段階認証を解除しますか？",
        "Turn off two-step verification for this account?",
    ),
    (
        "confirm.mfa_reset_consequence",
        "スマートフォンをなくした場合などに使います。本人の確認が取れていることを確かめてください。解除すると、次のサインインはパスワードだけで通り（必須の役割ではその場で設定し直し）、本人にメールで知らせます。",
        "For a lost phone and the like: make sure you have confirmed who is asking. Once turned off, the next sign-in needs only the password (roles that require it set it up again right then), and the user is told by mail.",
    ),
    ("confirm.mfa_reset_submit", "二段階認証を解除する", "Turn it off"),
    (
        "confirm.revoke_token_title",
        "このAPIトークンを失効させますか？",
        "Revoke this API token?",
    ),
    (
        "confirm.revoke_token_consequence",
        "このトークンを使っている連携（電話システムなど）はすぐに動かなくなります。元に戻すことはできません。",
        "Integrations using this token (a phone system, for example) stop working at once. This cannot be undone.",
    ),
    ("confirm.revoke_token_submit", "失効させる", "Revoke"),
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
    ("via.web", "ポータルから", "from the portal"),
    ("audit_actor.cli", "コマンドライン", "Command line"),
    ("audit_actor.anonymous", "サインインしていない利用者", "Not signed in"),
    ("audit_actor.reader", "カードリーダー", "Card reader"),
    ("via.cli", "コマンドラインから", "from the command line"),
    (
        "audit_detail.passcode.issued",
        "{generation}回目の発行（{via}）",
        "Issue no. {generation} ({via})",
    ),
    (
        "audit_detail.passcode.disabled",
        "{generation}回目に発行したパスコード：誤ったパスコードが{failures}回続いたため停止",
        "Passcode no. {generation}: disabled after {failures} wrong codes in a row",
    ),
    ("audit_detail.clinic.created", "{name}（{code}）", "{name} ({code})"),
    ("audit_detail.user.created", "{email}（{role}）", "{email} ({role})"),
    ("audit_detail.user.disabled", "{email}", "{email}"),
    ("audit_detail.user.enabled", "{email}", "{email}"),
    ("audit_detail.user.password_reset", "{email}", "{email}"),
    (
        "audit_detail.reader.enrolled",
        "{name}（{install}）",
        "{name} ({install})",
    ),
    ("audit_detail.reader.revoked", "{name}", "{name}"),
    ("audit_detail.reader.reenrolled", "{name}", "{name}"),
    (
        "audit_detail.guide.credential_revealed",
        "ガイドのステップ {step}{source}",
        "Guide step {step}{source}",
    ),
    ("source.default", "（既定のログイン情報）", " (the default details)"),
    ("source.clinic", "（この医療機関専用）", " (this clinic's own)"),
    (
        "audit_detail.pc_credential.set",
        "{scope}：ユーザー名は{username_change}、パスワードは{password_change}",
        "{scope}: user name {username_change}, password {password_change}",
    ),
    ("audit_detail.pc_credential.cleared", "{scope}", "{scope}"),
    ("scope.default", "既定（全医療機関）", "Default (every clinic)"),
    ("username_change.changed", "変更", "changed"),
    ("username_change.unchanged", "変更なし", "unchanged"),
    ("password_change.changed", "変更", "changed"),
    ("password_change.unchanged", "変更なし", "unchanged"),
    ("audit_detail.access.denied", "{path}", "{path}"),
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
        "10桁の数字（都道府県2桁・点数表1桁・医療機関番号7桁）。例：0110113719",
        "10 digits: prefecture (2), fee table (1), institution number (7). Example: 0110113719",
    ),
    (
        "clinic.code_invalid",
        "医療機関コードが正しくありません",
        "The medical institution code is not valid",
    ),
    (
        "clinic.code_err_length",
        "医療機関コードは10桁の数字です。",
        "A medical institution code has exactly 10 digits.",
    ),
    (
        "clinic.code_err_digits",
        "医療機関コードには数字だけを入力してください。",
        "A medical institution code has digits only.",
    ),
    (
        "clinic.code_err_prefecture",
        "はじめの2桁は都道府県番号（01〜47）です。",
        "The first two digits are a prefecture number from 01 to 47.",
    ),
    (
        "clinic.code_err_fee_table",
        "3桁目（点数表）は 1（医科）・3（歯科）・4（調剤）・6（訪問看護）のいずれかです。",
        "The third digit (fee table) is 1 (medical), 3 (dental), 4 (pharmacy) or 6 (home nursing).",
    ),
    (
        "clinic.code_err_check_digit",
        "最後の桁（検証番号）が合いません。打ち間違いがないか確認してください。",
        "The last digit (check digit) does not match. Check the code for a typo.",
    ),
    (
        "account.err_duplicate_clinic",
        "医療機関コード {value} の医療機関はすでに登録されています。",
        "A clinic with the code {value} is already registered.",
    ),
    (
        "account.err_duplicate_user",
        "{value} のアカウントはすでにあります。",
        "An account for {value} already exists.",
    ),
    (
        "account.err_unknown_clinic",
        "医療機関コード {value} の医療機関は登録されていません。",
        "No clinic with the code {value} is registered.",
    ),
    (
        "account.err_clinic_not_allowed",
        "医療機関を選べるのは医療機関管理者だけです。",
        "Only clinic admins belong to a clinic.",
    ),
    (
        "account.err_unknown_user",
        "そのアカウントはありません。",
        "There is no such account.",
    ),
    (
        "account.err_self_disable",
        "自分のアカウントは無効にできません。",
        "You cannot disable your own account.",
    ),
    (
        "account.err_token_not_allowed",
        "APIトークンは有効なサポート担当者と運用管理者だけが発行できます。",
        "API tokens are for active agents and operators only.",
    ),
    (
        "error.internal",
        "サーバーでエラーが発生しました。時間をおいてお試しください。",
        "Something went wrong on the server. Please try again later.",
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
    ("reader.name_placeholder", "例：受付1", "e.g. Reception 1"),
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
    ("passcode.generation", "発行番号", "Issue no."),
    ("passcode.active", "有効", "Active"),
    ("passcode.issued_at", "発行日時", "Issued at"),
    ("passcode.issued_by", "発行者", "Issued by"),
    (
        "passcode.issued_by_cli",
        "コマンドライン（運用担当者）",
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
        "カードリーダーで入力された誤ったパスコードが上限の回数に達したため、安全のため自動的に停止しました。",
        "Wrong passcodes entered at the readers reached the limit, so it was disabled automatically for safety.",
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
        "1台のカードリーダーで5回続けて誤入力すると一定時間入力できなくなります。医療機関のすべてのカードリーダーで誤入力が合わせて{failures}回になると（途中で正しく入力しても数え直しません）、パスコードが停止されます。新しく発行すると数え直します。",
        "Five wrong codes in a row lock a reader for a while. When wrong codes at all the clinic's readers add up to {failures} (a right code in between does not reset the count), the passcode is disabled. Issuing a new one starts the count again.",
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
    ("passcode.state_superseded", "無効（再発行済み）", "Replaced"),
    ("passcode.state_disabled", "停止", "Disabled"),
    (
        "passcode.confirm_title",
        "パスコードを発行しますか？",
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
    (
        "passcode.already_issued_title",
        "このパスコードは発行済みです",
        "This passcode has already been issued",
    ),
    (
        "passcode.already_issued_body",
        "この確認画面からはすでにパスコードを発行し、一度だけ表示しました。再読み込みや二度押しでは新しいパスコードは発行されません。",
        "A passcode was already issued and shown once from this confirmation. Reloading or pressing twice does not issue another one.",
    ),
    (
        "passcode.already_issued_current",
        "そのとき表示したパスコードは今も使えます。",
        "The code shown then still works.",
    ),
    (
        "passcode.already_issued_replaced",
        "そのとき表示したパスコードは、その後の発行ですでに使えなくなっています。",
        "The code shown then has since been replaced by a newer one.",
    ),
    (
        "passcode.already_issued_forgot",
        "パスコードを控え忘れた場合は、新しいパスコードを発行してください（今のパスコードは使えなくなります）。",
        "If nobody wrote it down, issue a new passcode (the current one then stops working).",
    ),
    (
        "passcode.issue_again",
        "新しいパスコードを発行する",
        "Issue a new passcode",
    ),
    (
        "passcode.back_to_status",
        "パスコードの状態を見る",
        "See the passcode's status",
    ),
    (
        "passcode.confirm_expired",
        "確認画面の有効期限（30分）が切れたため、発行していません。もう一度「発行」を押してください。",
        "The confirmation expired (after 30 minutes), so nothing was issued. Press Issue again.",
    ),
    // Ticket list filters ({value} is what was typed)
    (
        "desk.filter_bad_view",
        "「{value}」という表示はありません。",
        "There is no view \"{value}\".",
    ),
    (
        "desk.filter_bad_status",
        "「{value}」という状態はありません。",
        "There is no status \"{value}\".",
    ),
    (
        "desk.filter_no_account",
        "{value} のアカウントはありません。",
        "There is no account {value}.",
    ),
    (
        "desk.filter_no_clinic",
        "医療機関コード {value} の医療機関は登録されていません。",
        "No clinic with the code {value} is registered.",
    ),
    (
        "desk.filter_bad_category",
        "「{value}」という分類はありません。",
        "There is no category \"{value}\".",
    ),
    (
        "desk.filter_bad_priority",
        "「{value}」という優先度はありません。",
        "There is no priority \"{value}\".",
    ),
    (
        "desk.filter_bad_date",
        "日付「{value}」は 2026-12-01 のように入力してください。",
        "Enter the date \"{value}\" as YYYY-MM-DD, e.g. 2026-12-01.",
    ),
    (
        "desk.filter_bad_sort",
        "「{value}」という並び順はありません。",
        "There is no sort order \"{value}\".",
    ),
    (
        "guide.help_callback_phone",
        "折り返しの電話番号",
        "Number to call you back",
    ),
    (
        "guide.help_callback_hint",
        "サポートからこの番号にお電話します。医療機関の代表番号が入っています。別の番号がよければ書き換えてください。",
        "The desk calls you back on this number. It starts as the clinic's main number; change it if another is better.",
    ),
    (
        "guide.help_phone_invalid",
        "折り返しの電話番号を 011-555-0100 のように入力してください。",
        "Enter the number to call back, e.g. 011-555-0100.",
    ),
    // Own password
    ("password.title", "パスワードの変更", "Change your password"),
    ("nav.password", "パスワード変更", "Password"),
    ("nav.sessions", "ログイン中の端末", "Sessions"),
    ("sessions.title", "ログイン中の端末", "Where you are signed in"),
    (
        "sessions.explain",
        "このアカウントでいまログインしているブラウザです。心当たりのないものや、共用の端末に残したものは「ログアウトさせる」で終了できます。パスワードを変更すると、この端末以外はすべてログアウトします。",
        "The browsers signed in to this account now. End any you do not recognise, or one left signed in on a shared computer. Changing your password signs out every browser but this one.",
    ),
    ("sessions.device", "ブラウザ・端末", "Browser and device"),
    ("sessions.address", "接続元アドレス", "Address"),
    ("sessions.signed_in", "ログイン日時", "Signed in"),
    ("sessions.last_used", "最終使用", "Last used"),
    (
        "sessions.this_one",
        "この端末（いま使用中）",
        "This browser (in use now)",
    ),
    ("sessions.end", "ログアウトさせる", "Sign out"),
    (
        "flash.session_ended",
        "そのセッションを終了しました。その端末では次の操作からログインが必要です。",
        "That session has ended: the browser must sign in again at its next step.",
    ),
    (
        "password.required",
        "このパスワードは運用管理者が設定した仮のものです。続けるには、ご自分のパスワードに変更してください。",
        "This password was set for you by an operator. Choose your own to go on.",
    ),
    ("password.current", "現在のパスワード", "Current password"),
    ("password.new", "新しいパスワード", "New password"),
    (
        "password.new_confirm",
        "新しいパスワード（確認）",
        "New password (again)",
    ),
    ("password.submit", "変更する", "Change password"),
    (
        "password.other_sessions_end",
        "変更すると、ほかの端末やブラウザでのログインはすべて終了します。",
        "Changing it signs you out everywhere else (other devices and browsers).",
    ),
    (
        "password.changed",
        "パスワードを変更しました。",
        "Your password has been changed.",
    ),
    (
        "password.err_wrong_current",
        "現在のパスワードが正しくありません。",
        "The current password is not right.",
    ),
    (
        "password.err_same",
        "新しいパスワードは現在のものと別にしてください。",
        "Choose a new password that differs from the current one.",
    ),
    (
        "password.err_mismatch",
        "確認のために入力したパスワードが一致しません。",
        "The two new passwords do not match.",
    ),
    (
        "password.throttled",
        "試行が多すぎます。しばらく待ってからもう一度お試しください。",
        "Too many attempts. Please wait a little and try again.",
    ),
    ("settings.passcode_policy", "パスコードの停止", "Disabling a passcode"),
    (
        "settings.passcode_policy_hint",
        "1回の発行について、医療機関のすべてのカードリーダーで誤ったパスコードが合わせてこの回数に達すると、そのパスコードを停止します。正しい入力があっても数え直しません。小さいほど推測に強く、大きいほど打ち間違いで止まりにくくなります。",
        "For one issued passcode, when wrong codes at all the clinic's readers add up to this number, the passcode is disabled. A right code does not reset the count. Smaller resists guessing better; larger stops less often for typos.",
    ),
    (
        "settings.passcode_failures",
        "停止までの誤入力回数（3〜100）",
        "Wrong codes before disabling (3 to 100)",
    ),
    ("settings.save_passcode_policy", "回数を保存", "Save"),
    (
        "settings.passcode_failures_invalid",
        "停止までの誤入力回数は3〜100の数で入力してください。",
        "Enter a number of wrong codes from 3 to 100.",
    ),
    (
        "audit.passcode_policy.changed",
        "パスコード停止の回数を変更",
        "Passcode disabling limit changed",
    ),
    // What a form did, shown once on the page it lands on
    ("flash.saved", "保存しました。", "Saved."),
    (
        "flash.clinic_registered",
        "医療機関を登録しました。",
        "The clinic has been registered.",
    ),
    (
        "flash.account_created",
        "アカウントを作成しました。初回ログイン時にパスワードの変更が求められます。",
        "The account has been created. Its user will be asked to choose a password at the first sign-in.",
    ),
    (
        "flash.account_disabled",
        "アカウントを無効にしました。",
        "The account has been disabled.",
    ),
    (
        "flash.account_enabled",
        "アカウントを有効にしました。",
        "The account has been enabled.",
    ),
    (
        "flash.password_reset",
        "仮のパスワードを設定しました。次回のログインで変更が求められます。",
        "A temporary password has been set. It must be changed at the next sign-in.",
    ),
    (
        "flash.reader_revoked",
        "カードリーダーを無効にしました。",
        "The card reader has been revoked.",
    ),
    (
        "flash.token_revoked",
        "トークンを無効にしました。",
        "The token has been revoked.",
    ),
    ("flash.call_saved", "通話を記録しました。", "The call has been logged."),
    (
        "flash.merged",
        "問い合わせを統合しました。",
        "The tickets have been merged.",
    ),
    (
        "flash.request_sent",
        "サポートに送信しました。担当者からご連絡します。",
        "Sent to the support desk. Someone will get back to you.",
    ),
    ("flash.reply_sent", "返信を送信しました。", "Your reply has been sent."),
    // Attempts and audit
    ("history.older", "さらに前の記録", "Older entries"),
    ("history.newest", "最新の記録に戻る", "Back to the newest"),
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
    ("attempt.times_prefix", "（1分間に", "("),
    ("attempt.times_suffix", "回）", " times within a minute)"),
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
    // Support desk
    ("nav.desk", "サポートデスク", "Support desk"),
    ("nav.requests", "サポート依頼", "Support requests"),
    ("desk.nav", "サポートデスクのメニュー", "Support desk menu"),
    ("desk.log_call", "電話を記録", "Log a call"),
    ("desk.view_open", "未完了", "Open"),
    ("desk.view_mine", "自分の担当", "Mine"),
    ("desk.view_unassigned", "未割当", "Unassigned"),
    ("desk.view_overdue", "期限超過", "Overdue"),
    ("desk.view_waiting", "折返し待ち", "Waiting on clinic"),
    ("desk.view_all", "すべて", "All"),
    ("desk.tickets_title", "チケット", "Tickets"),
    ("desk.search", "検索", "Search"),
    (
        "desk.search_hint",
        "番号・医療機関・発信者・内容・メモ",
        "Number, clinic, caller, text, notes",
    ),
    ("desk.from", "登録日（から）", "Created from"),
    ("desk.to", "登録日（まで）", "Created until"),
    ("desk.sort", "並び順", "Sort by"),
    ("desk.apply", "絞り込む", "Filter"),
    ("desk.results", "件", "tickets"),
    (
        "desk.no_tickets",
        "該当するチケットはありません。",
        "No ticket matches.",
    ),
    ("desk.pages", "ページ", "Pages"),
    ("desk.prev", "前へ", "Previous"),
    ("desk.next", "次へ", "Next"),
    ("desk.find_clinic", "医療機関を探す", "Find the clinic"),
    (
        "desk.find_clinic_hint",
        "医療機関コード・名称の一部・電話番号",
        "Institution code, part of the name, or phone",
    ),
    ("desk.find", "検索", "Search"),
    ("desk.no_clinic", "該当する医療機関がありません。", "No clinic matches."),
    (
        "desk.pick_clinic",
        "医療機関を選んでください。",
        "Choose the clinic first.",
    ),
    ("desk.call_details", "通話内容", "The call"),
    ("desk.call_started", "通話開始", "Call started"),
    (
        "desk.ticket_for_call",
        "この通話を記録するチケット",
        "Record this call on",
    ),
    ("desk.new_ticket", "新しいチケット", "A new ticket"),
    ("desk.call_notes", "通話メモ（社内用）", "Call notes (internal)"),
    (
        "desk.save_hint",
        "Enter キーでは保存されず、次の項目へ進みます。保存は「保存」ボタン（Ctrl+Enter）で行い、通話時間も記録されます。",
        "Enter does not save: it moves to the next field. Save with the Save button (Ctrl+Enter); the call's length is recorded too.",
    ),
    ("desk.save_call", "保存", "Save"),
    ("desk.category_invalid", "分類を選んでください。", "Choose a category."),
    (
        "desk.priority_invalid",
        "優先度を選んでください。",
        "Choose a priority.",
    ),
    (
        "desk.channel_invalid",
        "受付方法を選んでください。",
        "Choose how the call came in.",
    ),
    (
        "desk.summary_invalid",
        "件名を200文字以内で入力してください。",
        "Enter a summary (200 characters at most).",
    ),
    (
        "desk.body_invalid",
        "内容を入力してください（10,000文字以内）。",
        "Enter some text (10,000 characters at most).",
    ),
    (
        "desk.duration_invalid",
        "通話時間は0〜600分で入力してください。",
        "Call length is 0 to 600 minutes.",
    ),
    ("ticket.number", "番号", "Number"),
    ("ticket.summary", "件名", "Summary"),
    ("ticket.description", "詳細", "Description"),
    ("ticket.status", "状態", "Status"),
    ("ticket.priority", "優先度", "Priority"),
    ("ticket.category", "分類", "Category"),
    ("ticket.channel", "受付方法", "Channel"),
    ("ticket.assignee", "担当者", "Assignee"),
    ("ticket.unassigned", "未割当", "Unassigned"),
    ("ticket.caller_name", "発信者名", "Caller"),
    ("ticket.callback_phone", "折返し先電話番号", "Callback number"),
    ("ticket.reader", "カードリーダー", "Card reader"),
    ("ticket.created", "登録日時", "Created"),
    ("ticket.due", "解決期限", "Resolve by"),
    ("ticket.response_due", "初回対応期限", "Respond by"),
    ("ticket.responded", "対応済み", "Responded"),
    ("ticket.overdue", "期限超過", "Overdue"),
    ("ticket.paused", "停止中（折返し待ち）", "Paused (waiting on clinic)"),
    ("ticket.version", "更新回数", "Edits"),
    ("ticket.details", "チケットの内容", "Ticket details"),
    ("ticket.update", "状態・担当の変更", "Status and assignment"),
    ("ticket.save", "保存", "Save"),
    ("ticket.add_entry", "記録を追加", "Add to the timeline"),
    ("ticket.entry_kind", "種類", "Kind"),
    ("ticket.kind_note", "社内メモ", "Internal note"),
    ("ticket.kind_reply", "医療機関への返信", "Reply to the clinic"),
    ("ticket.kind_call", "通話", "Call"),
    ("ticket.entry_body", "内容", "Text"),
    (
        "ticket.call_minutes",
        "通話時間（分、通話の場合）",
        "Call length in minutes (calls only)",
    ),
    ("ticket.add", "追加", "Add"),
    ("ticket.timeline", "経過", "Timeline"),
    ("ticket.internal", "社内のみ", "Internal"),
    ("ticket.call_length", "通話時間", "Call length"),
    ("ticket.minutes", "分", "min"),
    ("ticket.seconds", "秒", "s"),
    ("ticket.merge", "重複チケットの統合", "Merge a duplicate"),
    ("ticket.merge_into", "統合先のチケット番号", "Merge this ticket into"),
    ("ticket.merge_submit", "統合する", "Merge"),
    (
        "ticket.merged_notice",
        "このチケットは統合されました。統合先:",
        "This ticket was merged into",
    ),
    ("status.new", "新規", "New"),
    ("status.in_progress", "対応中", "In progress"),
    ("status.waiting_on_clinic", "折返し待ち", "Waiting on clinic"),
    ("status.on_hold", "保留", "On hold"),
    ("status.resolved", "解決済", "Resolved"),
    ("status.closed", "クローズ", "Closed"),
    ("priority.low", "低", "Low"),
    ("priority.normal", "通常", "Normal"),
    ("priority.high", "高", "High"),
    ("priority.urgent", "緊急", "Urgent"),
    ("channel.phone", "電話受付", "Phone"),
    ("channel.callback", "折返し電話", "Callback"),
    ("channel.portal", "ポータル", "Portal"),
    ("sort.newest", "新しい順", "Newest"),
    ("sort.oldest", "古い順", "Oldest"),
    ("sort.due", "期限が近い順", "Due soonest"),
    ("sort.priority", "優先度順", "Priority"),
    ("sort.updated", "更新順", "Recently updated"),
    ("event.created", "登録", "Created"),
    ("event.note", "社内メモ", "Internal note"),
    ("event.reply", "返信", "Reply"),
    ("event.call", "通話", "Call"),
    ("event.change", "変更", "Change"),
    ("event.merged", "統合", "Merge"),
    ("field.status", "状態", "Status"),
    ("field.assignee", "担当者", "Assignee"),
    ("field.priority", "優先度", "Priority"),
    ("field.category", "分類", "Category"),
    ("field.merged_into", "統合先", "Merged into"),
    ("field.merged_from", "統合元", "Merged from"),
    ("requests.title", "サポート依頼", "Support requests"),
    ("requests.new", "サポートを依頼する", "Ask for help"),
    (
        "requests.hint",
        "サポートデスクが内容を確認し、このページでお返事します。お急ぎの場合はお電話ください。",
        "The support desk reads your request and answers on this page. If it is urgent, please call.",
    ),
    (
        "requests.description",
        "困っていること（詳しく）",
        "What is wrong (in detail)",
    ),
    ("requests.submit", "依頼する", "Send the request"),
    ("requests.list", "これまでの依頼", "Your requests"),
    ("requests.none", "依頼はまだありません。", "No request yet."),
    ("requests.reply", "返信", "Reply"),
    ("requests.reply_submit", "返信する", "Send the reply"),
    ("nav.tokens", "APIトークン", "API tokens"),
    ("settings.title", "デスク設定", "Desk settings"),
    ("settings.categories", "問い合わせの分類", "Ticket categories"),
    ("settings.retire", "廃止", "Retire"),
    ("settings.retired", "廃止済み", "Retired"),
    ("settings.restore", "戻す", "Restore"),
    ("settings.add_category", "分類を追加", "Add category"),
    (
        "settings.category_names_invalid",
        "日本語名と英語名を60文字以内で入力してください。",
        "Enter the Japanese and English names (60 characters at most).",
    ),
    (
        "settings.slug_invalid",
        "IDは英小文字・数字・_ の2〜40文字です。",
        "IDs have 2 to 40 characters: a-z, 0-9 and _.",
    ),
    (
        "settings.slug_taken",
        "このIDはすでに使われています。",
        "This ID is already in use.",
    ),
    ("settings.closures", "休業日", "Closed days"),
    (
        "settings.closures_hint",
        "休業日と土日祝日は対応期限の計算から除かれます。",
        "Closed days, weekends and national holidays do not count towards due times.",
    ),
    ("settings.hours", "受付時間", "Desk hours"),
    (
        "settings.hours_hint",
        "平日（休業日と祝日を除く）の受付時間です。対応期限はこの時間内だけで数えます。変更はこれから計算する期限に適用され、設定済みの期限は変わりません。",
        "The desk's hours on business days (closed days and holidays excepted). Due times count only these hours. A change applies to due times computed from now on; those already set stay.",
    ),
    ("settings.opens", "開始", "Opens"),
    ("settings.closes", "終了", "Closes"),
    ("settings.save_hours", "受付時間を保存", "Save desk hours"),
    (
        "settings.hours_invalid",
        "開始と終了を HH:MM で入力し、終了は開始より後にしてください。",
        "Enter the opening and closing times as HH:MM, closing after opening.",
    ),
    ("audit.desk_hours.changed", "受付時間の変更", "Desk hours changed"),
    ("settings.targets", "対応目標", "Response and resolution targets"),
    (
        "settings.targets_hint",
        "優先度ごとの、初回対応と解決までの目標（受付時間内の時間数、0.5 = 30分）。期限はこの時間を受付時間で数えて決まります。変更はこれから計算する期限に適用されます。",
        "Per priority, the time to the first response and to resolution, in hours of desk time (0.5 = 30 minutes). Due times count these hours within the desk hours. A change applies to due times computed from now on.",
    ),
    ("settings.response_hours", "初回対応（時間）", "First response (hours)"),
    ("settings.resolution_hours", "解決（時間）", "Resolution (hours)"),
    ("settings.save_targets", "対応目標を保存", "Save targets"),
    (
        "settings.targets_invalid",
        "目標は0より大きい時間数で入力し、解決は初回対応以上にしてください（最長540時間）。",
        "Enter targets as hours above zero, resolution no shorter than first response (at most 540 hours).",
    ),
    ("audit.desk_targets.changed", "対応目標の変更", "Targets changed"),
    ("settings.closure_label", "名称", "Name"),
    ("settings.yearly", "毎年", "Every year"),
    ("settings.add_closure", "休業日を追加", "Add closed days"),
    (
        "settings.closure_invalid",
        "名称と日付（開始・終了）を正しく入力してください。",
        "Enter a name and valid start and end dates.",
    ),
    ("settings.delete", "削除", "Delete"),
    ("audit.category.added", "分類の追加", "Category added"),
    ("audit.category.retired", "分類の廃止", "Category retired"),
    ("audit.category.restored", "分類の復活", "Category restored"),
    ("audit.closure.added", "休業日の追加", "Closed days added"),
    ("audit.closure.deleted", "休業日の削除", "Closed days deleted"),
    ("desk.export_csv", "CSVで書き出す", "Export as CSV"),
    ("dashboard.title", "ダッシュボード", "Dashboard"),
    ("dashboard.open", "未完了のチケット", "Open tickets"),
    ("dashboard.overdue", "期限超過", "Overdue"),
    ("dashboard.calls_today", "本日の通話", "Calls today"),
    (
        "dashboard.median_response",
        "初回対応までの中央値",
        "Median time to first response",
    ),
    (
        "dashboard.median_resolution",
        "解決までの中央値",
        "Median time to resolution",
    ),
    (
        "dashboard.medians_hint",
        "中央値は直近30日に登録されたチケットの営業時間で計算しています。対象件数",
        "Medians count business hours over tickets created in the last 30 days. Tickets",
    ),
    ("dashboard.by_status", "状態別（未完了）", "Open tickets by status"),
    ("dashboard.by_category", "分類別（未完了）", "Open tickets by category"),
    ("tokens.title", "APIトークン", "API tokens"),
    (
        "tokens.explain",
        "電話システムなどの連携からチケットAPIを使うための個人用トークンです。トークンはあなたの権限で動作します。",
        "Personal tokens for integrations, such as a phone system, to use the ticket API. A token acts with your permissions.",
    ),
    ("tokens.new", "新しいトークン", "Your new token"),
    ("tokens.create", "トークンを発行", "Create a token"),
    ("tokens.name", "用途", "Purpose"),
    ("tokens.name_placeholder", "例：電話システム", "e.g. phone system"),
    (
        "tokens.name_invalid",
        "用途を60文字以内で入力してください。",
        "Enter a purpose (60 characters at most).",
    ),
    ("tokens.create_submit", "発行する", "Create"),
    ("tokens.list", "発行済みのトークン", "Your tokens"),
    ("tokens.none", "トークンはありません。", "No tokens yet."),
    ("tokens.last_used", "最終使用", "Last used"),
    ("audit.api_token.created", "APIトークン発行", "API token created"),
    ("audit.api_token.revoked", "APIトークン無効化", "API token revoked"),
    // Guide
    ("nav.guide", "目視モードガイド", "Visual-check guide"),
    ("guide.list_title", "ガイド", "Guides"),
    ("guide.start", "はじめる", "Start"),
    ("guide.overview", "全体の流れ（図）", "Overview diagram"),
    (
        "guide.overview_hint",
        "四角をクリックすると、その手順を開きます。緑の四角は終わりの手順です。",
        "Click a box to open that step. Green boxes end the guide.",
    ),
    ("guide.print", "印刷用（全手順）", "Printable (all steps)"),
    (
        "guide.print_credential",
        "ログイン情報は、ポータルにログインして画面で確認してください。",
        "Sign in to the portal to see the sign-in details on screen.",
    ),
    ("guide.version", "ガイドの改訂", "Guide revision"),
    ("guide.step_code", "手順コード", "Step code"),
    ("guide.progress", "進み具合", "Progress"),
    ("guide.warning", "注意", "Caution"),
    (
        "guide.rd_caption",
        "リモートデスクトップの接続先",
        "Remote desktop addresses",
    ),
    ("guide.address", "接続先", "Address"),
    ("guide.yours", "この医院", "Yours"),
    (
        "guide.rd_unknown",
        "設置形態が分からないときは、単独設置型から試してください。",
        "If you do not know your installation type, try the standalone address first.",
    ),
    (
        "guide.pc_login",
        "オンライン資格確認PCのログイン情報",
        "Online eligibility PC sign-in details",
    ),
    ("guide.username", "ユーザー名", "User name"),
    ("guide.reveal", "ログイン情報を表示する", "Show the sign-in details"),
    (
        "guide.sign_in_for_credential",
        "ログイン情報は、ポータルにログインした医療機関の方にだけ表示します。",
        "The sign-in details are shown only to signed-in clinic users.",
    ),
    (
        "guide.open_passcode",
        "パスコードのページを開く",
        "Open the passcode page",
    ),
    (
        "guide.sign_in_for_passcode",
        "医療機関の管理者としてログインすると、ここからパスコードを発行できます。",
        "Sign in as the clinic's admin to issue the passcode from here.",
    ),
    ("guide.next", "次へ", "Next"),
    ("guide.end", "ここで終わりです。", "This is the end of the guide."),
    ("guide.resolved_question", "解決しましたか？", "Did this solve it?"),
    ("guide.resolved_yes", "はい、解決しました", "Yes, solved"),
    ("guide.resolved_no", "いいえ、まだ困っています", "No, I still need help"),
    ("guide.navigation", "ガイドの操作", "Guide navigation"),
    ("guide.back", "戻る", "Back"),
    ("guide.restart", "最初から", "Start over"),
    ("guide.help", "ここで困ったら", "Stuck here?"),
    ("guide.trail", "これまでの手順", "Steps so far"),
    (
        "guide.help_tell_code",
        "お電話の際は、この手順コードをお伝えください:",
        "When you call, tell us this step code:",
    ),
    (
        "guide.help_context",
        "どの手順で困っているか、これまでにたどった手順も一緒にサポートデスクへ送られます。",
        "The step you are stuck on and the steps you took are sent to the support desk with your request.",
    ),
    (
        "guide.help_message",
        "困っていること（任意）",
        "What is wrong (optional)",
    ),
    (
        "guide.help_sign_in",
        "医療機関の管理者としてログインすると、ここから直接サポートを依頼できます。お急ぎの場合はお電話ください。",
        "Sign in as the clinic's admin to ask for help from here. If it is urgent, please call.",
    ),
    ("guide.done_title", "解決してよかったです", "Glad it is solved"),
    (
        "guide.done_text",
        "また困ったときは、いつでもこのガイドを開いてください。",
        "Open this guide again whenever you need it.",
    ),
    ("guide.open_now", "ただいま受付中", "Open now"),
    ("guide.until", "終了", "until"),
    ("guide.closed_now", "ただいま受付時間外", "Closed now"),
    ("guide.next_open", "次の受付開始", "opens"),
    ("guide.stats", "ガイドの利用状況", "Guide usage"),
    (
        "guide.stats_hint",
        "手順ごとに、到達した回数・そこで止まった回数（30分以上操作なし）・サポート依頼の数を集計しています。個人の情報は記録していません。",
        "Per step: walks that reached it, walks that stopped there (idle 30 minutes or more) and help requests. Nothing personal is recorded.",
    ),
    ("guide.reached", "到達", "Reached"),
    ("guide.left", "離脱", "Stopped here"),
    ("guide.asked_help", "サポート依頼", "Asked for help"),
    (
        "guide.ticket_link",
        "ガイドで困っていた手順",
        "Guide step where they were stuck",
    ),
    (
        "audit.guide.credential_revealed",
        "ログイン情報の表示",
        "Sign-in details shown",
    ),
    // Outbox
    ("outbox.title", "送信メール", "Outgoing mail"),
    (
        "outbox.mail_off",
        "メール送信はオフです（--smtp-url が未設定）。メッセージは送信待ちのままです。",
        "Mail is off (no --smtp-url): messages wait in the outbox.",
    ),
    ("outbox.empty", "ありません。", "None."),
    (
        "outbox.explain",
        "送信失敗と送信待ちを先に、送信済みは新しい順に表示します。送信済みのメールは 30 日後に削除されます。",
        "Failing and queued messages come first; sent ones follow, newest first. Sent mail is deleted after 30 days.",
    ),
    (
        "outbox.cut",
        "全 {total} 件のうち {shown} 件を表示しています。",
        "Showing {shown} of {total}.",
    ),
    ("outbox.older", "さらに古い送信済みメール", "Older sent mail"),
    (
        "outbox.newest",
        "最新の送信済みメールへ",
        "Back to the newest sent mail",
    ),
    (
        "outbox.no_older",
        "これより古い送信済みメールはありません。",
        "No older sent mail.",
    ),
    ("outbox.retry", "再送", "Retry"),
    (
        "flash.mail_requeued",
        "メールを送信待ちに戻しました。まもなく再送します。",
        "The message is queued again and will be retried shortly.",
    ),
    (
        "flash.mail_not_failing",
        "このメールは送信失敗の状態ではありません（再送済み、または削除済み）。",
        "This message is not failing (already retried, or deleted).",
    ),
    ("audit.mail.requeued", "メールの再送", "Mail retried"),
    (
        "audit_detail.mail.requeued",
        "{recipient}（{kind}）",
        "{recipient} ({kind})",
    ),
    ("outbox.recipient", "宛先", "Recipient"),
    ("outbox.subject", "件名", "Subject"),
    ("outbox.status", "状態", "Status"),
    ("outbox.attempts", "試行回数", "Attempts"),
    ("outbox.created", "作成", "Created"),
    ("outbox.sent", "送信", "Sent"),
    ("outbox.next_attempt", "次の試行", "Next attempt"),
    ("outbox.last_error", "最後のエラー", "Last error"),
    ("outbox.status.queued", "送信待ち", "Queued"),
    ("outbox.status.sent", "送信済み", "Sent"),
    ("outbox.status.failing", "送信失敗", "Failing"),
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
    // --- search (issue 8) ---
    (
        "search.hint",
        "2文字以上の語をスペースで区切ると、すべてを含むチケットを探します。ひらがな・カタカナ、全角・半角、大文字・小文字は区別しません。",
        "Words of 2 or more characters, separated by spaces: tickets containing all of them. Hiragana and katakana, full and half width, and letter case are treated alike.",
    ),
    (
        "search.too_long",
        "検索語が長すぎます。200文字以内にしてください。",
        "The search is too long: use at most 200 characters.",
    ),
    (
        "search.too_many_terms",
        "検索語が多すぎます。8語以内にしてください。",
        "Too many search words: use at most 8.",
    ),
    (
        "search.term_too_short",
        "検索語はそれぞれ2文字以上にしてください。",
        "Each search word needs at least 2 characters.",
    ),
    // --- tickets: replies, call-screen context, stale readers (issue 8) ---
    ("reader.stale", "未接続", "Not connected"),
    ("reader.stale_since", "最終接続", "last seen"),
    ("reader.stale_never", "一度も接続していません", "has never connected"),
    (
        "settings.stale",
        "カードリーダーの未接続表示",
        "Readers shown as not connected",
    ),
    (
        "settings.stale_hint",
        "この時間を超えて接続がないカードリーダーを、医療機関・パスコード・電話記録の画面で「未接続」と表示します（最終接続日時つき）。",
        "A card reader that has not connected for longer than this shows as not connected, with the time it was last seen, on the clinic, passcode and call screens.",
    ),
    (
        "settings.stale_minutes",
        "未接続とみなすまで（分）",
        "Not connected after (minutes)",
    ),
    ("settings.save_stale", "保存", "Save"),
    (
        "settings.stale_invalid",
        "分は1から10080（7日）までの整数で入力してください。",
        "Enter whole minutes from 1 to 10080 (7 days).",
    ),
    (
        "audit.reader_staleness.changed",
        "未接続表示の時間の変更",
        "Not-connected threshold changed",
    ),
    ("desk.view_replied", "未読の返信", "Unread replies"),
    (
        "ticket.unread_reply",
        "医療機関から返信（未読）",
        "Clinic replied (unread)",
    ),
    (
        "ticket.unread_reply_notice",
        "医療機関から新しい返信があります。",
        "The clinic has sent a new reply.",
    ),
    (
        "ticket.reply_and_wait",
        "返信と同時に「折返し待ち」にする（医療機関への返信のとき）",
        "Set to waiting on the clinic with this reply (replies to the clinic only)",
    ),
    (
        "ticket.wait_needs_reply",
        "「折返し待ち」にできるのは、医療機関への返信と同時のときだけです。",
        "Only a reply to the clinic can set the ticket to waiting on the clinic.",
    ),
    ("call.context", "この医療機関の状況", "This clinic at a glance"),
    ("call.passcode_details", "パスコードの詳細", "Passcode details"),
    ("call.clinic_page", "医療機関のページ", "Clinic page"),
    ("call.readers", "カードリーダー", "Card readers"),
    ("call.open_tickets", "未完了のチケット", "Open tickets"),
    (
        "call.no_open_tickets",
        "未完了のチケットはありません。",
        "No open tickets.",
    ),
    // --- guide, installer's desk, phone layout, tokens (issue 8) ---
    ("installer.desk", "サポート窓口", "support desk"),
    ("table.count", "件数", "Count"),
    ("table.dates", "期間", "Dates"),
    ("nav.menu", "メニュー", "Menu"),
    ("token.copy", "コピー", "Copy"),
    ("token.copied", "コピーしました。", "Copied."),
    (
        "token.copy_failed",
        "コピーできませんでした。トークンを選択してコピーしてください。",
        "Could not copy. Select the token and copy it.",
    ),
    (
        "token.select_hint",
        "トークンをクリックすると全体が選択されます。",
        "Click the token to select all of it.",
    ),
    (
        "token.qr_label",
        "デバイストークンのQRコード",
        "The device token as a QR code",
    ),
    (
        "token.qr_hint",
        "カードリーダーの設定画面やスマートフォンのカメラで読み取れます。このページを離れると二度と表示されません。",
        "Scan it with the card reader's set-up screen or a phone camera. It is not shown again once you leave this page.",
    ),
    (
        "installer.ask_installer",
        "お電話でのお問い合わせは、オンライン資格確認を設置した業者のサポート窓口へお願いします。",
        "To ask by phone, call the support desk of the company that installed your online eligibility system.",
    ),
    (
        "installer.not_set",
        "設置業者のサポート窓口（名称・電話番号・受付時間）が未設定です。",
        "The installer's support desk (name, phone number, hours) is not set yet.",
    ),
    (
        "installer.set_it",
        "デスク設定で設定する",
        "Set it in the desk settings",
    ),
    (
        "installer.urgent_call",
        "お急ぎの場合はお電話ください:",
        "If it is urgent, please call:",
    ),
    (
        "installer.settings",
        "設置業者のサポート窓口",
        "The installer's support desk",
    ),
    (
        "installer.settings_hint",
        "ガイドで設置業者への連絡を案内する手順、ヘルプのページ、全ページの下部とエラーページに表示します。すべて空にして保存すると表示しなくなります。",
        "Shown where the guide says to call the installer, on the help pages, at the foot of every page and on error pages. Save all fields empty to show nothing.",
    ),
    ("installer.name", "会社名・窓口名", "Company or desk name"),
    ("installer.phone", "電話番号", "Phone number"),
    ("installer.hours", "受付時間", "Opening hours"),
    ("installer.hours_example", "平日 9:00～18:00", "Weekdays 9:00–18:00"),
    ("installer.save", "サポート窓口を保存", "Save the support desk"),
    (
        "installer.name_invalid",
        "会社名・窓口名を60文字以内で入力してください。",
        "Enter the company or desk name, up to 60 characters.",
    ),
    (
        "installer.phone_invalid",
        "電話番号は数字とハイフンで入力してください（例：0120-123-456）。",
        "Enter the phone number as digits and hyphens (for example 0120-123-456).",
    ),
    (
        "installer.hours_invalid",
        "受付時間は100文字以内で入力してください。",
        "Enter the opening hours in up to 100 characters.",
    ),
    (
        "audit.pc_credential.set",
        "PCログイン情報の設定",
        "PC sign-in details set",
    ),
    (
        "audit.pc_credential.cleared",
        "PCログイン情報の削除",
        "PC sign-in details removed",
    ),
    (
        "pc_credential.settings",
        "オンライン資格確認PCのログイン情報",
        "Online eligibility PC sign-in details",
    ),
    (
        "pc_credential.settings_hint",
        "ガイドの手順 C-1 で、ログインした医療機関の方が「表示する」を押したときだけ表示します（表示は記録されます）。医療機関専用の設定があればそれを、なければ既定を表示します。パスワードはこのページには表示しません。",
        "Shown at guide step C-1 only to signed-in users who press \"show\" (each showing is recorded). A clinic's own details are shown to its users if set, the default otherwise. Passwords are never shown on this page.",
    ),
    (
        "pc_credential.default",
        "既定のログイン情報",
        "The default sign-in details",
    ),
    ("pc_credential.set_on", "設定日時", "Set on"),
    ("pc_credential.set_by", "設定者", "Set by"),
    (
        "pc_credential.default_unset",
        "既定のログイン情報が未設定です。医療機関専用の設定がない医療機関には、ガイドでログイン情報を表示できません。",
        "The default sign-in details are not set: clinics without their own cannot be shown any in the guide.",
    ),
    ("pc_credential.password_hint", "128文字以内。", "Up to 128 characters."),
    (
        "pc_credential.password_keep_hint",
        "空欄のままなら、保存済みのパスワードを変更しません。128文字以内。",
        "Leave empty to keep the stored password. Up to 128 characters.",
    ),
    (
        "pc_credential.clinic_password_hint",
        "設定済みの医療機関なら、空欄のままでパスワードを変更しません。128文字以内。",
        "For a clinic that already has its own, leave empty to keep its password. Up to 128 characters.",
    ),
    (
        "pc_credential.save",
        "既定のログイン情報を保存",
        "Save the default sign-in details",
    ),
    (
        "pc_credential.save_clinic",
        "医療機関専用として保存",
        "Save as this clinic's own",
    ),
    ("pc_credential.clear", "削除する", "Remove"),
    (
        "pc_credential.clear_title",
        "PCログイン情報を削除しますか",
        "Remove these PC sign-in details?",
    ),
    (
        "pc_credential.clear_default_consequence",
        "医療機関専用の設定がない医療機関には、ガイドでログイン情報を表示できなくなります。パスワードはポータルから消え、元に戻せません。",
        "Clinics without their own details will no longer be shown any in the guide. The password is deleted from the portal and cannot be restored.",
    ),
    (
        "pc_credential.clear_clinic_consequence",
        "この医療機関の方には、既定のログイン情報を表示するようになります。パスワードはポータルから消え、元に戻せません。",
        "This clinic's users will be shown the default details instead. The password is deleted from the portal and cannot be restored.",
    ),
    (
        "pc_credential.overrides",
        "医療機関専用のログイン情報",
        "Clinics' own sign-in details",
    ),
    (
        "pc_credential.overrides_hint",
        "PCのログイン情報が既定と違う医療機関だけ設定します。同じ医療機関コードでもう一度保存すると置き換わります。",
        "Set these only for clinics whose PC sign-in differs from the default. Saving again for the same code replaces it.",
    ),
    (
        "pc_credential.clinic_unknown",
        "この医療機関コードの医療機関は登録されていません。",
        "No clinic is registered with this code.",
    ),
    (
        "pc_credential.username_invalid",
        "ユーザー名を64文字以内で入力してください。制御文字や文字の向きを変える記号は使えません。",
        "Enter the user name, up to 64 characters, without control or text-direction characters.",
    ),
    (
        "pc_credential.password_invalid",
        "パスワードは128文字以内で入力してください。空白だけのものや、制御文字・文字の向きを変える記号は使えません。",
        "Enter the password in up to 128 characters; not only spaces, and without control or text-direction characters.",
    ),
    (
        "pc_credential.password_required",
        "まだ設定されていないので、パスワードを入力してください。",
        "Nothing is stored yet: enter the password.",
    ),
    (
        "pc_credential.unset_for_user",
        "ログイン情報がまだ登録されていません。お手数ですが、設置業者のサポート窓口へお電話でお問い合わせください。",
        "The sign-in details have not been registered yet. Please call the installer's support desk.",
    ),
    (
        "pc_credential.unset_for_operator",
        "表示できるPCログイン情報がありません（既定も、この医療機関専用も未設定）。",
        "There are no PC sign-in details to show (neither the default nor this clinic's own is set).",
    ),
    (
        "audit.installer_desk.changed",
        "サポート窓口の変更",
        "Support desk changed",
    ),
    (
        "audit_detail.installer_desk.changed",
        "{name} {phone} {hours}",
        "{name} {phone} {hours}",
    ),
    // The second factor (TOTP), issue 11.
    ("nav.mfa", "二段階認証", "Two-step verification"),
    ("mfa.title", "二段階認証", "Two-step verification"),
    ("mfa.column", "二段階認証", "Two-step"),
    ("mfa.on", "設定済み", "On"),
    ("mfa.off", "未設定", "Off"),
    ("mfa.reset", "二段階認証を解除", "Turn off two-step verification"),
    ("user.send_reset_link", "再設定リンクを送る", "Mail a reset link"),
    (
        "flash.reset_link_sent",
        "パスワード再設定のリンクを本人にメールで送りました（30分間有効）。",
        "A password-reset link was mailed to the user (valid for 30 minutes).",
    ),
    (
        "users.reset_link_disabled",
        "無効にしたアカウントには再設定リンクを送れません。先に有効に戻してください。",
        "A disabled account cannot be sent a reset link: enable it first.",
    ),
    (
        "users.invite_instead",
        "メールが使えるため、アカウントは「メールで招待」から作成してください。本人が自分でパスワードを決めます。",
        "Mail is on: create accounts with “Invite by mail”, so people choose their own password.",
    ),
    (
        "users.send_link_instead",
        "メールが使えるため、パスワードは「再設定リンクを送る」で本人に決めてもらってください。",
        "Mail is on: use “Mail a reset link”, so the user chooses their own password.",
    ),
    (
        "mfa.reset_done",
        "二段階認証を解除し、本人にメールで知らせました。",
        "Two-step verification turned off; the user is told by mail.",
    ),
    (
        "mfa.reset_nothing",
        "このアカウントの二段階認証は既に解除されていました。",
        "Two-step verification was already off for this account.",
    ),
    ("mfa.policy_title", "二段階認証の方針", "Two-step verification policy"),
    (
        "mfa.policy_legend",
        "二段階認証を必須にする対象",
        "Who must use two-step verification",
    ),
    (
        "mfa.policy_operators",
        "運用担当者のみ（他の役割には設定をおすすめします）",
        "Operators only (other roles are asked to turn it on)",
    ),
    (
        "mfa.policy_all",
        "すべての役割（医療機関管理者、サポート担当者も）",
        "Every role (clinic admins and support agents too)",
    ),
    (
        "mfa.setup_code",
        "認証アプリに表示された6桁の確認コード",
        "The six-digit code your app shows",
    ),
    ("mfa.policy_save", "方針を保存", "Save policy"),
    (
        "mfa.is_on",
        "二段階認証は有効です。有効にした日時:",
        "Two-step verification is on. Turned on:",
    ),
    ("mfa.recovery_left", "使える回復コードの残り:", "Recovery codes left:"),
    ("mfa.renew_title", "回復コードを作り直す", "New recovery codes"),
    (
        "mfa.renew_hint",
        "新しい10個の回復コードを作ると、以前の回復コードはすべて使えなくなります。",
        "Making ten new recovery codes stops every earlier one from working.",
    ),
    (
        "mfa.code",
        "確認コード（認証アプリの6桁、または回復コード）",
        "Code (six digits from your app, or a recovery code)",
    ),
    ("mfa.renew_submit", "回復コードを作り直す", "Make new recovery codes"),
    (
        "mfa.disable_title",
        "二段階認証をやめる",
        "Turn two-step verification off",
    ),
    ("mfa.disable_submit", "二段階認証をやめる", "Turn it off"),
    (
        "mfa.disabled",
        "二段階認証をやめました。",
        "Two-step verification is off.",
    ),
    (
        "mfa.required_cannot_disable",
        "あなたの役割では二段階認証が必須のため、やめることはできません。スマートフォンを替えるときは、運用担当者に解除を依頼してください。",
        "Your role requires two-step verification, so it cannot be turned off. When you change phones, ask an operator to reset it.",
    ),
    (
        "mfa.required",
        "このアカウントでは二段階認証が必須です。設定を終えると、ポータルを使えるようになります。",
        "This account requires two-step verification. Set it up to go on using the portal.",
    ),
    (
        "mfa.why",
        "パスワードに加えて、スマートフォンの認証アプリに表示される確認コードでログインします。パスワードが漏れても、他人はログインできません。",
        "You sign in with your password and a code from an authenticator app on your phone, so a leaked password alone does not let anyone in.",
    ),
    (
        "mfa.step_app",
        "スマートフォンに認証アプリ（Google Authenticator、Microsoft Authenticator など）を用意します。",
        "Install an authenticator app on your phone (Google Authenticator, Microsoft Authenticator or similar).",
    ),
    (
        "mfa.step_scan",
        "アプリでこのQRコードを読み取ります。",
        "Scan this QR code with the app.",
    ),
    (
        "mfa.step_type",
        "読み取れないときは、次の文字列をアプリに入力してください（時間ベース、6桁）。",
        "If you cannot scan it, type this key into the app (time-based, six digits).",
    ),
    (
        "mfa.secret_label",
        "認証アプリに入力する設定キー",
        "Setup key for the authenticator app",
    ),
    (
        "mfa.step_code",
        "アプリに表示された6桁の確認コードを入力して、有効にします。",
        "Type the six-digit code the app shows to turn it on.",
    ),
    (
        "mfa.enable_submit",
        "二段階認証を有効にする",
        "Turn on two-step verification",
    ),
    (
        "mfa.wrong_code",
        "確認コードが正しくありません。アプリに表示中の新しいコードを入力してください（一度使ったコードは使えません）。",
        "That code is not right. Type the code your app shows now (a code works only once).",
    ),
    (
        "mfa.stale",
        "このページの設定キーは古くなっています。表示し直した新しいQRコードで設定してください。",
        "This page's setup key is out of date. Set up the app with the new QR code shown now.",
    ),
    ("mfa.recovery_title", "回復コード", "Recovery codes"),
    (
        "mfa.enabled_now",
        "二段階認証を有効にしました。",
        "Two-step verification is on.",
    ),
    (
        "mfa.recovery_explain",
        "スマートフォンをなくしたときは、確認コードの代わりに次の回復コードを1つ入力してログインできます。各コードは1回だけ使えます。印刷するか、安全な場所に書き写してください。",
        "If you lose your phone, type one of these recovery codes instead of the app's code to sign in. Each works once. Print them or copy them somewhere safe.",
    ),
    (
        "mfa.recovery_once",
        "回復コードはこの画面にだけ表示されます。あとから見ることはできません。",
        "The recovery codes are shown on this page only. They cannot be shown again.",
    ),
    ("mfa.continue", "控えたので続ける", "I have saved them; continue"),
    ("mfa.login_title", "確認コードの入力", "Enter your code"),
    (
        "mfa.login_hint",
        "認証アプリに表示されている6桁の数字を入力してください。スマートフォンが手元にないときは、回復コードを入力できます。",
        "Type the six digits your authenticator app shows. Without your phone, type a recovery code.",
    ),
    ("mfa.login_submit", "確認してログイン", "Verify and sign in"),
    (
        "mfa.lost_phone",
        "スマートフォンも回復コードもないときは、運用担当者に二段階認証の解除を依頼してください。",
        "Without your phone or a recovery code, ask an operator to reset your two-step verification.",
    ),
    (
        "mfa.nudge",
        "二段階認証が未設定です。アカウントを守るため設定をおすすめします。",
        "Two-step verification is off. Turn it on to protect your account.",
    ),
    ("mfa.nudge_link", "設定する", "Set it up"),
    (
        "mfa.recheck",
        "パスコードを発行する前に、もう一度確認コードを入力してください（最後の確認から10分以上経っています）。",
        "Before issuing a passcode, type your code again (your last check was more than 10 minutes ago).",
    ),
    ("audit.totp.enabled", "二段階認証を有効化", "Two-step verification on"),
    ("audit.totp.disabled", "二段階認証を無効化", "Two-step verification off"),
    (
        "audit.totp.reset",
        "二段階認証の解除（管理者）",
        "Two-step verification reset",
    ),
    ("audit_detail.totp.reset", "{email}", "{email}"),
    (
        "audit.totp.recovery_codes_renewed",
        "回復コードの再作成",
        "Recovery codes renewed",
    ),
    (
        "audit.totp.recovery_code_used",
        "回復コードでログイン",
        "Signed in with a recovery code",
    ),
    (
        "audit.totp.policy_changed",
        "二段階認証の方針変更",
        "Two-step policy changed",
    ),
    (
        "audit_detail.totp.policy_changed",
        "必須の対象: {required}",
        "Required of: {required}",
    ),
    ("audit.sign_in.totp_failed", "確認コードの誤り", "Wrong two-step code"),
    // Invitations and password resets by mail
    ("login.forgot", "パスワードをお忘れの方", "Forgot your password?"),
    ("invite.section", "メールで招待", "Invite by e-mail"),
    (
        "invite.section_intro",
        "招待された人は、届いたリンク（72時間有効、一度だけ使えます）から自分でパスワードを設定します。あなたがパスワードを見ることも入力することもありません。",
        "The invitee chooses their own password through the link they receive (valid for 72 hours, once only); you never see or type it.",
    ),
    (
        "invite.mail_off",
        "メール送信が設定されていないため（--smtp-url なし）、招待できません。上の「アカウントを作成」か portal user add を使ってください。",
        "Mail is off (no --smtp-url), so no one can be invited. Use “Create an account” above or portal user add.",
    ),
    ("invite.send", "招待メールを送る", "Send the invitation"),
    ("invite.pending", "招待中", "Pending invitations"),
    (
        "invite.none",
        "招待中のアカウントはありません。",
        "No pending invitations.",
    ),
    ("invite.invited_by", "招待した人", "Invited by"),
    ("invite.expires_at", "有効期限", "Expires"),
    ("invite.revoke", "取り消す", "Revoke"),
    ("invite.title", "アカウントの作成", "Create your account"),
    (
        "invite.intro",
        "招待されたアカウントのパスワードを決めてください。パスワードは招待した人にも知らされません。",
        "Choose the password of the account you were invited to. Not even the person who invited you learns it.",
    ),
    ("invite.account", "アカウント", "Account"),
    ("invite.submit", "アカウントを作成する", "Create my account"),
    (
        "flash.invitation_sent",
        "招待しました。招待メールが送信されます。",
        "Invited: the invitation mail is on its way.",
    ),
    (
        "flash.invitation_revoked",
        "招待を取り消しました。",
        "The invitation has been revoked.",
    ),
    (
        "flash.invitation_gone",
        "この招待はもうありません（受諾済み、取り消し済み、または期限切れ）。",
        "This invitation is no longer pending (accepted, revoked or expired).",
    ),
    (
        "flash.invitation_accepted",
        "アカウントを作成しました。設定したパスワードでログインしてください。",
        "Your account has been created. Sign in with the password you chose.",
    ),
    (
        "link.invalid_title",
        "このリンクは使えません",
        "This link cannot be used",
    ),
    (
        "link.invalid",
        "リンクの有効期限が切れたか、すでに使われたか、取り消されました。必要なら、もう一度依頼してください。",
        "The link has expired, has been used already, or was withdrawn. Ask again if you still need one.",
    ),
    ("link.to_login", "ログインへ", "Go to sign-in"),
    ("forgot.title", "パスワードの再設定", "Reset your password"),
    (
        "forgot.intro",
        "アカウントのメールアドレスを入力してください。新しいパスワードを設定するためのリンク（30分間有効）をお送りします。",
        "Enter your account's e-mail address: we mail you a link to choose a new password (valid for 30 minutes).",
    ),
    ("forgot.back", "ログインに戻る", "Back to sign-in"),
    ("forgot.submit", "再設定用のリンクを送る", "Send the link"),
    (
        "forgot.sent",
        "このアドレスのアカウントがあれば、再設定用のリンクをメールでお送りしました。届かない場合は、しばらくしてからもう一度お試しいただくか、運用担当者にご連絡ください。",
        "If an account has this address, a mail with a link is on its way. If none arrives, try again later or ask your operator.",
    ),
    (
        "forgot.mail_off",
        "このポータルではメール送信が設定されていないため、ここではパスワードを再設定できません。運用担当者に一時パスワードの設定を依頼してください。",
        "Mail is not set up on this portal, so passwords cannot be reset here. Ask an operator to set a temporary password for you.",
    ),
    ("reset.title", "新しいパスワードの設定", "Choose a new password"),
    (
        "reset.intro",
        "新しいパスワードを2回入力してください。設定すると、このアカウントのすべてのログインが終了します。",
        "Type your new password twice. Setting it signs this account out everywhere.",
    ),
    ("reset.submit", "パスワードを設定する", "Set the password"),
    (
        "flash.password_set_by_link",
        "パスワードを設定しました。新しいパスワードでログインしてください。",
        "Your password has been set. Sign in with your new password.",
    ),
    ("audit.user.invited", "メールで招待", "Invited by e-mail"),
    ("audit.invitation.revoked", "招待の取り消し", "Invitation revoked"),
    ("audit.invitation.accepted", "招待の受諾", "Invitation accepted"),
    (
        "audit.password.reset",
        "パスワード再設定（メールのリンク）",
        "Password reset (mailed link)",
    ),
    (
        "audit.password.reset_requested",
        "パスワード再設定の依頼",
        "Password reset asked for",
    ),
    (
        "audit_detail.user.invited",
        "{email}（{role}）{clinic}",
        "{email} ({role}) {clinic}",
    ),
    (
        "audit_detail.invitation.revoked",
        "{email}（{role}）",
        "{email} ({role})",
    ),
    (
        "audit_detail.invitation.accepted",
        "{email}（{role}）招待した人: {invited_by}",
        "{email} ({role}), invited by {invited_by}",
    ),
    ("audit_detail.password.reset", "{email}", "{email}"),
    (
        "audit_detail.password.reset_requested",
        "{email}: {outcome}",
        "{email}: {outcome}",
    ),
    // Mail (services::mail): one language per message, the recipient's.
    ("mail.at", "{time}（日本時間）", "{time} (JST)"),
    ("mail.minutes", "{n} 分", "{n} min"),
    ("mail.never", "一度も接続していません", "never"),
    (
        "mail.by_installer_cli",
        "設置業者（コマンドライン）",
        "the installer (command line)",
    ),
    ("mail.via.cli", "コマンドライン", "the command line"),
    ("mail.via.web", "ポータル（Web）", "the portal (web)"),
    ("mail.due.response", "初回対応期限", "first response due"),
    ("mail.due.resolution", "解決期限", "resolution due"),
    ("mail.fact.issued_by", "発行者", "Issued by"),
    ("mail.fact.at", "日時", "At"),
    ("mail.fact.by", "実施者", "By"),
    ("mail.fact.via", "経路", "From"),
    ("mail.fact.failures", "誤入力の回数", "Wrong codes"),
    ("mail.fact.reader", "カードリーダー", "Card reader"),
    ("mail.fact.locked_for", "ロック時間", "Locked for"),
    ("mail.fact.last_seen", "最終接続", "Last seen"),
    ("mail.fact.threshold", "未接続とみなす時間", "Not-connected threshold"),
    ("mail.fact.ticket", "問い合わせ番号", "Ticket"),
    ("mail.fact.summary", "件名", "Summary"),
    ("mail.fact.clinic", "医療機関", "Clinic"),
    ("mail.fact.due", "期限", "Due"),
    ("mail.fact.address", "接続元アドレス", "Address"),
    (
        "mail.footer.optional",
        "このお知らせは、ポータルの「通知設定」で止められます。",
        "You can turn this kind of message off under Notifications in the portal.",
    ),
    (
        "mail.footer.security",
        "ご自分のアカウントの安全に関するお知らせのため、止めることはできません。",
        "This is a security notice about your own account; it cannot be turned off.",
    ),
    (
        "mail.passcode_issued.subject",
        "【目視確認用パスコード】{clinic} のパスコードが発行されました",
        "[Visual-check passcode] A new passcode was issued for {clinic}",
    ),
    (
        "mail.passcode_issued.intro",
        "{clinic}（医療機関コード {code}）の目視確認用パスコードが発行されました。",
        "The visual-check passcode of {clinic} (医療機関コード {code}) was issued.",
    ),
    (
        "mail.passcode_issued.outro",
        "以前のパスコードはもう使えません。新しいパスコードはこのメールには書かれていません。心当たりがない場合は、設置業者のサポート窓口にご連絡ください。",
        "The previous passcode no longer works. The new passcode is not in this message. If you did not expect this, call your installer's support desk.",
    ),
    (
        "mail.passcode_disabled.subject",
        "【目視確認用パスコード】{clinic} のパスコードが誤入力のため無効になりました",
        "[Visual-check passcode] The passcode of {clinic} was disabled after wrong codes",
    ),
    (
        "mail.passcode_disabled.intro",
        "{clinic}（医療機関コード {code}）のカードリーダーで誤ったパスコードが続けて入力されたため、目視確認用パスコードを無効にしました。",
        "Wrong codes were typed at the card readers of {clinic} (医療機関コード {code}) too often, so its visual-check passcode was disabled.",
    ),
    (
        "mail.passcode_disabled.outro",
        "目視確認を続けるには、ポータルで新しいパスコードを発行してください。",
        "To keep using the visual check, issue a new passcode on the portal.",
    ),
    (
        "mail.reader_locked.subject",
        "【カードリーダー】{reader} が誤入力のためロックされました",
        "[Card reader] {reader} was locked after wrong codes",
    ),
    (
        "mail.reader_locked.intro",
        "{clinic}（医療機関コード {code}）のカードリーダー「{reader}」で誤ったパスコードが続けて入力されたため、しばらくロックしました。",
        "Wrong codes were typed at the card reader \"{reader}\" of {clinic} (医療機関コード {code}), so it is locked for a while.",
    ),
    (
        "mail.reader_locked.outro",
        "ロックは時間がたつと解けます。心当たりがない場合は、設置業者のサポート窓口にご連絡ください。",
        "The lock ends by itself. If you did not expect this, call your installer's support desk.",
    ),
    (
        "mail.reader_stale.subject",
        "【カードリーダー】{reader} が接続していません",
        "[Card reader] {reader} is not connected",
    ),
    (
        "mail.reader_stale.intro",
        "{clinic}（医療機関コード {code}）のカードリーダー「{reader}」から、しばらく接続がありません。",
        "The card reader \"{reader}\" of {clinic} (医療機関コード {code}) has not been in touch for a while.",
    ),
    (
        "mail.reader_stale.outro",
        "電源とネットワークをご確認ください。再び接続すれば、このお知らせはもう届きません。",
        "Please check its power and network. Once it is back, this notice is not sent again until it goes quiet once more.",
    ),
    (
        "mail.desk_reply.subject",
        "【サポート窓口】{number} に返信がありました",
        "[Support desk] A reply on {number}",
    ),
    (
        "mail.desk_reply.intro",
        "サポート窓口から、お問い合わせ {number}「{summary}」に返信がありました。",
        "The support desk replied to your request {number} \"{summary}\".",
    ),
    (
        "mail.desk_reply.outro",
        "返信の内容は、ポータルにログインしてお問い合わせの画面でご覧ください。",
        "Sign in to the portal to read the reply on the request's page.",
    ),
    (
        "mail.request_new.subject",
        "【新しい問い合わせ】{number} {clinic}",
        "[New request] {number} from {clinic}",
    ),
    (
        "mail.request_new.intro",
        "{clinic}（医療機関コード {code}）から新しい問い合わせ {number}「{summary}」が届きました。",
        "{clinic} (医療機関コード {code}) sent a new request, {number} \"{summary}\".",
    ),
    (
        "mail.request_new.outro",
        "ポータルの問い合わせ一覧で対応してください。",
        "Take it up in the portal's ticket list.",
    ),
    (
        "mail.clinic_reply.subject",
        "【医療機関からの返信】{number} {clinic}",
        "[Clinic reply] {number} from {clinic}",
    ),
    (
        "mail.clinic_reply.intro",
        "{clinic}（医療機関コード {code}）から、問い合わせ {number}「{summary}」に返信がありました。",
        "{clinic} (医療機関コード {code}) replied on {number} \"{summary}\".",
    ),
    (
        "mail.clinic_reply.outro",
        "返信の内容は、ポータルの問い合わせの画面でご覧ください。",
        "Read the reply on the ticket's page in the portal.",
    ),
    (
        "mail.ticket_due_soon.subject",
        "【期限間近】{number} の期限が 30 分以内です",
        "[Due soon] {number} is due within 30 minutes",
    ),
    (
        "mail.ticket_due_soon.intro",
        "問い合わせ {number}「{summary}」（{clinic}）の期限が近づいています。",
        "The ticket {number} \"{summary}\" ({clinic}) is about to miss its due time.",
    ),
    (
        "mail.ticket_due_soon.outro",
        "期限までに対応するか、担当者を見直してください。",
        "Answer it before then, or hand it to someone who can.",
    ),
    (
        "mail.ticket_assigned.subject",
        "【担当のお知らせ】{number} の担当になりました",
        "[Assigned] {number} is now yours",
    ),
    (
        "mail.ticket_assigned.intro",
        "問い合わせ {number}「{summary}」（{clinic}）の担当に設定されました。",
        "The ticket {number} \"{summary}\" ({clinic}) was assigned to you.",
    ),
    (
        "mail.ticket_assigned.outro",
        "ポータルの問い合わせの画面で内容をご確認ください。",
        "Open it in the portal to see what it needs.",
    ),
    (
        "mail.security_password_changed.subject",
        "【ご注意】パスワードが変更されました",
        "[Security] Your password was changed",
    ),
    (
        "mail.security_password_changed.intro",
        "ポータルのアカウントのパスワードが変更されました。",
        "The password of your portal account was changed.",
    ),
    (
        "mail.security_password_changed.outro",
        "心当たりがない場合は、すぐに運用担当者にご連絡ください。",
        "If this was not you, tell an operator at once.",
    ),
    (
        "mail.security_password_reset.subject",
        "【ご注意】パスワードが再設定されました",
        "[Security] Your password was reset",
    ),
    (
        "mail.security_password_reset.intro",
        "ポータルのアカウントのパスワードが再設定されました。",
        "The password of your portal account was reset.",
    ),
    (
        "mail.security_password_reset.outro",
        "心当たりがない場合は、すぐに運用担当者にご連絡ください。",
        "If you did not ask for this, tell an operator at once.",
    ),
    (
        "mail.security_mfa_reset.subject",
        "【ご注意】二段階認証が解除されました",
        "[Security] Your second factor was reset",
    ),
    (
        "mail.security_mfa_reset.intro",
        "ポータルのアカウントの 二段階認証が解除されました。次のログインで設定し直してください。",
        "The second factor of your portal account was reset. Set it up again at your next sign-in.",
    ),
    (
        "mail.security_mfa_reset.outro",
        "心当たりがない場合は、すぐに運用担当者にご連絡ください。",
        "If you did not ask for this, tell an operator at once.",
    ),
    // Notifications page (/account/notifications)
    ("nav.notifications", "通知設定", "Notifications"),
    ("notify.title", "通知設定", "Notifications"),
    (
        "notify.explain",
        "ポータルからメールで届くお知らせの種類と、メールの言語を選べます。",
        "Choose which messages the portal mails you, and their language.",
    ),
    ("notify.kinds", "受け取るお知らせ", "Messages you receive"),
    ("notify.language", "メールの言語", "Language of the messages"),
    (
        "notify.security_locked",
        "アカウントの安全に関わるため、止められません。",
        "About your account's security: cannot be turned off.",
    ),
    ("notify.save", "保存する", "Save"),
    (
        "flash.notifications_saved",
        "通知設定を保存しました。",
        "Notifications saved.",
    ),
    (
        "notify.kind.passcode_issued",
        "パスコードの発行",
        "A passcode was issued",
    ),
    (
        "notify.kind.passcode_disabled",
        "誤入力によるパスコードの無効化",
        "The passcode was disabled by wrong codes",
    ),
    (
        "notify.kind.reader_locked",
        "カードリーダーのロック",
        "A card reader was locked",
    ),
    (
        "notify.kind.reader_stale",
        "カードリーダーの未接続",
        "A card reader is not connected",
    ),
    (
        "notify.kind.desk_reply",
        "サポート窓口からの返信",
        "A reply from the desk",
    ),
    (
        "notify.kind.request_new",
        "医療機関からの新しい問い合わせ",
        "A new request from a clinic",
    ),
    ("notify.kind.clinic_reply", "医療機関からの返信", "A clinic's reply"),
    (
        "notify.kind.ticket_due_soon",
        "期限の 30 分前になった問い合わせ",
        "A ticket 30 minutes before its due time",
    ),
    (
        "notify.kind.ticket_assigned",
        "問い合わせの担当になったとき",
        "A ticket assigned to you",
    ),
    (
        "notify.kind.security_password_changed",
        "パスワードの変更",
        "Your password was changed",
    ),
    (
        "notify.kind.security_password_reset",
        "パスワードの再設定",
        "Your password was reset",
    ),
    (
        "notify.kind.security_mfa_reset",
        "二段階認証の解除",
        "Your second factor was reset",
    ),
    ("audit.notifications.changed", "通知設定の変更", "Notifications changed"),
    (
        "mail.security_wrong_codes.subject",
        "【ご注意】確認コードの誤りが続きました",
        "[Security] Wrong sign-in codes after your password",
    ),
    (
        "mail.security_wrong_codes.intro",
        "あなたのアカウントに正しいパスワードでログインしようとして、二段階認証の確認コードを続けて間違えた人がいます。二段階認証があるため、コードなしではログインできません。",
        "Someone signed in to your account with the right password, then typed wrong two-step codes. Without the code they cannot sign in.",
    ),
    (
        "mail.security_wrong_codes.outro",
        "あなた自身でなければ、パスワードが他人に知られています。すぐにパスワードを変更し、運用担当者にご連絡ください。",
        "If it was not you, someone knows your password: change it now and tell an operator.",
    ),
    (
        "notify.kind.security_wrong_codes",
        "正しいパスワードのあとに確認コードの誤りが続いたとき",
        "Wrong two-step codes after your right password",
    ),
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
    fn japanese_text_has_one_punctuation_style_and_no_developer_words() {
        for (key, ja, _) in ENTRIES {
            for ascii in ['(', ')', '?', '!'] {
                assert!(
                    !ja.contains(ascii),
                    "{key}: use full-width punctuation in Japanese, not {ascii:?}: {ja}"
                );
            }
            for word in ["世代", "版"] {
                assert!(
                    !ja.contains(word),
                    "{key}: {word} is not a word a receptionist uses: {ja}"
                );
            }
        }
    }

    #[test]
    fn audit_sentences_have_the_same_fields_in_both_languages() {
        let fields = |text: &str| {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split('}').next().map(str::to_owned))
                .collect();
            names.sort();
            names
        };
        for (key, ja, en) in ENTRIES.iter().filter(|(k, _, _)| k.starts_with("audit_detail.")) {
            assert_eq!(fields(ja), fields(en), "{key}");
            assert!(!fields(ja).is_empty(), "{key} shows no field");
        }
    }

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut missing = Vec::new();
        for dir in ["templates", "src"] {
            for path in walk(&root.join(dir)) {
                let text = std::fs::read_to_string(&path).unwrap();
                // Keys are looked up with t("…") (not get("…") and the like); ticket rule errors
                // carry theirs in Invalid("…").
                let text = text.as_str();
                let mut calls = Vec::new();
                for call in ["t(\"", "Invalid(\""] {
                    for (at, _) in text.match_indices(call) {
                        let before = text[..at].chars().next_back();
                        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                            calls.push(&text[at + call.len()..]);
                        }
                    }
                }
                for chunk in calls {
                    if let Some(key) = chunk.split("\")").next()
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
