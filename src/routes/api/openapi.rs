//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from them.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{ErrorJson, reader, tickets};

#[derive(OpenApi)]
#[openapi(
    info(title = "目視モード support portal: reader and ticket APIs", version = "1"),
    paths(reader::passcode, reader::verify,
        tickets::create, tickets::list, tickets::show, tickets::patch, tickets::add_note, tickets::add_call, tickets::entries),
    components(schemas(reader::PasscodeBody, reader::VerifyBody, reader::VerifyAnswer,
        tickets::TicketJson, tickets::TicketPage, tickets::CreateTicket, tickets::PatchTicket,
        tickets::NewNote, tickets::NewCall, tickets::EntryJson, tickets::EntryPage, ErrorJson)),
    modifiers(&BearerTokens, &CommonErrors)
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

/// The error answers every operation can give, added here once instead of on each handler:
/// 401 (token missing, unknown or revoked), 503 (database unavailable, or too many long-polls),
/// and for operations with a body, 413 (over 64 KiB) and 415 (not JSON). Handlers list only
/// their own (400, 403, 404, 409, 422, 429).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorJson")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let mut common = vec![
                    ("401", "missing, unknown or revoked token"),
                    ("503", "temporarily unavailable; see Retry-After"),
                ];
                if operation.request_body.is_some() {
                    common.push(("413", "the body is over 64 KiB"));
                    common.push(("415", "send Content-Type: application/json"));
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
