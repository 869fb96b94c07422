//! Configuration parsing and validation: every fault named with its dataset and field.

use std::path::Path;

use sync::config::{Config, ConfigError};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

#[test]
fn the_defaults_are_valid() {
    let specs = parse("").unwrap().dataset_specs().unwrap();
    let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "queue_performance",
            "agent_performance",
            "wrapup_performance",
            "agent_status",
            "agent_org_presence",
            "agent_status_intervals",
            "conversations",
            "participants",
            "sessions",
            "segments"
        ]
    );
    assert_eq!(specs[0].metrics.len(), 12);
    assert_eq!(
        specs[0].table_spec().dimension_columns(),
        ["queue_id", "media_type"]
    );
    let status = specs[3].table_spec();
    assert_eq!(
        status.definition.kind,
        warehouse::DatasetKind::UsersAggregates
    );
    assert_eq!(status.dimension_columns(), ["user_id"]);
    assert_eq!(status.metric_columns().len(), 15);
    let presence = specs[4].table_spec();
    assert_eq!(
        presence.dimension_columns(),
        ["user_id", "organization_presence_id"]
    );
    // The request groups by userId only: the presence id is each entry's qualifier.
    let window = "2024-05-01T00:00:00Z/2024-05-02T00:00:00Z".parse().unwrap();
    assert_eq!(specs[4].query(window).group_by, ["userId"]);
}

#[test]
fn users_datasets_are_checked_against_the_users_catalog() {
    let err = parse(
        r#"
        [[datasets]]
        name = "status"
        kind = "users"
        metrics = ["tSystemPresense", "tAgentRoutingStatus"]
        group_by = ["userId"]

        [[datasets]]
        name = "by_queue"
        kind = "users"
        metrics = ["tSystemPresence"]
        group_by = ["queueId"]

        [[datasets]]
        name = "mixed"
        kind = "users"
        metrics = ["tOrganizationPresence", "tSystemPresence"]
        group_by = ["userId"]

        [[datasets]]
        name = "offered"
        kind = "users"
        metrics = ["nOffered"]

        [[datasets]]
        name = "details"
        kind = "details"
        metrics = ["nOffered"]
        "#,
    )
    .unwrap()
    .dataset_specs()
    .unwrap_err()
    .to_string();
    for expected in [
        "dataset `status`, field `metrics`: unknown metric `tSystemPresense` (did you mean `tSystemPresence`?)",
        "dataset `by_queue`, field `group_by`: users aggregates group and filter by userId only, not `queueId`",
        "dataset `mixed`, field `metrics`: tOrganizationPresence needs a dataset of its own",
        "dataset `offered`, field `metrics`: `nOffered` is a conversation metric; users aggregates take",
        "dataset `details`, field `metrics`: is not set for a record dataset",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
}

#[test]
fn every_fault_is_reported_with_dataset_and_field() {
    let config = parse(
        r#"
        [[datasets]]
        name = "q"
        metrics = ["nAnswered"]
        group_by = ["queueId"]
        lookback = "six hours"
        window = "PT6H"

        [[datasets]]
        name = "Bad Name"
        metrics = ["nOffered"]
        group_by = ["queueid"]
        time_zone = "Mars/Olympus"

        [[datasets]]
        name = "q"
        metrics = ["nOffered"]
        "#,
    )
    .unwrap();
    let ConfigError::Invalid(faults) = config.dataset_specs().unwrap_err() else {
        panic!("expected faults")
    };
    let text: Vec<String> = faults.iter().map(ToString::to_string).collect();
    let expect = [
        "dataset `q`, field `metrics`: unknown metric `nAnswered` (did you mean `tAnswered`?)",
        "dataset `q`, field `lookback`: `six hours` is not a positive ISO-8601 duration such as PT15M or P1D",
        "dataset `q`, field `window`: window `PT6H` must be whole days (P1D, P7D, …) or whole months (P1M, …)",
        "dataset `Bad Name`, field `name`: must be lowercase letters, digits and _, starting with a letter",
        "dataset `q`, field `name`: is used by another dataset",
    ];
    for e in expect {
        assert!(text.iter().any(|t| t == e), "missing `{e}` in {text:#?}");
    }
    assert!(
        text.iter()
            .any(|t| t.starts_with("dataset `Bad Name`, field `time_zone`")),
        "{text:#?}"
    );
}

/// A record dataset's columns are its kind's; its window may be longer than a details job can
/// cover (several jobs read it).
#[test]
fn record_datasets_take_no_columns_and_any_window() {
    let config = parse(
        r#"
        [[datasets]]
        name = "calls"
        kind = "details"
        metrics = ["nOffered"]
        group_by = ["queueId"]
        window = "P7D"

        [[datasets]]
        name = "statuses"
        kind = "users_details"
        window = "P1M"
        "#,
    )
    .unwrap();
    let ConfigError::Invalid(faults) = config.dataset_specs().unwrap_err() else {
        panic!("expected faults")
    };
    let text: Vec<String> = faults.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "dataset `calls`, field `metrics`: is not set for a record dataset (kind `details`, `participants`, `sessions`, `segments` or `users_details`): its columns are its kind's",
            "dataset `calls`, field `group_by`: is not set for a record dataset (kind `details`, `participants`, `sessions`, `segments` or `users_details`): its columns are its kind's",
        ]
    );
    let specs = parse("").unwrap().dataset_specs().unwrap();
    let records: Vec<_> = (specs.iter())
        .filter(|spec| spec.kind.holds_records())
        .map(|spec| (spec.name.as_str(), spec.table_spec().record_kind()))
        .collect();
    assert_eq!(
        records,
        [
            (
                "agent_status_intervals",
                Some(warehouse::RecordKind::StatusIntervals)
            ),
            ("conversations", Some(warehouse::RecordKind::Conversations)),
            ("participants", Some(warehouse::RecordKind::Participants)),
            ("sessions", Some(warehouse::RecordKind::Sessions)),
            ("segments", Some(warehouse::RecordKind::Segments)),
        ]
    );
}

