//! `GET /openapi.json`: the API document. Each operation is derived from its handler's own
//! `#[utoipa::path]` and types (utoipa); this module adds what lives around the handlers: the
//! document's head, the API-key schemes, and the 401 of every route behind the key.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

use crate::problem::{PROBLEM_JSON, Problem};

/// The request target past the HTTP layer's limit never reaches a handler.
pub const URI_TOO_LONG: &str = "The request target is longer than 64 KiB: refused by the HTTP layer before any parsing, with no body";

/// The document's head: what the API is, and the two ways to give the key.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "genesys-bi",
        description = "Genesys Cloud contact-centre analytics for BI tools. Every endpoint except /healthz and /readyz needs an API key (`genesys-bi keys create`): `Authorization: Bearer <key>`, or HTTP Basic with the key as the password."
    ),
    security(("bearer" = []), ("basic" = [])),
    components(schemas(Problem)),
    modifiers(&KeySchemes)
)]
pub struct Head;

struct KeySchemes;

impl Modify for KeySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("Any user name; the API key as the password."))
                    .build(),
            ),
        );
    }
}

/// Every operation of `routes` answers 401 with a problem when the key is missing, wrong or
/// revoked: called on the routes the API-key layer wraps, and only on them.
pub fn behind_key(routes: &mut OpenApi) {
    let unauthorized = ResponseBuilder::new()
        .description("Missing, wrong or revoked API key")
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    for item in routes.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.head].into_iter().flatten() {
            operation
                .responses
                .responses
                .insert("401".into(), unauthorized.clone().into());
        }
    }
}

/// The served document, rendered once when the router is built.
#[derive(Clone)]
pub struct Document(pub Arc<Bytes>);

impl Document {
    pub fn new(openapi: &OpenApi) -> Self {
        let json = serde_json::to_vec(openapi).expect("an OpenAPI document always serializes");
        Document(Arc::new(Bytes::from(json)))
    }
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json"))
)]
pub async fn openapi(Extension(document): Extension<Document>) -> Response {
    let mut response = Bytes::clone(&document.0).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
