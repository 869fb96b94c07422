//! `verify`: each disagreement between store, manifest and files is found and named.

use lake::Problem;

use crate::fixture::*;

#[tokio::test]
async fn a_caught_up_lake_verifies_clean() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    let unpublished = lake.verify(fixture.writer(), DATASET).await.unwrap();
    assert_eq!(unpublished.problems.len(), WINDOWS as usize);
    assert!(matches!(unpublished.problems[0], Problem::Unpublished(w) if w == window(0)));
    lake.catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    let report = lake.verify(fixture.writer(), DATASET).await.unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
    assert_eq!(report.files, WINDOWS as usize + 1);
    assert_eq!(report.rows, (WINDOWS * 24 * 6) as u64);
}

#[tokio::test]
async fn missing_foreign_damaged_and_outdated_files_are_each_reported() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    lake.catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    let folder = fixture.folder().join(DATASET);
    std::fs::remove_file(folder.join("date=2024-03-30/part-20240330T000000Z.parquet")).unwrap();
    std::fs::write(
        folder.join("date=2024-03-30/part-20240330T060000Z.parquet"),
        b"not parquet",
    )
    .unwrap();
    std::fs::copy(
        folder.join("date=2024-03-30/part-20240330T120000Z.parquet"),
        folder.join("date=2024-03-30/part-20200101T000000Z.parquet"),
    )
    .unwrap();
    fixture.write(window(4), &rows(window(4), 2));

    let report = lake.verify(fixture.writer(), DATASET).await.unwrap();
    let said: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(report.problems.len(), 4, "{said:#?}");
    assert!(matches!(report.problems[0], Problem::Outdated(w) if w == window(4)));
    assert!(
        said.iter()
            .any(|p| p.contains("part-20240330T000000Z.parquet is in the manifest but missing"))
    );
    assert!(
        said.iter()
            .any(|p| p.contains("part-20240330T060000Z.parquet can't be read as Parquet"))
    );
    assert!(said.iter().any(|p| {
        p.contains("part-20200101T000000Z.parquet is a data file no manifest entry names")
    }));

    // An export of the whole range repairs every one of them.
    let all = genesys::Interval::new(window(0).start, window(WINDOWS - 1).end);
    lake.export(fixture.writer(), DATASET, all, None, &no_progress)
        .await
        .unwrap();
    let repaired = lake.verify(fixture.writer(), DATASET).await.unwrap();
    assert!(repaired.is_consistent(), "{:?}", repaired.problems);
    assert_eq!(read_lake(&fixture.folder()).day_sums, fixture.day_sums());
}