#[test]
fn filters_become_genesys_filters() {
    let config = parse(
        r#"
        [[datasets]]
        name = "voice_and_chat"
        metrics = ["nOffered"]
        group_by = ["queueId"]
        filter = { mediaType = ["voice", "chat"], direction = "inbound" }
        granularity = "P1D"
        time_zone = "Europe/London"
        backfill_start = "2024-03-01"
        "#,
    )
    .unwrap();
    let spec = &config.dataset_specs().unwrap()[0];
    let filter = spec.filter.as_ref().unwrap();
    assert_eq!(filter.predicates.len(), 1);
    assert_eq!(filter.clauses[0].predicates.len(), 2);
    let start = spec.backfill_from(jiff::Timestamp::now());
    assert_eq!(
        start.to_string(),
        "2024-03-01T00:00:00Z",
        "local midnight in London in March is UTC midnight"
    );
    let query = spec.query("2024-03-01T00:00:00Z/2024-03-02T00:00:00Z".parse().unwrap());
    assert_eq!(query.time_zone.as_deref(), Some("Europe/London"));
    let definition = spec.table_spec().definition;
    assert_eq!(
        definition.kind,
        warehouse::DatasetKind::ConversationAggregates
    );
    assert_eq!(definition.time_zone.name(), "Europe/London");
    assert_eq!(definition.filter.as_ref(), Some(filter));
    assert!(definition.fingerprint().contains("voice"));
}

#[test]
fn syntax_errors_name_the_file_and_unknown_keys_are_refused() {
    let err = parse("[[datasets]\nname = 1").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("config file test.toml is not valid"),
        "{err}"
    );
    let err =
        parse("[[datasets]]\nname = \"a\"\nmetrics = [\"nOffered\"]\ngranularty = \"PT15M\"\n")
            .unwrap_err();
    assert!(err.to_string().contains("granularty"), "{err}");
}

