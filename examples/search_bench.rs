//! Benchmark client (used by bench/search.sh) for the ticket search.
//!
//! `seed <database-url> <tickets>`: opens (and migrates) a fresh portal database and fills it
//! with 1,000 clinics and `tickets` tickets of made-up but plausible Japanese support text (a
//! note on every third), in one transaction. It writes rows directly, as a fixture: going
//! through the ticket service would take minutes. The tickets are listed as stale, so the
//! portal builds their search index at start-up, as it does after migration 0006.
//!
//! `measure <addr> <api-token> <rounds>`: sends the searches one at a time through
//! `GET /api/v1/tickets` and prints the median (and 90th percentile) latency per kind of
//! search, beside the open-ticket list.
//!
//! cargo run --release --example search_bench -- seed sqlite:///tmp/x/portal.db 100000
//! cargo run --release --example search_bench -- measure 127.0.0.1:39131 <token> 20

use std::time::{Duration, Instant};

/// Words of the made-up tickets: common ones (in many tickets) and rarer ones.
const WORDS: &[&str] = &[
    "パスコード",
    "目視モード",
    "顔認証",
    "カードリーダー",
    "再起動",
    "リモートデスクトップ",
    "接続できない",
    "ログイン",
    "パスワード",
    "忘れた",
    "発行",
    "切り替え",
    "画面",
    "エラー",
    "表示",
    "受付",
    "マイナンバーカード",
    "写真",
    "確認",
    "暗証番号",
    "ロック",
    "解除",
    "設定",
    "管理者",
    "アカウント",
    "PC",
    "電源",
    "ケーブル",
    "ネットワーク",
    "オンライン資格確認",
    "点滅",
    "音が鳴らない",
    "VPN",
    "ルーター",
    "更新",
    "折返し",
    "至急",
    "午前中",
    "午後",
    "患者さん",
    "読み取れない",
    "顔写真",
    "タブレット",
    "Windows",
    "アップデート",
    "証明書",
    "期限切れ",
    "ブラウザ",
    "保険証",
    "資格情報",
    "取得できない",
    "切替機",
    "スイッチ",
    "モニター",
    "キーボード",
    "マウス",
    "プリンター",
    "レセコン",
    "電子カルテ",
    "併設設置型",
    "単独設置型",
    "業者",
    "導入",
    "見積",
    "訪問",
    "遠隔",
    "操作",
    "手順",
    "説明",
    "案内",
];
const PARTICLES: &[&str] = &[
    "の", "が", "を", "に", "で", "と", "から", "ため", "。", "、", "は", "も",
];
const SURNAMES: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山口",
];
const KINDS: &[&str] = &[
    "内科",
    "歯科",
    "眼科",
    "整形外科",
    "皮膚科",
    "小児科",
    "耳鼻咽喉科",
    "薬局",
];
const STATUSES: &[&str] = &[
    "new",
    "in_progress",
    "waiting_on_clinic",
    "on_hold",
    "resolved",
    "closed",
    "closed",
    "closed",
    "closed",
    "resolved",
];

/// xorshift64*: reproducible made-up data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| format!("{}{}", self.pick(WORDS), self.pick(PARTICLES)))
            .collect()
    }
}

