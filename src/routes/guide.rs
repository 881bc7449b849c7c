//! The interactive guide: one step per page, branching by choices, with a stable URL and a
//! spoken code per step, the path taken carried in the query string (works without JavaScript).

use std::collections::{HashMap, HashSet, VecDeque};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::desk::ticket_error;
use super::{HtmlForm, Page, done, render, render_no_store};
use crate::auth::Ctx;
use crate::db::{self, audit};
use crate::domain::contact_hours::OpenState;
use crate::domain::guide::{Block, Guide, Step, Text};
use crate::domain::ticket::{Channel, Priority, TicketNumber};
use crate::domain::{InstallType, Role, optional_text, phone_number};
use crate::error::AppError;
use crate::services::pc_credential;
use crate::services::tickets::{self, Author, NewTicketInput};
use crate::state::AppState;

/// The cookie that holds the id of the walk through the guide (statistics only).
const WALK_COOKIE: &str = "guide_walk";

fn find<'a>(state: &'a AppState, id: &str) -> Result<&'a Guide, AppError> {
    state.guide(id).ok_or(AppError::NotFound)
}

fn step<'a>(guide: &'a Guide, code: &str) -> Result<&'a Step, AppError> {
    guide.step(code).ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "guide/index.html")]
struct IndexPage<'a> {
    page: Page,
    guides: &'a [Guide],
}

pub async fn index(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    render(&IndexPage {
        page: Page::new(&ctx).await?,
        guides: &state.guides,
    })
}

/// The contact card: who to call and whether they answer now.
pub struct ContactView {
    pub open_now: bool,
    pub until_or_next: Option<String>,
}

fn contact_view(guide: &Guide, page: &Page) -> ContactView {
    let format = |t: time::OffsetDateTime| {
        let weekday = match page.lang {
            crate::i18n::Lang::Ja => ["月", "火", "水", "木", "金", "土", "日"]
                [usize::from(t.weekday().number_days_from_monday())]
            .to_owned(),
            crate::i18n::Lang::En => t.weekday().to_string()[..3].to_owned(),
        };
        format!(
            "{}/{} ({}) {:02}:{:02}",
            u8::from(t.month()),
            t.day(),
            weekday,
            t.hour(),
            t.minute()
        )
    };
    match guide.contact_hours().state_at(time::OffsetDateTime::now_utc()) {
        OpenState::Open { closes } => ContactView {
            open_now: true,
            until_or_next: Some(format(closes)),
        },
        OpenState::Closed { opens } => ContactView {
            open_now: false,
            until_or_next: opens.map(format),
        },
    }
}

#[derive(Template)]
#[template(path = "guide/intro.html")]
struct IntroPage<'a> {
    page: Page,
    guide: &'a Guide,
    contact: ContactView,
}

pub async fn intro(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let guide = find(&state, &id)?;
    let page = Page::new(&ctx).await?;
    let contact = contact_view(guide, &page);
    render(&IntroPage { page, guide, contact })
}

#[derive(Default, Deserialize)]
pub struct PathQuery {
    #[serde(default)]
    path: String,
}

/// What the portal already knows about the signed-in user's clinic.
pub struct Known {
    pub clinic_code: Option<String>,
    /// 設置形態 of the clinic's enrolled readers.
    pub install_types: Vec<InstallType>,
}

async fn known(state: &AppState, ctx: &Ctx) -> Result<Known, AppError> {
    let Some(user) = &ctx.user else {
        return Ok(Known {
            clinic_code: None,
            install_types: vec![],
        });
    };
    let Some(clinic_id) = user.clinic_id else {
        return Ok(Known {
            clinic_code: None,
            install_types: vec![],
        });
    };
    let mut install_types: Vec<InstallType> = db::readers::for_clinic(&state.pool, clinic_id)
        .await?
        .iter()
        .filter(|r| r.revoked_at.is_none())
        .filter_map(|r| InstallType::parse(&r.install_type))
        .collect();
    install_types.dedup();
    install_types.sort_by_key(|t| t.as_db());
    install_types.dedup();
    Ok(Known {
        clinic_code: user.clinic_code.clone(),
        install_types,
    })
}