#[test]
fn client_settings_come_from_the_file_and_the_environment() {
    let config = parse("[genesys]\nregion = \"eu-west-1\"\nrequests_per_minute = 120\n").unwrap();
    let env = |k: &str| match k {
        "GENESYS_CLIENT_ID" => Some("id-from-env".to_string()),
        "GENESYS_CLIENT_SECRET" => Some("s3cret-from-env".to_string()),
        _ => None,
    };
    let client = config.client_config(env).unwrap();
    assert_eq!(client.client_id, "id-from-env");
    assert_eq!(client.requests_per_minute, 120);
    assert_eq!(
        client.endpoints().unwrap().api_base,
        "https://api.mypurecloud.ie"
    );
    assert!(
        !format!("{client:?}").contains("s3cret-from-env"),
        "the secret is redacted"
    );

    let err = config.client_config(|_| None).unwrap_err().to_string();
    assert!(err.contains("field `genesys.client_id`: is missing: set it in [genesys] or through GENESYS_CLIENT_ID"), "{err}");
    assert!(err.contains("genesys.client_secret"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");

    let bad =
        parse("[genesys]\nregion = \"mars-north-1\"\nclient_id = \"a\"\nclient_secret = \"b\"\n")
            .unwrap();
    let err = bad.client_config(|_| None).unwrap_err().to_string();
    assert!(err.contains("mars-north-1"), "{err}");
}

#[test]
fn dataset_names_may_not_shadow_the_stores_tables() {
    let config = parse("[[datasets]]\nname = \"wrapup_codes\"\nmetrics = [\"tHandle\"]\n").unwrap();
    let err = config.dataset_specs().unwrap_err().to_string();
    assert!(err.contains("dataset `wrapup_codes`, field `name`: `wrapup_codes` is the name of one of the store's own tables"), "{err}");
}

#[test]
fn relative_paths_are_taken_from_the_config_files_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::create_dir(folder.join("site")).unwrap();
    let file = folder.join("site/genesys-bi.toml");
    std::fs::write(
        &file,
        "[store]\nsqlite = \"data/bi.db\"\n\n[server]\ntls_cert = \"../tls/cert.pem\"\ntls_key = \"/etc/genesys-bi/key.pem\"\n",
    )
    .unwrap();
    // Named through a path with `..` in it: the file is still found and its folder used.
    let roundabout = folder.join("site/../site/genesys-bi.toml");
    let config = Config::read(&roundabout).unwrap();
    assert_eq!(config.file.as_deref(), Some(file.as_path()));
    assert_eq!(config.store.sqlite, folder.join("site/data/bi.db"));
    assert_eq!(
        config.server.tls_cert.as_deref(),
        Some(folder.join("site/../tls/cert.pem").as_path())
    );
    assert_eq!(
        config.server.tls_key.as_deref(),
        Some(Path::new("/etc/genesys-bi/key.pem")),
        "absolute paths stay as written"
    );
    let tls = config.server.settings().unwrap().tls.unwrap();
    assert!(tls.cert.is_absolute() && tls.key.is_absolute());
}

#[test]
fn resolving_keeps_absolute_paths_and_anchors_relative_ones() {
    let mut config = parse("[store]\nsqlite = \"bi.db\"\n").unwrap();
    config.resolve_paths_from(Path::new("/srv/genesys-bi"));
    assert_eq!(config.store.sqlite, Path::new("/srv/genesys-bi/bi.db"));
    let mut config = parse("[store]\nsqlite = \"/var/lib/bi.db\"\n").unwrap();
    config.resolve_paths_from(Path::new("/srv/genesys-bi"));
    assert_eq!(config.store.sqlite, Path::new("/var/lib/bi.db"));
    assert_eq!(config.file, None);
}

/// Uncomments every `# key = value` line and every `# [section]` header of the template.
fn uncomment_every_option(template: &str) -> String {
    let is_option = |line: &str| {
        let Some(rest) = line.strip_prefix("# ") else {
            return false;
        };
        let header = rest.starts_with('[') && rest.ends_with(']');
        let setting = rest.split_once(" = ").is_some_and(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        header || setting
    };
    template
        .lines()
        .map(|line| match is_option(line) {
            true => &line[2..],
            false => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_template_with_every_option_uncommented_parses_and_validates() {
    let text = uncomment_every_option(sync::config::TEMPLATE);
    let config = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let specs = config.dataset_specs().unwrap();
    assert_eq!(specs.len(), 1, "the example replaces the defaults");
    let example = &config.datasets[0];
    assert!(example.window.is_some() && !example.filter.is_empty());
    assert!(
        config.lake_config().unwrap().is_some(),
        "[lake] is in the template"
    );
    let server = config.server.settings().unwrap();
    assert!(server.tls.is_some());
    let section = &config.server;
    assert!(
        section.listen.is_some()
            && section.max_connections.is_some()
            && section.request_timeout.is_some()
            && section.header_read_timeout.is_some()
            && section.idle_timeout.is_some()
            && section.shutdown_timeout.is_some()
    );
    let client = config.client_config(|_| None).unwrap();
    // Every [genesys] key is in the template: ClientConfig's own fields, in its order.
    let keys: Vec<&str> = config.genesys.keys().map(String::as_str).collect();
    let mut expected = vec![
        "client_id",
        "client_secret",
        "region",
        "api_base",
        "login_base",
        "requests_per_minute",
        "retry_after_ceiling_secs",
        "max_attempts",
        "max_retry_secs",
        "backoff_min_ms",
        "backoff_max_ms",
        "request_timeout_secs",
        "connect_timeout_secs",
        "job_poll_min_ms",
        "job_poll_max_ms",
        "job_timeout_secs",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
    // The values shown are the defaults.
    let defaults = genesys::client::ClientConfig::new("id", "secret", Default::default());
    assert_eq!(
        (
            client.requests_per_minute,
            client.retry_after_ceiling_secs,
            client.max_attempts,
            client.max_retry_secs,
            client.backoff_min_ms,
            client.backoff_max_ms,
        ),
        (
            defaults.requests_per_minute,
            defaults.retry_after_ceiling_secs,
            defaults.max_attempts,
            defaults.max_retry_secs,
            defaults.backoff_min_ms,
            defaults.backoff_max_ms,
        )
    );
    assert_eq!(
        (
            client.request_timeout_secs,
            client.connect_timeout_secs,
            client.job_poll_min_ms,
            client.job_poll_max_ms,
            client.job_timeout_secs,
            client.region,
        ),
        (
            defaults.request_timeout_secs,
            defaults.connect_timeout_secs,
            defaults.job_poll_min_ms,
            defaults.job_poll_max_ms,
            defaults.job_timeout_secs,
            defaults.region,
        )
    );
    assert_eq!(
        client.endpoints().unwrap(),
        defaults.endpoints().unwrap(),
        "api_base and login_base shown are the region's"
    );
    let built_in = sync::server_settings::ServerSettings::default();
    assert_eq!(
        sync::server_settings::ServerSettings {
            tls: None,
            ..server
        },
        built_in
    );
}

#[test]
fn the_template_as_written_is_the_built_in_defaults() {
    let config = parse(sync::config::TEMPLATE).unwrap();
    let defaults = parse("").unwrap();
    assert!(config.genesys.is_empty());
    assert_eq!(config.store.sqlite, defaults.store.sqlite);
    assert_eq!(config.server, defaults.server);
    assert_eq!(config.datasets, sync::config::default_datasets());
    assert_eq!(config.directories, defaults.directories);
    let directories_line = uncomment_every_option(sync::config::TEMPLATE);
    let uncommented = parse(&directories_line).unwrap();
    assert_eq!(uncommented.directories, defaults.directories);
    assert_eq!(uncommented.directories_every, defaults.directories_every);
    assert_eq!(uncommented.rows_in_flight, defaults.rows_in_flight);
    assert_eq!(uncommented.store.sqlite, defaults.store.sqlite);
    assert_eq!(uncommented.store.schema, defaults.store.schema);
    assert!(
        uncommented.store.store(|_| None).is_ok(),
        "the template's PostgreSQL example parses"
    );
}

/// `[store] postgres = …`: parsed once, its password from the environment (never shown), each
/// fault naming its `store.` field.
#[test]
fn a_postgres_store_is_parsed_with_its_password_from_the_environment() {
    let config =
        parse("[store]\npostgres = \"postgres://bi@db.example:6543/analytics?sslmode=require\"\n")
            .unwrap();
    let env = |name: &str| match name {
        "GENESYS_BI_POSTGRES_PASSWORD" => Some("first-choice-secret".to_string()),
        "PGPASSWORD" => Some("second-choice".to_string()),
        _ => None,
    };
    let warehouse::StoreConfig::Postgres(store) = config.store.store(env).unwrap() else {
        panic!("a PostgreSQL store");
    };
    assert_eq!(
        store.to_string(),
        "postgres://bi@db.example:6543/analytics (schema genesys_bi)"
    );
    assert_eq!(store.ssl_mode(), warehouse::postgres::SslMode::Require);
    assert!(store.has_password());
    assert!(!format!("{store:?}").contains("secret"));
    let only_pg = |name: &str| (name == "PGPASSWORD").then(|| "pw".to_string());
    let fallback = config.store.store(only_pg).unwrap();
    let without = config.store.store(|_| None).unwrap();
    assert_ne!(
        fallback, without,
        "PGPASSWORD is used when it is the only one"
    );
    let sqlite = parse("").unwrap().store.store(env).unwrap();
    assert_eq!(sqlite.file(), Some(Path::new("genesys-bi.db")));
}

#[test]
fn a_bad_postgres_setting_is_one_fault_naming_its_field() {
    for (store, field) in [
        ("postgres = \"mysql://bi@db/analytics\"", "store.postgres"),
        ("postgres = \"postgres://db/analytics\"", "store.postgres"),
        (
            "postgres = \"postgres://bi@db/a\"\nsslmode = \"verify-ca\"",
            "store.sslmode",
        ),
        (
            "postgres = \"postgres://bi@db/a\"\nschema = \"Genesys BI\"",
            "store.schema",
        ),
    ] {
        let config = parse(&format!("[store]\n{store}\n")).unwrap();
        let error = config.store.store(|_| None).unwrap_err().to_string();
        assert!(
            error.contains(&format!("field `{field}`")),
            "{store}: {error}"
        );
        assert!(error.contains("1 fault"), "{error}");
    }
}

#[test]
fn rows_in_flight_bounds_the_sync_and_zero_is_a_fault_naming_it() {
    let defaults = parse("").unwrap();
    assert_eq!(
        defaults.rows_in_flight,
        sync::engine::RowBudget::DEFAULT_ROWS
    );
    assert_eq!(parse("rows_in_flight = 8000").unwrap().rows_in_flight, 8000);
    let err = parse("rows_in_flight = 0")
        .unwrap()
        .dataset_specs()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("field `rows_in_flight`: must be at least 1"),
        "{err}"
    );
}

#[test]
fn the_directories_are_refreshed_every_six_hours_unless_configured() {
    let defaults = parse("").unwrap();
    assert_eq!(
        defaults.directories_every().unwrap(),
        jiff::SignedDuration::from_hours(6)
    );
    let hourly = parse("directories_every = \"PT1H\"").unwrap();
    assert_eq!(
        hourly.directories_every().unwrap(),
        jiff::SignedDuration::from_hours(1)
    );
    for bad in ["6h", "PT0S", "-PT1H"] {
        let config = parse(&format!("directories_every = \"{bad}\"")).unwrap();
        let error = config.dataset_specs().unwrap_err().to_string();
        assert!(error.contains("directories_every"), "{bad}: {error}");
        assert!(error.contains(bad), "{bad}: {error}");
    }
}

#[test]
fn directories_are_read_once_into_their_names_and_an_unknown_one_is_named() {
    use sync::config::DirectoryName;
    let config = parse("directories = [\"users\", \"queues\"]").unwrap();
    assert_eq!(
        config.directories,
        [DirectoryName::Users, DirectoryName::Queues]
    );
    let err = parse("directories = [\"queues\", \"teams\"]").unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("`teams`") && message.contains("wrapup_codes"),
        "{message}"
    );
}

#[test]
fn serving_reads_only_the_store_and_the_server_sections() {
    use sync::config::ServingConfig;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("genesys-bi.toml");
    // A dataset fault is the sync's to report; the server still starts on this file.
    std::fs::write(
        &file,
        "[store]\nsqlite = \"data/bi.db\"\n[server]\nlisten = \"127.0.0.1:9999\"\n\
         [[datasets]]\nname = \"broken\"\nmetrics = [\"nOffered\"]\ngranularty = \"PT15M\"\n",
    )
    .unwrap();
    assert!(sync::config::Config::read(&file).is_err());
    let serving = ServingConfig::load(Some(&file)).unwrap();
    let folder = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(serving.store.sqlite, folder.join("data/bi.db"));
    assert_eq!(
        serving.server.settings().unwrap().listen,
        "127.0.0.1:9999".parse().unwrap()
    );
    assert_eq!(
        serving.file.as_deref(),
        Some(folder.join("genesys-bi.toml").as_path())
    );
    // Its own sections are still checked.
    std::fs::write(&file, "[server]\nlisen = \"127.0.0.1:1\"\n").unwrap();
    let err = ServingConfig::load(Some(&file)).unwrap_err();
    assert!(err.to_string().contains("lisen"), "{err}");
}

#[test]
fn kpi_feed_names_are_refused_naming_the_dataset() {
    let config = parse(
        r#"
        [[datasets]]
        name = "voice"
        metrics = ["nOffered"]

        [[datasets]]
        name = "voice_daily"
        metrics = ["nOffered"]

        [[datasets]]
        name = "voice_daily_kpi"
        metrics = ["nOffered"]
        "#,
    )
    .unwrap();
    let ConfigError::Invalid(faults) = config.dataset_specs().unwrap_err() else {
        panic!("expected faults")
    };
    let text: Vec<String> = faults.iter().map(ToString::to_string).collect();
    let expect = [
        "dataset `voice_daily`, field `name`: can't be kept beside dataset `voice`: both would have a KPI feed named `voice_daily_kpi`; rename one of them",
        "dataset `voice_daily_kpi`, field `name`: `voice_daily_kpi` is the name of one of the store's own tables or views (names ending in _kpi or _daily_kpi are the KPI feeds of other datasets); choose another",
    ];
    for e in expect {
        assert!(text.iter().any(|t| t == e), "missing `{e}` in {text:#?}");
    }
    assert_eq!(text.len(), 2, "{text:#?}");
}
