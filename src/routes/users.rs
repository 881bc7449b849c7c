//! Accounts, managed by operators.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;

use super::{FormErrors, HtmlForm, Page, Question, ask, done, is_confirmed, render};
use crate::auth::Ctx;
use crate::db;
use crate::domain::{ClinicCode, Email, Password, Role};
use crate::error::AppError;
use crate::services::accounts::{self, AccountError, UserInput};
use crate::state::AppState;

#[derive(Default, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    clinic: String,
    #[serde(default)]
    password: String,
}

pub struct UserView {
    pub id: i64,
    pub email: String,
    pub role_key: &'static str,
    pub clinic_code: Option<String>,
    pub created_at: i64,
    pub disabled: bool,
    /// The second factor is on.
    pub totp: bool,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    page: Page,
    me: i64,
    users: Vec<UserView>,
    clinics: Vec<db::clinics::Clinic>,
    form: UserForm,
    errors: FormErrors,
    /// Operators' policy: the second factor required of every role, not only operators.
    totp_required_for_all: bool,
    invite: super::invitations::InviteSection,
    /// Mail is on: accounts come by invitation and passwords are reset by a mailed link.
    mail_on: bool,
}

async fn render_list(state: &AppState, ctx: &Ctx, form: UserForm, errors: FormErrors) -> Result<Response, AppError> {
    let invite = super::invitations::section(state, Default::default(), FormErrors::default()).await?;
    render_list_with(state, ctx, form, errors, invite).await
}

/// The users page, with the invitations section as given (the invite form's errors, say).
pub(super) async fn render_list_with(
    state: &AppState,
    ctx: &Ctx,
    form: UserForm,
    errors: FormErrors,
    invite: super::invitations::InviteSection,
) -> Result<Response, AppError> {
    let with_totp: std::collections::HashSet<i64> =
        db::totp::enabled_user_ids(&state.pool).await?.into_iter().collect();
    let users = db::users::all(&state.pool)
        .await?
        .into_iter()
        .map(|u| UserView {
            role_key: Role::from_db(&u.role).map_or("role.unknown", Role::label_key),
            id: u.id,
            email: u.email,
            clinic_code: u.clinic_code,
            created_at: u.created_at,
            disabled: u.disabled_at.is_some(),
            totp: with_totp.contains(&u.id),
        })
        .collect();
    let clinics = db::clinics::all(&state.pool).await?;
    let status = if errors.any() || invite.errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let me = ctx.require_user()?.id;
    Ok((
        status,
        render(&ListPage {
            page: Page::new(ctx).await?,
            me,
            users,
            clinics,
            form,
            errors,
            totp_required_for_all: db::totp::required_for_all(&state.pool).await?,
            mail_on: invite.mail_on,
            invite,
        })?,
    )
        .into_response())
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if !ctx.require_user()?.actor().can_manage_users() {
        return Err(AppError::Forbidden);
    }
    render_list(&state, &ctx, UserForm::default(), FormErrors::default()).await
}

/// The address, role and clinic of a new account (created here or invited by mail): a clinic
/// admin needs a clinic, the others none. `Err((field, message))` names the field at fault.
pub(super) fn parse_account(
    ctx: &Ctx,
    email: &str,
    role: &str,
    clinic: &str,
) -> Result<(Email, Role, Option<ClinicCode>), (&'static str, String)> {
    let email = Email::parse(email).map_err(|_| ("email", ctx.t("form.email_invalid").to_owned()))?;
    let role = Role::parse_cli(role).ok_or_else(|| ("role", ctx.t("user.role_invalid").to_owned()))?;
    let clinic = match (role, clinic.trim()) {
        (Role::ClinicAdmin, "") => return Err(("clinic", ctx.t("user.clinic_required").to_owned())),
        (Role::ClinicAdmin, code) => {
            Some(ClinicCode::parse(code).map_err(|e| ("clinic", ctx.t(e.ui_key()).to_owned()))?)
        }
        _ => None,
    };
    Ok((email, role, clinic))
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    HtmlForm(mut form): HtmlForm<UserForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let user = ctx.require_user()?;
    if !user.actor().can_manage_users() {
        return Err(AppError::Forbidden);
    }
    // With mail on, people choose their own password through an invitation: an operator never
    // types one for them (`portal user add` stays for first setup and scripts).
    if state.mailer.is_some() {
        form.password.clear();
        return render_list(
            &state,
            &ctx,
            form,
            FormErrors::on("action", ctx.t("users.invite_instead")),
        )
        .await;
    }
    let parsed = (|| {
        let (email, role, clinic) = parse_account(&ctx, &form.email, &form.role, &form.clinic)
            .map_err(|(field, message)| FormErrors::on(field, message))?;
        let password = Password::parse(&form.password).map_err(|e| FormErrors::on("password", ctx.t(e.ui_key())))?;
        Ok((email, role, clinic, password))
    })();
    // The password is never echoed back into the form.
    form.password.clear();
    let (email, role, clinic, password) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => return render_list(&state, &ctx, form, errors).await,
    };
    let input = UserInput {
        email: &email,
        password: &password,
        role,
        clinic: clinic.as_ref(),
        // The operator typed it: the new user chooses their own at the first sign-in.
        temporary: true,
    };
    match accounts::create_user(&state.pool, &state.hasher, &user.audit_actor(), &input).await {
        Ok(_) => done(&ctx, "flash.account_created", "/users").await,
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e @ AccountError::DuplicateUser(_)) => {
            render_list(&state, &ctx, form, FormErrors::on("email", e.localized(ctx.lang))).await
        }
        Err(e) => render_list(&state, &ctx, form, FormErrors::on("clinic", e.localized(ctx.lang))).await,
    }
}