#[derive(Template)]
#[template(path = "guide/step.html")]
struct StepPage<'a> {
    page: Page,
    guide: &'a Guide,
    step: &'a Step,
    /// Codes of the steps taken before this one.
    path: Vec<String>,
    contact: ContactView,
    known: Known,
    signed_in: bool,
    /// The PC credential, only after an audited reveal.
    credential: Option<(String, String)>,
    /// Whether operators have set sign-in details this user would see (the clinic's own or the
    /// default); when not, the step says whom to call instead of offering a reveal.
    credential_available: bool,
    progress: u8,
}

impl StepPage<'_> {
    fn t<'b>(&self, text: &'b Text) -> &'b str {
        self.page.pick(&text.ja, &text.en)
    }

    fn body(&self) -> &[String] {
        match self.page.lang {
            crate::i18n::Lang::Ja => &self.step.body.ja,
            crate::i18n::Lang::En => &self.step.body.en,
        }
    }

    fn title_of(&self, code: &str) -> String {
        self.guide.step(code).map_or_else(
            || code.to_owned(),
            |s| self.page.pick(&s.title.ja, &s.title.en).to_owned(),
        )
    }

    fn path_param(&self) -> String {
        self.path.join(",")
    }

    /// The path to pass on when leaving this step forwards.
    fn path_on(&self) -> String {
        let mut path = self.path.clone();
        path.push(self.step.code.clone());
        path.join(",")
    }

    fn path_before(&self, index: &usize) -> String {
        self.path[..*index].join(",")
    }

    fn previous(&self) -> Option<(String, String)> {
        let last = self.path.last()?;
        Some((last.clone(), self.path[..self.path.len() - 1].join(",")))
    }

    fn yours(&self, install: &str) -> bool {
        self.known.install_types.iter().any(|t| t.as_db() == install)
    }
}

/// The walk through the guide this browser is on: a random id in a cookie (a page view needs no
/// session). Statistics are written only for a browser that sent the cookie back, so a client
/// that keeps no cookies (a flood, a crawler) adds no rows.
fn walk(ctx: &Ctx) -> Option<&str> {
    ctx.cookie(WALK_COOKIE)
        .filter(|w| crate::auth::cookies::is_hex_token(w, 16))
}

/// Records this step (and the steps of the path that led here) for the walk, and returns the
/// walk cookie to send when a new walk starts here or the browser has none yet.
async fn record_walk(
    state: &AppState,
    ctx: &Ctx,
    guide: &Guide,
    code: &str,
    path: &[String],
) -> Result<Option<HeaderValue>, AppError> {
    // A new walk starts when someone opens the first step without a path.
    let starts_anew = code == guide.start && path.is_empty();
    match walk(ctx) {
        Some(journey) if !starts_anew => {
            crate::services::guide::record_step(&state.pool, journey, &guide.id, &guide.version, path, code).await?;
            Ok(None)
        }
        _ => {
            let id = crate::auth::session::random_hex(16)?;
            Ok(Some(crate::auth::cookies::set(
                WALK_COOKIE,
                &id,
                "/guide",
                None,
                state.config.uses_https(),
            )))
        }
    }
}

async fn step_page(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    code: &str,
    path: &str,
    credential: Option<(String, String)>,
) -> Result<Response, AppError> {
    let guide = find(state, id)?;
    let step = step(guide, code)?;
    let path = guide.parse_path(path);
    let walk_cookie = record_walk(state, ctx, guide, code, &path).await?;
    let page = Page::new(ctx).await?;
    let contact = contact_view(guide, &page);
    let progress = guide.progress(&path, code);
    let revealed = credential.is_some();
    let credential_available = match &ctx.user {
        Some(_) if revealed => true,
        Some(user) if step.blocks.contains(&Block::PcLogin) => {
            pc_credential::is_available(&state.pool, user.clinic_id).await?
        }
        _ => false,
    };
    let view = StepPage {
        page,
        guide,
        step,
        path,
        contact,
        known: known(state, ctx).await?,
        signed_in: ctx.user.is_some(),
        credential,
        credential_available,
        progress,
    };
    let mut response = if revealed {
        render_no_store(&view)?
    } else {
        render(&view)?
    };
    if let Some(cookie) = walk_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub async fn show_step(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    Query(q): Query<PathQuery>,
) -> Result<Response, AppError> {
    step_page(&state, &ctx, &id, &code, &q.path, None).await
}

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    path: String,
}

