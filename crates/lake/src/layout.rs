//! Where each object of the lake lives: Hive-style day partitions any engine discovers, one
//! deterministic file name per window and day, and the manifest beside them under a name that
//! partition discovery skips (`_genesys_bi`).

use jiff::Timestamp;
use jiff::civil::Date;
use object_store::path::Path;

/// `<dataset>/date=YYYY-MM-DD/part-<window start>.parquet`, the window start in UTC as
/// `20240331T000000Z` (no `:`, which Hadoop paths refuse).
pub fn part_path(dataset: &str, date: Date, window_start: Timestamp) -> Path {
    Path::from(format!(
        "{dataset}/{}/{}",
        partition(date),
        part_name(window_start)
    ))
}

/// `date=YYYY-MM-DD`.
pub fn partition(date: Date) -> String {
    format!("date={date}")
}

pub fn part_name(window_start: Timestamp) -> String {
    format!("part-{}.parquet", window_start.strftime("%Y%m%dT%H%M%SZ"))
}

/// `<dataset>/_genesys_bi/manifest.json`.
pub fn manifest_path(dataset: &str) -> Path {
    Path::from(format!("{dataset}/_genesys_bi/manifest.json"))
}

/// Where a file is written before its atomic rename into its partition (local folders): under
/// `_genesys_bi`, so a file half-written when the process died is never read as data.
pub(crate) fn staging_path(dataset: &str, date: Date, window_start: Timestamp) -> Path {
    Path::from(format!(
        "{dataset}/_genesys_bi/staging/{date}-{}",
        part_name(window_start)
    ))
}

/// The dataset's folder, to list its files.
pub(crate) fn dataset_prefix(dataset: &str) -> Path {
    Path::from(dataset)
}

/// Whether `path` (relative to the lake's root) is a data file of the layout.
pub(crate) fn is_part_file(dataset: &str, path: &Path) -> bool {
    let mut parts = path.parts();
    let (Some(name), Some(partition), Some(file)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    name.as_ref() == dataset
        && partition.as_ref().starts_with("date=")
        && file.as_ref().starts_with("part-")
        && file.as_ref().ends_with(".parquet")
        && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_sit_in_day_partitions_under_deterministic_names() {
        let start: Timestamp = "2024-03-30T23:00:00Z".parse().unwrap();
        let date = jiff::civil::date(2024, 3, 31);
        let path = part_path("queue_performance", date, start);
        assert_eq!(
            path.as_ref(),
            "queue_performance/date=2024-03-31/part-20240330T230000Z.parquet"
        );
        assert!(is_part_file("queue_performance", &path));
        assert!(!is_part_file(
            "queue_performance",
            &manifest_path("queue_performance")
        ));
        assert!(!is_part_file(
            "queue_performance",
            &staging_path("queue_performance", date, start)
        ));
    }
}