#[derive(Deserialize)]
pub struct AccountActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn operator(ctx: &Ctx) -> Result<&crate::auth::SignedIn, AppError> {
    let user = ctx.require_user()?;
    if user.actor().can_manage_users() {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The users page again, with `key`'s message above the table (an action on an account that
/// was refused).
async fn refuse_action(state: &AppState, ctx: &Ctx, key: &str) -> Result<Response, AppError> {
    render_list(state, ctx, UserForm::default(), FormErrors::on("action", ctx.t(key))).await
}

async fn account_result(
    state: &AppState,
    ctx: &Ctx,
    result: Result<(), AccountError>,
    flash: &'static str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => done(ctx, flash, "/users").await,
        Err(AccountError::UnknownUser) => Err(AppError::NotFound),
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e) => {
            render_list(
                state,
                ctx,
                UserForm::default(),
                FormErrors::on("action", e.localized(ctx.lang)),
            )
            .await
        }
    }
}

pub async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(user_id): Path<i64>,
    HtmlForm(form): HtmlForm<AccountActionForm>,
) -> Result<Response, AppError> {
    set_disabled(&state, &ctx, user_id, &form, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(user_id): Path<i64>,
    HtmlForm(form): HtmlForm<AccountActionForm>,
) -> Result<Response, AppError> {
    set_disabled(&state, &ctx, user_id, &form, false).await
}

async fn set_disabled(
    state: &AppState,
    ctx: &Ctx,
    user_id: i64,
    form: &AccountActionForm,
    disabled: bool,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let me = operator(ctx)?;
    let actor = me.audit_actor();
    // Disabling oneself is refused outright, so there is nothing to ask.
    if disabled && user_id != me.id && !is_confirmed(&form.confirm) {
        let user = db::users::by_id(&state.pool, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        return ask(
            ctx,
            Question {
                title: ctx.t("confirm.disable_user_title"),
                subject: user.email,
                consequence: ctx.t("confirm.disable_user_consequence"),
                submit: ctx.t("confirm.disable_user_submit"),
                action: format!("/users/{user_id}/disable"),
                cancel: "/users".to_owned(),
            },
        )
        .await;
    }
    let result = accounts::set_disabled(&state.pool, &actor, user_id, disabled).await;
    account_result(
        state,
        ctx,
        result,
        if disabled {
            "flash.account_disabled"
        } else {
            "flash.account_enabled"
        },
    )
    .await
}

pub async fn reset_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(user_id): Path<i64>,
    HtmlForm(form): HtmlForm<AccountActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let actor = operator(&ctx)?.audit_actor();
    if state.mailer.is_some() {
        return refuse_action(&state, &ctx, "users.send_link_instead").await;
    }
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(e) => return refuse_action(&state, &ctx, e.ui_key()).await,
    };
    let result = accounts::reset_password(&state.pool, &state.hasher, &actor, user_id, &password).await;
    account_result(&state, &ctx, result, "flash.password_reset").await
}

/// With mail on: mails the user a reset link, so they choose their own password (the operator
/// never types one). Their sessions go on until the link is used.
pub async fn send_reset_link(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(user_id): Path<i64>,
    HtmlForm(form): HtmlForm<AccountActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf).await?;
    let actor = operator(&ctx)?.audit_actor();
    if state.mailer.is_none() {
        return refuse_action(&state, &ctx, "invite.mail_off").await;
    }
    let public_url = state.config.display_url();
    match crate::services::account_mail::send_reset_link(&state.pool, &public_url, &actor, user_id).await {
        Ok(true) => {
            state.mail_wake.notify_one();
            done(&ctx, "flash.reset_link_sent", "/users").await
        }
        Ok(false) => refuse_action(&state, &ctx, "users.reset_link_disabled").await,
        Err(AccountError::UnknownUser) => Err(AppError::NotFound),
        Err(AccountError::Internal(e)) => Err(AppError::Internal(e)),
        Err(e) => Err(AppError::Internal(anyhow::anyhow!("sending a reset link: {e}"))),
    }
}
