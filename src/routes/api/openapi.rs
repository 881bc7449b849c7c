//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from them.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{ErrorJson, reader, tickets};

#[derive(OpenApi)]
#[openapi(
    info(title = "目視モード support portal: reader and ticket APIs", version = "1"),
    paths(reader::passcode, reader::verify,
        tickets::create, tickets::list, tickets::show, tickets::patch, tickets::add_note, tickets::add_call),
    components(schemas(reader::PasscodeBody, reader::VerifyBody, reader::VerifyAnswer,
        tickets::TicketJson, tickets::TicketPage, tickets::CreateTicket, tickets::PatchTicket,
        tickets::NewNote, tickets::NewCall, ErrorJson)),
    modifiers(&BearerTokens)
)]
pub struct ApiDoc;

/// Two bearer schemes: an agent's or operator's personal API token for tickets, a card
/// reader's device token for the reader API.
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in ["api_token", "reader_token"] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
