//! Directory paging over real HTTP: every entity exactly once, `nextUri` absent on the last page.

use std::collections::HashSet;

use emulator::synth::OrgShape;
use genesys::directory::{
    EntityListing, QUEUES_PATH, Queue, USERS_PATH, User, WRAPUP_CODES_PATH, WrapupCode,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use test_support::TestEmulator;

/// Follows `nextUri` from the first page; returns the ids seen and the pages read.
async fn walk<T: DeserializeOwned>(
    emu: &TestEmulator,
    token: &str,
    path: &str,
    id: impl Fn(&T) -> String,
) -> (Vec<String>, u32) {
    let mut next = Some(format!("{path}?pageSize=7&pageNumber=1"));
    let (mut ids, mut pages) = (Vec::new(), 0);
    while let Some(uri) = next {
        let response = emu.get(token, &uri).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let page: EntityListing<T> = response.json().await.unwrap();
        pages += 1;
        assert_eq!(page.page_number, pages);
        assert_eq!(page.page_size, 7);
        assert_eq!(page.self_uri.as_deref(), Some(uri.as_str()));
        assert_eq!(
            page.first_uri.as_deref(),
            Some(format!("{path}?pageSize=7&pageNumber=1").as_str())
        );
        assert_eq!(
            page.last_uri,
            Some(format!("{path}?pageSize=7&pageNumber={}", page.page_count))
        );
        if page.page_number == page.page_count {
            assert!(page.next_uri.is_none(), "nextUri on the last page");
        }
        ids.extend(page.entities.iter().map(&id));
        next = page.next_uri;
        assert!(pages <= page.page_count, "more pages than pageCount");
    }
    (ids, pages)
}

fn assert_each_once(ids: &[String], expected: usize) {
    assert_eq!(ids.len(), expected);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        expected,
        "duplicates"
    );
}

#[tokio::test]
async fn every_directory_pages_through_all_entities_exactly_once() {
    let shape = OrgShape {
        queues: 9,
        agents: 30,
        wrapup_codes: 7,
        conversations_per_day: 100,
        late_wrapup_percent: 0,
    };
    let emu = TestEmulator::spawn_with(|c| c.org_shape = shape.clone()).await;
    let token = emu.token().await;
    let (queues, pages) = walk::<Queue>(&emu, &token, QUEUES_PATH, |q| q.id.clone()).await;
    assert_each_once(&queues, 9);
    assert_eq!(pages, 2);
    let (users, pages) = walk::<User>(&emu, &token, USERS_PATH, |u| u.id.clone()).await;
    assert_each_once(&users, 30);
    assert_eq!(pages, 5);
    let (codes, pages) =
        walk::<WrapupCode>(&emu, &token, WRAPUP_CODES_PATH, |w| w.id.clone()).await;
    assert_each_once(&codes, 7);
    assert_eq!(pages, 1);
}

#[tokio::test]
async fn defaults_are_page_size_25_page_1() {
    let shape = OrgShape {
        queues: 3,
        agents: 60,
        wrapup_codes: 2,
        conversations_per_day: 100,
        late_wrapup_percent: 0,
    };
    let emu = TestEmulator::spawn_with(|c| c.org_shape = shape.clone()).await;
    let token = emu.token().await;
    let page: EntityListing<User> = emu.get(&token, USERS_PATH).await.json().await.unwrap();
    assert_eq!(
        (
            page.page_size,
            page.page_number,
            page.total,
            page.page_count
        ),
        (25, 1, 60, 3)
    );
    assert_eq!(page.entities.len(), 25);
    assert_eq!(
        page.next_uri.as_deref(),
        Some("/api/v2/users?pageSize=25&pageNumber=2")
    );
    let past: EntityListing<User> = emu
        .get(&token, "/api/v2/users?pageNumber=9")
        .await
        .json()
        .await
        .unwrap();
    assert!(past.entities.is_empty() && past.next_uri.is_none());
    let all: EntityListing<User> = emu
        .get(&token, "/api/v2/users?pageSize=500")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((all.entities.len(), all.page_count), (60, 1));
}