async fn seed(database_url: &str, tickets: usize) -> anyhow::Result<()> {
    let pool = portal::db::connect(database_url).await?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tx = pool.sqlite().begin().await?;
    for c in 1..=1000_i64 {
        sqlx::query("INSERT INTO clinics (id, code, name, phone, created_at) VALUES (?, ?, ?, ?, 0)")
            .bind(c)
            .bind(format!("01{c:08}"))
            .bind(format!("{}{}クリニック{c}", rng.pick(SURNAMES), rng.pick(KINDS)))
            .bind(format!("011-{}-{c:04}", 200 + c % 700))
            .execute(&mut *tx)
            .await?;
    }
    let start = 1_700_000_000_i64;
    for i in 1..=tickets as i64 {
        let at = start + i * 60;
        let summary_words = 2 + rng.below(3);
        let description_words = 5 + rng.below(11);
        sqlx::query(
            "INSERT INTO tickets (id, clinic_id, caller_name, callback_phone, channel, category_id, priority,
                summary, description, status, created_at, updated_at, response_due_at, resolution_due_at)
             VALUES (?, ?, ?, ?, 'phone', ?, 'normal', ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(i)
        .bind(1 + rng.below(1000) as i64)
        .bind(format!("受付 {}", rng.pick(SURNAMES)))
        .bind(format!("090-{:04}-{:04}", rng.below(10_000), rng.below(10_000)))
        .bind(1 + rng.below(8) as i64)
        .bind(rng.sentence(summary_words))
        .bind(rng.sentence(description_words))
        .bind(rng.pick(STATUSES))
        .bind(at)
        .bind(at)
        .bind(at + 3_600)
        .bind(at + 86_400)
        .execute(&mut *tx)
        .await?;
        if i % 3 == 0 {
            sqlx::query(
                "INSERT INTO ticket_events (ticket_id, at, actor, kind, visibility, body)
                 VALUES (?, ?, 'agent@installer.jp', 'note', 'internal', ?)",
            )
            .bind(i)
            .bind(at + 600)
            .bind(rng.sentence(4))
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query("INSERT OR IGNORE INTO ticket_search_stale (ticket_id) SELECT id FROM tickets")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Kinds of search, each with the query strings it rotates through.
const SEARCHES: &[(&str, &[&str])] = &[
    ("open-ticket list (view=open, no search)", &["view=open"]),
    (
        "3+ characters",
        &[
            "q=パスコード",
            "q=ぱすこーど",
            "q=ﾘﾓｰﾄﾃﾞｽｸﾄｯﾌﾟ",
            "q=山田内科",
            "q=クリニック123",
            "q=011-231",
            "q=SUP-054321",
            "q=音が鳴らない",
        ],
    ),
    (
        "2 characters",
        &[
            "q=画面",
            "q=電源",
            "q=山田",
            "q=ぱす",
            "q=pc",
            "q=ﾛｸﾞ",
            "q=業者",
            "q=見積",
        ],
    ),
    (
        "3+ characters, open only",
        &["q=パスコード&view=open", "q=証明書&view=open"],
    ),
    ("two words (3+ and 2)", &["q=パスコード 画面", "q=リモート 業者"]),
];

async fn measure(addr: &str, token: &str, rounds: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    println!(
        "{:<42} {:>9} {:>9}   per query: median ms (tickets found)",
        "search", "median", "p90"
    );
    for (kind, queries) in SEARCHES {
        let mut all = Vec::new();
        let mut detail = Vec::new();
        for query in *queries {
            let url = format!("http://{addr}/api/v1/tickets?{query}");
            let mut found = 0;
            // One warm-up request, not counted.
            for round in 0..=rounds {
                let started = Instant::now();
                let response = http.get(&url).bearer_auth(token).send().await?;
                let status = response.status();
                let body: serde_json::Value = response.json().await?;
                let took = started.elapsed();
                anyhow::ensure!(status.is_success(), "{url}: {status} {body}");
                found = body["total"].as_i64().unwrap_or(0);
                if round > 0 {
                    all.push(took);
                }
            }
            let mut own: Vec<Duration> = all[all.len() - rounds..].to_vec();
            own.sort();
            detail.push(format!("{query} {:.1} ({found})", ms(own[own.len() / 2])));
        }
        all.sort();
        println!(
            "{kind:<42} {:>6.1} ms {:>6.1} ms   {}",
            ms(all[all.len() / 2]),
            ms(all[all.len() * 9 / 10]),
            detail.join(", ")
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["seed", url, tickets] => seed(url, tickets.parse()?).await,
        ["measure", addr, token, rounds] => measure(addr, token, rounds.parse()?).await,
        _ => anyhow::bail!("usage: search_bench seed <database-url> <tickets> | measure <addr> <api-token> <rounds>"),
    }
}
