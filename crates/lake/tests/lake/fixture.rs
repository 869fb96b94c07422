//! A store with one PT15M dataset in Europe/London over the spring-forward weekend, written in
//! six-hour UTC windows (after the change, a window's last hour is the next local day), and
//! what its lake holds, read with the parquet crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use genesys::Interval;
use jiff::Timestamp;
use jiff::civil::Date;
use lake::{Lake, LakeLocation, Manifest};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use test_support::postgres::TestPostgres;
use warehouse::{
    AggregateRow, DatasetDefinition, Store, StoreConfig, TableSpec, Value, WindowWrite,
};

pub const DATASET: &str = "queue_performance";
pub const FROM: &str = "2024-03-30T00:00:00Z";
pub const WINDOWS: i64 = 8;
const WINDOW_HOURS: i64 = 6;

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn spec() -> TableSpec {
    TableSpec {
        name: DATASET.into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: vec!["nOffered".into(), "tHandle".into()],
        definition: DatasetDefinition::conversation_aggregates("PT15M", "Europe/London"),
    }
}

pub fn window(index: i64) -> Interval {
    let start = at(FROM) + jiff::SignedDuration::from_hours(index * WINDOW_HOURS);
    Interval::new(
        start,
        start + jiff::SignedDuration::from_hours(WINDOW_HOURS),
    )
}

/// The window's rows: every quarter hour, three queues by two media, `scale` times the offers.
pub fn rows(window: Interval, scale: i64) -> Vec<AggregateRow> {
    let spec = spec();
    let mut rows = Vec::new();
    let mut start = window.start;
    while start < window.end {
        let end = start + jiff::SignedDuration::from_mins(15);
        for queue in 0..3 {
            for media in ["voice", "email"] {
                let offered = scale * (1 + (start.as_second() / 900) % 7 + queue);
                let values = spec
                    .metric_columns()
                    .iter()
                    .map(|c| match c.sql_type {
                        "INTEGER" => Some(Value::Int(offered * 1_000)),
                        _ => Some(Value::Real(offered as f64 / 2.0)),
                    })
                    .collect::<Vec<_>>();
                let mut values = values;
                values[0] = Some(Value::Int(offered));
                rows.push(AggregateRow {
                    interval: Interval::new(start, end),
                    group: vec![Some(format!("q{queue}")), Some(media.into())],
                    values,
                });
            }
        }
        start = end;
    }
    rows
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub config: StoreConfig,
    /// The schema of a fixture on PostgreSQL, dropped with it (after the store).
    _schema: Option<TestPostgres>,
}

impl Fixture {
    /// An SQLite store with every window written once.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::sqlite(dir.path().join("store.db"));
        Self::filled(dir, config, None)
    }

    /// The same store in a PostgreSQL schema of its own (the test run's throwaway server).
    pub fn on_postgres() -> Self {
        let schema = TestPostgres::schema();
        Self::filled(
            tempfile::tempdir().unwrap(),
            schema.store_config(),
            Some(schema),
        )
    }

    fn filled(dir: tempfile::TempDir, config: StoreConfig, schema: Option<TestPostgres>) -> Self {
        let store: Arc<dyn Store> = Arc::new(warehouse::open(&config).unwrap());
        store.ensure_dataset(&spec()).unwrap();
        store.initialize_watermark(DATASET, at(FROM)).unwrap();
        let fixture = Self {
            dir,
            store,
            config,
            _schema: schema,
        };
        for index in 0..WINDOWS {
            fixture.write(window(index), &rows(window(index), 1));
        }
        fixture
    }

    pub fn write(&self, window: Interval, rows: &[AggregateRow]) {
        self.store
            .write_window(&WindowWrite {
                dataset: DATASET,
                window,
                rows,
                settled: true,
                run_id: None,
                count_changes: false,
            })
            .unwrap();
    }

    pub fn folder(&self) -> PathBuf {
        self.dir.path().join("lake")
    }

    pub fn lake(&self) -> Lake {
        self.lake_at(LakeLocation::Local(self.folder()))
    }

    pub fn lake_at(&self, location: LakeLocation) -> Lake {
        self.lake_with(location, &[])
    }

    pub fn lake_with(&self, location: LakeLocation, s3_settings: &[(&str, &str)]) -> Lake {
        let reader = warehouse::open_reader(&self.config).unwrap();
        Lake::open_with(location, reader, None, s3_settings).unwrap()
    }

    pub fn writer(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// The store's day table: offers per local day (an SQLite fixture's).
    pub fn day_sums(&self) -> BTreeMap<Date, i64> {
        let table = warehouse::testing::StoredTable::read(
            self.config.file().unwrap(),
            &warehouse::days::day_table(DATASET),
        )
        .unwrap();
        let zone = spec().definition.time_zone.zone().clone();
        let mut sums = BTreeMap::new();
        for row in table.rows() {
            let start = at(row.text("interval_start").unwrap());
            let date = start.to_zoned_datetime(zone.clone()).date();
            *sums.entry(date).or_default() += row.integer("n_offered").unwrap();
        }
        sums
    }
}

pub fn no_progress(_: &lake::Published) {}

pub fn manifest(folder: &Path) -> Manifest {
    let text = std::fs::read(folder.join(DATASET).join("_genesys_bi/manifest.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// Every data file a reader of the plain partitions sees, relative to the folder.
pub fn data_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(partitions) = std::fs::read_dir(folder.join(DATASET)) else {
        return files;
    };
    for partition in partitions {
        let partition = partition.unwrap().path();
        let name = partition
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        for file in std::fs::read_dir(&partition).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with('_') && !name.starts_with('.') {
                files.push(file.strip_prefix(folder).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// What the plain partitions hold: offers per `date=` partition, and how often each row key
/// (bucket start, queue, media) appears.
#[derive(Debug, Default, PartialEq)]
pub struct LakeContents {
    pub day_sums: BTreeMap<Date, i64>,
    pub keys: BTreeMap<(i64, String, String), usize>,
}

pub fn read_lake(folder: &Path) -> LakeContents {
    let mut contents = LakeContents::default();
    for file in data_files(folder) {
        let date: Date = file
            .components()
            .nth(1)
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .strip_prefix("date=")
            .unwrap()
            .parse()
            .unwrap();
        let bytes = bytes::Bytes::from(std::fs::read(folder.join(&file)).unwrap());
        let reader = SerializedFileReader::new(bytes)
            .unwrap_or_else(|e| panic!("{} is not a whole Parquet file: {e}", file.display()));
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            let fields: BTreeMap<String, Field> = row
                .get_column_iter()
                .map(|(name, field)| (name.clone(), field.clone()))
                .collect();
            let Field::TimestampMillis(start) = fields["interval_start"] else {
                panic!("interval_start is {:?}", fields["interval_start"]);
            };
            let text = |name: &str| match &fields[name] {
                Field::Str(s) => s.clone(),
                other => panic!("{name} is {other:?}"),
            };
            let Field::Long(offered) = fields["n_offered"] else {
                panic!("n_offered is {:?}", fields["n_offered"]);
            };
            *contents.day_sums.entry(date).or_default() += offered;
            *contents
                .keys
                .entry((start, text("queue_id"), text("media_type")))
                .or_default() += 1;
        }
    }
    contents
}