/// Shows the PC sign-in details to a signed-in user (their clinic's own, else the default), and
/// audits it with which one was shown.
pub async fn reveal(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    HtmlForm(form): HtmlForm<RevealForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?.clone();
    let guide = find(&state, &id)?;
    if !step(guide, &code)?.blocks.contains(&Block::PcLogin) {
        return Err(AppError::NotFound);
    }
    // The clinic's own if it has one, else the default; none set: the step says whom to call.
    let Some(found) = pc_credential::for_clinic(&state.pool, &state.sealing, user.clinic_id).await? else {
        return step_page(&state, &ctx, &id, &code, &form.path, None).await;
    };
    let detail = audit::fields(&[
        ("guide", id.as_str()),
        ("step", code.as_str()),
        ("source", found.source.as_str()),
    ]);
    audit::record(
        &state.pool,
        audit::Entry {
            actor: &user.audit_actor(),
            action: "guide.credential_revealed",
            clinic_id: user.clinic_id,
            detail: &detail,
            ip: ctx.ip(),
        },
    )
    .await?;
    let credential = (found.username, found.password.expose().clone());
    step_page(&state, &ctx, &id, &code, &form.path, Some(credential)).await
}

#[derive(Template)]
#[template(path = "guide/help.html")]
struct HelpPage<'a> {
    page: Page,
    guide: &'a Guide,
    step: &'a Step,
    path: String,
    contact: ContactView,
    can_request: bool,
    /// The number the desk calls back: the clinic's own phone unless the user typed another.
    callback_phone: String,
    message: String,
    error: Option<&'static str>,
}

impl HelpPage<'_> {
    fn t<'b>(&self, text: &'b Text) -> &'b str {
        self.page.pick(&text.ja, &text.en)
    }
}

