//! The desk dashboard and the CSV export of any filtered list.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::desk::{FilterError, ListQuery, build_filter, desk_user};
use super::{Page, render};
use crate::auth::Ctx;
use crate::db;
use crate::domain::business_time::JST;
use crate::domain::ticket::{Channel, Priority, Status, TicketNumber};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::services::tickets::desk_rules;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "desk/dashboard.html")]
struct Dashboard {
    page: Page,
    by_status: Vec<(&'static str, String, i64)>,
    by_category: Vec<(String, String, i64)>,
    open_total: i64,
    overdue: i64,
    /// Tickets with a clinic reply no one at the desk has opened.
    unread_replies: i64,
    calls_today: i64,
    median_response: Option<String>,
    median_resolution: Option<String>,
    sample: usize,
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

/// Business minutes as "2 h 05 min" / "2時間05分".
fn business_duration(lang: Lang, minutes: i64) -> String {
    match lang {
        Lang::Ja => format!("{}時間{:02}分", minutes / 60, minutes % 60),
        Lang::En => format!("{} h {:02} min", minutes / 60, minutes % 60),
    }
}

pub async fn dashboard(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    desk_user(&ctx)?;
    let now = db::now();
    let (statuses, by_category) = db::tickets::open_counts(&state.pool).await?;
    let by_status: Vec<(&'static str, String, i64)> = Status::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|s| {
            let count = statuses
                .iter()
                .find(|(name, _)| name == s.as_str())
                .map_or(0, |(_, c)| *c);
            (s.label_key(), s.as_str().to_owned(), count)
        })
        .collect();
    let open_total = by_status.iter().map(|(_, _, c)| c).sum();
    let overdue_filter = db::tickets::Filter {
        overdue_at: Some(now),
        ..Default::default()
    };
    let overdue = db::tickets::count(&state.pool, &overdue_filter).await?;
    let unread_filter = db::tickets::Filter {
        clinic_reply_unread: true,
        ..Default::default()
    };
    let unread_replies = db::tickets::count(&state.pool, &unread_filter).await?;
    let today = OffsetDateTime::from_unix_timestamp(now)
        .map_err(|e| AppError::Internal(e.into()))?
        .to_offset(JST)
        .date()
        .midnight()
        .assume_offset(JST)
        .unix_timestamp();
    let calls_today = db::tickets::calls_since(&state.pool, today).await?;

    // Medians over the last 30 days, in business minutes (what the targets are counted in).
    let cal = desk_rules(&state.pool).await?.calendar;
    let at = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let recent = db::tickets::lifecycle_since(&state.pool, now - 30 * 86_400).await?;
    let response: Vec<i64> = recent
        .iter()
        .filter_map(|(c, r, _)| r.map(|r| cal.minutes_between(at(*c), at(r))))
        .collect();
    let resolution: Vec<i64> = recent
        .iter()
        .filter_map(|(c, _, r)| r.map(|r| cal.minutes_between(at(*c), at(r))))
        .collect();
    let page = Page::new(&ctx).await?;
    let lang = page.lang;
    render(&Dashboard {
        page,
        by_status,
        by_category,
        open_total,
        overdue,
        unread_replies,
        calls_today,
        median_response: median(response).map(|m| business_duration(lang, m)),
        median_resolution: median(resolution).map(|m| business_duration(lang, m)),
        sample: recent.len(),
    })
}

/// Keeps a spreadsheet from running a cell as a formula (CSV injection). Spreadsheets also take
/// the full-width ＝＋－＠ as formula starts, and skip invisible characters before them.
fn safe_cell(value: &str) -> String {
    let invisible = |c: &char| matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}');
    match value.chars().find(|c| !invisible(c)) {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

const CSV_LIMIT: i64 = 10_000;

/// `GET /desk/tickets.csv` with the list's filters: UTF-8 with BOM so Japanese Excel opens it.
pub async fn export_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let user = desk_user(&ctx)?;
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (filter, sort) = match build_filter(&state, user.id, &query).await {
        Ok(built) => built,
        Err(FilterError::Invalid { key, value }) => {
            return Err(AppError::BadRequest(FilterError::message(key, &value, ctx.lang)));
        }
        Err(FilterError::Database(e)) => return Err(e.into()),
    };
    let tickets = db::tickets::search(&state.pool, &filter, sort, CSV_LIMIT, 0).await?;
    let page = Page::new(&ctx).await?;
    let headers = [
        "ticket.number",
        "clinic.code",
        "clinic.name",
        "ticket.caller_name",
        "ticket.callback_phone",
        "ticket.channel",
        "ticket.category",
        "ticket.priority",
        "ticket.summary",
        "ticket.description",
        "ticket.status",
        "ticket.assignee",
        "ticket.created",
        "ticket.due",
    ];
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let write_err = |e: csv::Error| AppError::Internal(e.into());
    writer
        .write_record(headers.iter().map(|k| page.t(k)))
        .map_err(write_err)?;
    for t in tickets {
        let label = |key: Option<&'static str>| key.map_or(String::new(), |k| page.t(k).to_owned());
        let record = [
            TicketNumber::from_id(t.id).to_string(),
            t.clinic_code,
            t.clinic_name,
            t.caller_name,
            t.callback_phone,
            label(Channel::parse(&t.channel).map(Channel::label_key)),
            page.pick(&t.category_ja, &t.category_en).to_owned(),
            label(Priority::parse(&t.priority).map(Priority::label_key)),
            t.summary,
            t.description,
            label(Status::parse(&t.status).map(Status::label_key)),
            t.assignee_email.unwrap_or_default(),
            page.jst(&t.created_at),
            page.jst(&t.resolution_due_at),
        ];
        writer
            .write_record(record.iter().map(|v| safe_cell(v)))
            .map_err(write_err)?;
    }
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(
        writer
            .into_inner()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))?,
    );
    let date = OffsetDateTime::now_utc().to_offset(JST).date();
    let disposition = format!("attachment; filename=\"tickets-{}.csv\"", date);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| AppError::Internal(e.into()))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+81 3"), "'+81 3");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("-1"), "'-1");
        assert_eq!(safe_cell("011-555-0100"), "011-555-0100");
        assert_eq!(safe_cell("さくら"), "さくら");
        for sneaky in [
            "＝HYPERLINK(1)",
            "＋1",
            "－1",
            "＠SUM(A1)",
            "\u{200B}=1",
            "\u{FEFF}+1",
            "\u{2060}\u{200D}@x",
        ] {
            assert!(safe_cell(sneaky).starts_with('\''), "{sneaky:?}");
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
    }
}
