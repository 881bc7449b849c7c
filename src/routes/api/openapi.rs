//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from them.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::tickets;

#[derive(OpenApi)]
#[openapi(
    info(title = "目視モード support portal: ticket API", version = "1"),
    paths(tickets::create, tickets::list, tickets::show, tickets::patch, tickets::add_note, tickets::add_call),
    components(schemas(tickets::TicketJson, tickets::TicketPage, tickets::CreateTicket, tickets::PatchTicket,
        tickets::NewNote, tickets::NewCall, tickets::ErrorJson)),
    modifiers(&ApiToken)
)]
pub struct ApiDoc;

struct ApiToken;

impl Modify for ApiToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
