//! Invitations by mail: operators invite from `/users` (and revoke pending invitations there);
//! the invitee opens `/invite/{token}` and chooses their own password. Opening the link changes
//! nothing (mail scanners fetch links); the form posts the token in a hidden field to `/invite`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{FormErrors, HtmlForm, Page, render, users};
use crate::auth::Ctx;
use crate::db;
use crate::domain::{Password, Role};
use crate::error::AppError;
use crate::services::account_mail::{self, InvitationView, Invite, Inviter};
use crate::services::accounts::AccountError;
use crate::state::AppState;

#[derive(Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub clinic: String,
}

pub struct PendingView {
    pub id: i64,
    pub email: String,
    pub role_key: &'static str,
    pub clinic_code: Option<String>,
    pub invited_by: String,
    pub expires_at: i64,
}

/// The invitations part of the users page (`templates/users/_invitations.html`).
pub struct InviteSection {
    pub mail_on: bool,
    pub pending: Vec<PendingView>,
    pub form: InviteForm,
    pub errors: FormErrors,
}

pub async fn section(state: &AppState, form: InviteForm, errors: FormErrors) -> Result<InviteSection, AppError> {
    let pending = db::invitations::pending(&state.pool, db::now())
        .await?
        .into_iter()
        .map(|i| PendingView {
            role_key: Role::from_db(&i.role).map_or("role.unknown", Role::label_key),
            id: i.id,
            email: i.email,
            clinic_code: i.clinic_code,
            invited_by: i.invited_by,
            expires_at: i.expires_at,
        })
        .collect();
    Ok(InviteSection {
        mail_on: state.mailer.is_some(),
        pending,
        form,
        errors,
    })
}

/// The invite form's errors, under its own field names (the create form's sit beside them).
fn invite_field(field: &'static str) -> &'static str {
    match field {
        "email" => "invite_email",
        "role" => "invite_role",
        "clinic" => "invite_clinic",
        _ => "invite_action",
    }
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<InviteForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?.clone();
    if !user.actor().can_manage_users() {
        return Err(AppError::Forbidden);
    }
    let refuse = |form: InviteForm, field: &'static str, message: String| {
        let (state, ctx) = (&state, &ctx);
        async move {
            let invite = section(state, form, FormErrors::on(field, message)).await?;
            users::render_list_with(state, ctx, users::UserForm::default(), FormErrors::default(), invite).await
        }
    };
    if state.mailer.is_none() {
        return refuse(form, "invite_action", ctx.t("invite.mail_off").to_owned()).await;
    }
    let (email, role, clinic) = match users::parse_account(&ctx, &form.email, &form.role, &form.clinic) {
        Ok(parsed) => parsed,
        Err((field, message)) => return refuse(form, invite_field(field), message).await,
    };
    let inviter = Inviter {
        id: user.id,
        email: &user.email,
    };
    let invite = Invite {
        email: &email,
        role,
        clinic: clinic.as_ref(),
        // The invitee has no language of their own yet: Japanese first (English below).
        language: crate::i18n::Lang::default().code(),
    };
    match account_mail::invite(&state.pool, &state.config.display_url(), &inviter, &invite).await {
        Ok(_) => {
            state.mail_wake.notify_one();
            super::done(&ctx, "flash.invitation_sent", "/users").await
        }
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e @ AccountError::DuplicateUser(_)) => refuse(form, "invite_email", e.localized(ctx.lang)).await,
        Err(e) => refuse(form, "invite_clinic", e.localized(ctx.lang)).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<CsrfForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if !user.actor().can_manage_users() {
        return Err(AppError::Forbidden);
    }
    // A second click, or one after the invitee accepted: nothing to revoke, and the page says so.
    let flash = if account_mail::revoke_invitation(&state.pool, &user.audit_actor(), id)
        .await
        .map_err(internal)?
    {
        "flash.invitation_revoked"
    } else {
        "flash.invitation_gone"
    };
    super::done(&ctx, flash, "/users").await
}

/// A service error that no form can show: the error page (500, or 503 when the database is away).
pub fn internal(e: AccountError) -> AppError {
    match e {
        AccountError::Internal(e) => AppError::Internal(e),
        other => AppError::Internal(anyhow::anyhow!("accounts by mail: {other}")),
    }
}

/// The pages a link leads to carry its token: they are never cached, and never tell another
/// site where the browser came from.
pub fn link_page(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, max-age=0"));
    response
}

#[derive(Template)]
#[template(path = "invitations/invalid.html")]
struct InvalidLinkPage {
    page: Page,
}

/// One page for an unknown, expired or used link (which of them is not said): 410 Gone.
pub async fn invalid_link(ctx: &Ctx) -> Result<Response, AppError> {
    let mut response = render(&InvalidLinkPage {
        page: Page::new(ctx).await?,
    })?;
    *response.status_mut() = StatusCode::GONE;
    Ok(link_page(response))
}

#[derive(Template)]
#[template(path = "invitations/accept.html")]
struct AcceptPage {
    page: Page,
    token: String,
    invitation: InvitationView,
    error: Option<(&'static str, &'static str)>,
}

impl AcceptPage {
    fn error_for(&self, field: &str) -> Option<&'static str> {
        self.error.filter(|(f, _)| *f == field).map(|(_, key)| key)
    }

    fn role_key(&self) -> &'static str {
        self.invitation.role.label_key()
    }
}

async fn accept_page(
    ctx: &Ctx,
    token: String,
    invitation: InvitationView,
    error: Option<(&'static str, &'static str)>,
) -> Result<Response, AppError> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&AcceptPage {
        page: Page::new(ctx).await?,
        token,
        invitation,
        error,
    })?;
    *response.status_mut() = status;
    Ok(link_page(response))
}

pub async fn show(State(state): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> Result<Response, AppError> {
    match account_mail::invitation_for(&state.pool, &token)
        .await
        .map_err(internal)?
    {
        Some(invitation) => accept_page(&ctx, token, invitation, None).await,
        None => invalid_link(&ctx).await,
    }
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn accept(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(form): HtmlForm<AcceptForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let Some(invitation) = account_mail::invitation_for(&state.pool, &form.token)
        .await
        .map_err(internal)?
    else {
        return invalid_link(&ctx).await;
    };
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(e) => return accept_page(&ctx, form.token, invitation, Some(("password", e.ui_key()))).await,
    };
    if form.password != form.password_confirm {
        return accept_page(
            &ctx,
            form.token,
            invitation,
            Some(("password_confirm", "form.password_mismatch")),
        )
        .await;
    }
    match account_mail::accept_invitation(&state.pool, &state.hasher, &form.token, &password, ctx.ip()).await {
        Ok(Some(user_id)) => {
            tracing::info!(user = user_id, "invitation accepted");
            // Not signed in here: signing in asks for everything it asks for (a second factor too).
            ctx.flash("flash.invitation_accepted").await?;
            Ok(link_page(Redirect::to("/login").into_response()))
        }
        Ok(None) => invalid_link(&ctx).await,
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e) => Err(AppError::Conflict(e.localized(ctx.lang))),
    }
}
