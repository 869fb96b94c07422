//! Directories (`/routing/queues`, `/users`, `/routing/wrapupcodes`) from the synthetic org,
//! paged by `pageSize` (default 25, max 500) and 1-based `pageNumber`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use genesys::directory::{
    EntityListing, QUEUES_PATH, Queue, USERS_PATH, User, WRAPUP_CODES_PATH, WrapupCode,
};
use serde::Deserialize;

use crate::error::ApiError;
use crate::extract::GenesysQuery;
use crate::state::AppState;

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 500;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageParams {
    page_size: Option<u32>,
    page_number: Option<u32>,
}

pub async fn queues(
    State(state): State<Arc<AppState>>,
    GenesysQuery(params): GenesysQuery<PageParams>,
) -> Result<Json<EntityListing<Queue>>, ApiError> {
    listing(&state.centre.org().queues, QUEUES_PATH, &params).map(Json)
}

pub async fn users(
    State(state): State<Arc<AppState>>,
    GenesysQuery(params): GenesysQuery<PageParams>,
) -> Result<Json<EntityListing<User>>, ApiError> {
    listing(&state.centre.org().users, USERS_PATH, &params).map(Json)
}

pub async fn wrapup_codes(
    State(state): State<Arc<AppState>>,
    GenesysQuery(params): GenesysQuery<PageParams>,
) -> Result<Json<EntityListing<WrapupCode>>, ApiError> {
    listing(&state.centre.org().wrapup_codes, WRAPUP_CODES_PATH, &params).map(Json)
}

/// One page of `all`; a page past the end is empty, `nextUri` is absent on the last page.
pub fn listing<T: Clone>(
    all: &[T],
    path: &str,
    params: &PageParams,
) -> Result<EntityListing<T>, ApiError> {
    let page_size = params.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    let page_number = params.page_number.unwrap_or(1);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(ApiError::bad_request(format!(
            "pageSize must be between 1 and {MAX_PAGE_SIZE}, not {page_size}."
        )));
    }
    if page_number == 0 {
        return Err(ApiError::bad_request("pageNumber starts at 1."));
    }
    let total = all.len();
    let page_count = total.div_ceil(page_size as usize).max(1) as u32;
    let start = (page_number as usize - 1)
        .saturating_mul(page_size as usize)
        .min(total);
    let end = start.saturating_add(page_size as usize).min(total);
    let uri = |n: u32| format!("{path}?pageSize={page_size}&pageNumber={n}");
    Ok(EntityListing {
        entities: all[start..end].to_vec(),
        page_size,
        page_number,
        total: total as u64,
        page_count,
        first_uri: Some(uri(1)),
        self_uri: Some(uri(page_number)),
        next_uri: (page_number < page_count).then(|| uri(page_number + 1)),
        previous_uri: (page_number > 1).then(|| uri((page_number - 1).min(page_count))),
        last_uri: Some(uri(page_count)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pages_list_every_entity_once(total in 0usize..120, size in 1u32..40) {
            let all: Vec<usize> = (0..total).collect();
            let (mut seen, mut number) = (Vec::new(), Some(1));
            while let Some(n) = number {
                let params = PageParams { page_size: Some(size), page_number: Some(n) };
                let page = listing(&all, "/x", &params).unwrap();
                prop_assert_eq!(page.total, total as u64);
                seen.extend(page.entities);
                number = page.next_uri.map(|_| n + 1);
            }
            prop_assert_eq!(seen, all);
        }
    }

    #[test]
    fn page_size_bounds() {
        let all = [1, 2, 3];
        assert!(
            listing(
                &all,
                "/x",
                &PageParams {
                    page_size: Some(501),
                    page_number: None
                }
            )
            .is_err()
        );
        assert!(
            listing(
                &all,
                "/x",
                &PageParams {
                    page_size: Some(0),
                    page_number: None
                }
            )
            .is_err()
        );
        assert!(
            listing(
                &all,
                "/x",
                &PageParams {
                    page_size: None,
                    page_number: Some(0)
                }
            )
            .is_err()
        );
        let past = listing(
            &all,
            "/x",
            &PageParams {
                page_size: Some(2),
                page_number: Some(9),
            },
        )
        .unwrap();
        assert!(past.entities.is_empty() && past.next_uri.is_none());
    }
}