/// "ここで困ったら": a support request carrying the step, or how to call.
pub async fn help(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    Query(q): Query<PathQuery>,
) -> Result<Response, AppError> {
    let guide = find(&state, &id)?;
    let step = step(guide, &code)?;
    let page = Page::new(&ctx).await?;
    let contact = contact_view(guide, &page);
    let can_request = ctx.user.as_ref().is_some_and(|u| u.role == Role::ClinicAdmin);
    let path = guide.parse_path(&q.path).join(",");
    let callback_phone = match ctx.user.as_ref().and_then(|u| u.clinic_id) {
        Some(clinic_id) => db::clinics::by_id(&state.pool, clinic_id)
            .await?
            .map(|c| c.phone)
            .unwrap_or_default(),
        None => String::new(),
    };
    render(&HelpPage {
        page,
        guide,
        step,
        path,
        contact,
        can_request,
        callback_phone,
        message: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct HelpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    callback_phone: String,
}

pub async fn request_help(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    HtmlForm(form): HtmlForm<HelpForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?.clone();
    let (Role::ClinicAdmin, Some(clinic_id), Some(clinic_code)) = (user.role, user.clinic_id, user.clinic_code.clone())
    else {
        return Err(AppError::Forbidden);
    };
    let guide = find(&state, &id)?;
    let step = step(guide, &code)?;
    let message = optional_text(&form.message, 10_000)
        .ok_or_else(|| AppError::Unprocessable(ctx.t("form.too_long").to_owned()))?;
    let path = guide.parse_path(&form.path);
    let Some(callback_phone) = phone_number(&form.callback_phone).filter(|p| p.chars().count() <= 30) else {
        // Asked again next to the field, keeping what was typed.
        let page = Page::new(&ctx).await?;
        let mut response = render(&HelpPage {
            contact: contact_view(guide, &page),
            page,
            guide,
            step,
            path: path.join(","),
            can_request: true,
            callback_phone: form.callback_phone.chars().take(30).collect(),
            message: form.message.chars().take(10_000).collect(),
            error: Some("guide.help_phone_invalid"),
        })?;
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    };
    let trail: Vec<String> = path
        .iter()
        .chain(std::iter::once(&step.code))
        .map(|c| format!("{c} {}", guide.step(c).map_or("", |s| s.title.ja.as_str())))
        .collect();
    let category = db::tickets::category_by_slug(&state.pool, "mokushi_setup")
        .await?
        .or(db::tickets::category_by_slug(&state.pool, "other").await?)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no ticket category")))?;
    let description = format!(
        "{message}\n\n--\nガイド：{}（改訂 {}）\n困っている手順：{} {}\nたどった手順：\n{}",
        guide.title.ja,
        guide.version,
        step.code,
        step.title.ja,
        trail.join("\n")
    );
    let input = NewTicketInput {
        clinic_id,
        reader_id: None,
        caller_name: user.email.clone(),
        callback_phone,
        channel: Channel::Portal,
        category_id: category.id,
        priority: Priority::Normal,
        summary: format!("ガイド {} で困っています: {}", step.code, step.title.ja)
            .chars()
            .take(200)
            .collect(),
        description,
        assignee_id: None,
        call: None,
        guide: Some((
            guide.id.clone(),
            guide.version.clone(),
            step.code.clone(),
            path.join(","),
        )),
    };
    let author = Author {
        user_id: user.id,
        email: user.email.clone(),
        role: user.role,
    };
    let ticket = tickets::create(&state.pool, &author, input)
        .await
        .map_err(|e| ticket_error(&ctx, e))?;
    if let Some(journey) = walk(&ctx) {
        db::guide::set_outcome(&state.pool, journey, "help").await?;
    }
    let location = format!("/clinics/{clinic_code}/requests/{}", TicketNumber::from_id(ticket));
    done(&ctx, "flash.request_sent", &location).await
}

#[derive(Deserialize)]
pub struct ResolvedForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    path: String,
}

#[derive(Template)]
#[template(path = "guide/done.html")]
struct DonePage<'a> {
    page: Page,
    guide: &'a Guide,
}

/// "解決しましたか？" at the end of a walk.
pub async fn resolved(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, code)): Path<(String, String)>,
    HtmlForm(form): HtmlForm<ResolvedForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let guide = find(&state, &id)?;
    step(guide, &code)?;
    let yes = form.answer == "yes";
    if let Some(journey) = walk(&ctx) {
        db::guide::set_outcome(&state.pool, journey, if yes { "resolved" } else { "unresolved" }).await?;
    }
    if yes {
        render(&DonePage {
            page: Page::new(&ctx).await?,
            guide,
        })
    } else {
        let path = guide.parse_path(&form.path).join(",");
        Ok(Redirect::to(&format!("/guide/{id}/{code}/help?path={path}")).into_response())
    }
}

#[derive(Template)]
#[template(path = "guide/print.html")]
struct PrintPage<'a> {
    page: Page,
    guide: &'a Guide,
}

impl PrintPage<'_> {
    fn t<'b>(&self, text: &'b Text) -> &'b str {
        self.page.pick(&text.ja, &text.en)
    }

    fn body<'b>(&self, step: &'b Step) -> &'b [String] {
        match self.page.lang {
            crate::i18n::Lang::Ja => &step.body.ja,
            crate::i18n::Lang::En => &step.body.en,
        }
    }
}

/// The whole guide with all branches, for paper.
pub async fn print(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let guide = find(&state, &id)?;
    render(&PrintPage {
        page: Page::new(&ctx).await?,
        guide,
    })
}

/// A box of the overview diagram.
pub struct Node {
    pub code: String,
    pub label: String,
    pub x: usize,
    pub y: usize,
    pub end: bool,
}

pub struct Edge {
    pub x1: usize,
    pub y1: usize,
    pub x2: usize,
    pub y2: usize,
}

