//! Publishing to a folder: day partitions, the manifest, catching up, republishing, fencing.

use std::path::PathBuf;

use crate::fixture::*;

#[tokio::test]
async fn a_catch_up_publishes_every_window_by_local_day_once() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    let report = lake
        .catch_up(fixture.writer(), DATASET, Some(1), &no_progress)
        .await
        .unwrap();
    assert_eq!(report.windows, WINDOWS as usize);
    let contents = read_lake(&fixture.folder());
    assert_eq!(contents.day_sums, fixture.day_sums());
    assert_eq!(contents.day_sums.len(), 3, "30 and 31 March, 1 April");
    assert!(contents.keys.values().all(|&n| n == 1), "a row twice");
    assert_eq!(contents.keys.len(), (WINDOWS * 24 * 6) as usize);

    // The window after the change to summer time ends in the next local day: two files.
    let straddling = window(7);
    let manifest = manifest(&fixture.folder());
    let listed = manifest.window(straddling.start).unwrap();
    let dates: Vec<_> = listed.files.iter().map(|f| f.date.to_string()).collect();
    assert_eq!(dates, ["2024-03-31", "2024-04-01"]);
    assert_eq!(
        listed.files[1].path,
        "queue_performance/date=2024-04-01/part-20240331T180000Z.parquet"
    );
    assert_eq!(manifest.fencing_token, 1);
    assert_eq!(manifest.time_zone, "Europe/London");
    assert_eq!(manifest.complete_through, Some(window(WINDOWS - 1).end));
    assert_eq!(manifest.windows.len(), WINDOWS as usize);

    let again = lake
        .catch_up(fixture.writer(), DATASET, Some(1), &no_progress)
        .await
        .unwrap();
    assert_eq!((again.windows, again.removed), (0, 0), "{again:?}");
}

#[tokio::test]
async fn a_window_the_store_wrote_again_is_published_again_and_its_vacated_day_removed() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    lake.catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    let straddling = window(7);
    // Rewritten with three times the offers, and only the hours before local midnight.
    let before_midnight: Vec<_> = rows(straddling, 3)
        .into_iter()
        .filter(|row| row.interval.start < at("2024-03-31T23:00:00Z"))
        .collect();
    fixture.write(straddling, &before_midnight);
    let pending = lake.pending(fixture.writer(), DATASET, None).await.unwrap();
    assert_eq!(pending, [straddling]);

    let report = lake
        .catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    assert_eq!((report.windows, report.files, report.removed), (1, 1, 1));
    let contents = read_lake(&fixture.folder());
    assert_eq!(contents.day_sums, fixture.day_sums());
    assert_eq!(contents.day_sums.len(), 2, "1 April is empty now");
    assert!(
        !fixture
            .folder()
            .join(DATASET)
            .join("date=2024-04-01/part-20240331T180000Z.parquet")
            .exists()
    );
}

#[tokio::test]
async fn an_export_rewrites_the_windows_of_its_range_and_no_others() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    lake.catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    let before = manifest(&fixture.folder());
    let seen = std::sync::Mutex::new(Vec::new());
    let range = genesys::Interval::new(at("2024-03-30T05:00:00Z"), at("2024-03-30T13:00:00Z"));
    let report = lake
        .export(fixture.writer(), DATASET, range, None, &|p| {
            seen.lock().unwrap().push(p.window)
        })
        .await
        .unwrap();
    assert_eq!(report.windows, 3);
    assert_eq!(*seen.lock().unwrap(), [window(0), window(1), window(2)]);
    let after = manifest(&fixture.folder());
    assert_eq!(after.windows[3..], before.windows[3..]);
    assert_eq!(read_lake(&fixture.folder()).day_sums, fixture.day_sums());
}

#[tokio::test]
async fn a_writer_with_an_older_lease_publishes_nothing() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    lake.catch_up(fixture.writer(), DATASET, Some(7), &no_progress)
        .await
        .unwrap();
    fixture.write(window(0), &rows(window(0), 2));
    let error = lake
        .catch_up(fixture.writer(), DATASET, Some(6), &no_progress)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            lake::LakeError::Fenced {
                found: 7,
                mine: 6,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("token 7"), "{error}");
    assert_ne!(read_lake(&fixture.folder()).day_sums, fixture.day_sums());
}

#[tokio::test]
async fn the_lake_watermark_stops_at_the_first_window_not_yet_published() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    lake.catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    // A window written again after its publish: the lake's watermark falls back before it
    // until the next catch-up, which the manifest written by `export` of another range shows.
    fixture.write(window(2), &rows(window(2), 5));
    let range = genesys::Interval::new(window(5).start, window(5).end);
    lake.export(fixture.writer(), DATASET, range, None, &no_progress)
        .await
        .unwrap();
    let manifest = manifest(&fixture.folder());
    assert_eq!(manifest.complete_through, Some(window(1).end));
}

/// The lake reads the store through the store seam: published from a PostgreSQL store holding
/// the same windows, its files are byte for byte the ones published from SQLite.
#[tokio::test]
async fn a_lake_published_from_postgresql_is_byte_for_byte_the_one_from_sqlite() {
    let sqlite = Fixture::new();
    let postgres = Fixture::on_postgres();
    for fixture in [&sqlite, &postgres] {
        let report = fixture
            .lake()
            .catch_up(fixture.writer(), DATASET, Some(1), &no_progress)
            .await
            .unwrap();
        assert_eq!(report.windows, WINDOWS as usize);
    }
    let files = |fixture: &Fixture| -> Vec<(PathBuf, Vec<u8>)> {
        let folder = fixture.folder();
        data_files(&folder)
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(folder.join(&path)).unwrap();
                (path, bytes)
            })
            .collect()
    };
    let (expected, published) = (files(&sqlite), files(&postgres));
    let names =
        |files: &[(PathBuf, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&published), names(&expected));
    for ((path, want), (_, got)) in expected.iter().zip(&published) {
        assert!(want == got, "{} differs", path.display());
    }
    assert_eq!(read_lake(&postgres.folder()).day_sums, sqlite.day_sums());
}