const BOX_W: usize = 170;
const BOX_H: usize = 44;
const GAP_X: usize = 20;
const GAP_Y: usize = 36;

/// Lays the steps out in rows by their distance from the start.
fn layout(guide: &Guide, page: &Page) -> (Vec<Node>, Vec<Edge>, usize, usize) {
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut queue = VecDeque::from([(guide.start.as_str(), 0)]);
    let mut seen = HashSet::new();
    while let Some((code, d)) = queue.pop_front() {
        if !seen.insert(code) {
            continue;
        }
        depth.insert(code, d);
        if let Some(step) = guide.step(code) {
            for next in step.successors() {
                queue.push_back((next, d + 1));
            }
        }
    }
    let rows = depth.values().max().copied().unwrap_or(0) + 1;
    let mut per_row: Vec<Vec<&Step>> = vec![Vec::new(); rows];
    for step in &guide.steps {
        if let Some(&d) = depth.get(step.code.as_str()) {
            per_row[d].push(step);
        }
    }
    let widest = per_row.iter().map(Vec::len).max().unwrap_or(1);
    let width = widest * (BOX_W + GAP_X) + GAP_X;
    let mut position: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut nodes = Vec::new();
    for (row, steps) in per_row.iter().enumerate() {
        let offset = (width - steps.len() * (BOX_W + GAP_X) - GAP_X) / 2;
        for (i, step) in steps.iter().enumerate() {
            let x = offset + GAP_X + i * (BOX_W + GAP_X);
            let y = GAP_Y / 2 + row * (BOX_H + GAP_Y);
            position.insert(step.code.as_str(), (x, y));
            let title: String = page.pick(&step.title.ja, &step.title.en).chars().take(14).collect();
            nodes.push(Node {
                code: step.code.clone(),
                label: title,
                x,
                y,
                end: step.end,
            });
        }
    }
    let mut edges = Vec::new();
    for step in &guide.steps {
        let Some(&(x, y)) = position.get(step.code.as_str()) else {
            continue;
        };
        for next in step.successors() {
            if let Some(&(nx, ny)) = position.get(next) {
                edges.push(Edge {
                    x1: x + BOX_W / 2,
                    y1: y + BOX_H,
                    x2: nx + BOX_W / 2,
                    y2: ny,
                });
            }
        }
    }
    let height = rows * (BOX_H + GAP_Y) + GAP_Y / 2;
    (nodes, edges, width, height)
}

#[derive(Template)]
#[template(path = "guide/overview.html")]
struct OverviewPage<'a> {
    page: Page,
    guide: &'a Guide,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    width: usize,
    height: usize,
    box_w: usize,
    box_h: usize,
}

/// The branches as a diagram on one page.
pub async fn overview(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    let guide = find(&state, &id)?;
    let page = Page::new(&ctx).await?;
    let (nodes, edges, width, height) = layout(guide, &page);
    render(&OverviewPage {
        page,
        guide,
        nodes,
        edges,
        width,
        height,
        box_w: BOX_W,
        box_h: BOX_H,
    })
}

#[derive(Template)]
#[template(path = "guide/stats.html")]
struct StatsPage<'a> {
    page: Page,
    guide: &'a Guide,
    rows: Vec<(String, String, i64, i64, i64)>,
}

/// Per step: how many walks reached it, stopped there, asked for help (operators).
pub async fn stats(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, AppError> {
    if !ctx.require_user()?.actor().can_manage_users() {
        return Err(AppError::Forbidden);
    }
    let guide = find(&state, &id)?;
    let page = Page::new(&ctx).await?;
    let counts = db::guide::step_stats(&state.pool, &guide.id).await?;
    let rows = guide
        .steps
        .iter()
        .map(|s| {
            let (reached, left, help) = counts
                .iter()
                .find(|(code, ..)| *code == s.code)
                .map_or((0, 0, 0), |(_, r, l, h)| (*r, *l, *h));
            (
                s.code.clone(),
                page.pick(&s.title.ja, &s.title.en).to_owned(),
                reached,
                left,
                help,
            )
        })
        .collect();
    render(&StatsPage { page, guide, rows })
}
