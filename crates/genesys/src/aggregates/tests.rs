use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::catalog;

/// The page decoder with the fast reader alone on `text`, or `None` where it declines.
fn fast_page(text: &str) -> Option<AsyncAggregateQueryResponse> {
    let (results, end) = decoder::whole_page(text.as_bytes(), PageDecoder::fast_only()).ok()?;
    Some(AsyncAggregateQueryResponse {
        results,
        cursor: end.cursor().ok()?,
    })
}

/// The fast reader must decline or give exactly what serde gives; returns whether it read.
fn agrees_with_serde(text: &str) -> bool {
    let serde = serde_json::from_str::<AsyncAggregateQueryResponse>(text);
    let Some(fast) = fast_page(text) else {
        // Declining is always allowed; `from_json` then answers what serde answers.
        let from_json = AsyncAggregateQueryResponse::from_json(text.as_bytes());
        assert_eq!(
            from_json.as_ref().map_err(ToString::to_string),
            serde.as_ref().map_err(ToString::to_string),
            "{text}"
        );
        return false;
    };
    let serde = serde.unwrap_or_else(|e| panic!("fast read a page serde rejects ({e}): {text}"));
    assert_eq!(fast, serde, "{text}");
    // PartialEq says 0.0 == -0.0; the bits must match too.
    assert_eq!(
        serde_json::to_string(&fast).unwrap(),
        serde_json::to_string(&serde).unwrap()
    );
    let sync = AggregateQueryResponse::from_json(text.as_bytes()).unwrap();
    assert_eq!(sync.results, fast.results);
    true
}

const PAGE: &str = r#"{"results":[{"group":{"queueId":"q1","mediaType":"voice"},"data":[
    {"interval":"2024-05-01T00:00:00.000Z/2024-05-01T00:15:00.000Z","metrics":[
        {"metric":"nOffered","stats":{"count":3}},
        {"metric":"tHandle","stats":{"max":245476.0,"min":5211,"count":2,"sum":250687.0}},
        {"metric":"oServiceLevel","stats":{"ratio":0.47583643122676583,"numerator":1.0,"denominator":2.0,"target":0.8}},
        {"metric":"tAgentRoutingStatus","qualifier":"ON_QUEUE","stats":{"sum":1800000}}],
     "views":[{"name":"short","stats":{"count":1}}]},
    {"interval":"2024-05-01T00:15:00.000Z/2024-05-01T00:30:00.000Z","metrics":[]}]}],
  "cursor":"abc"}"#;

#[test]
fn the_fast_reader_reads_a_usual_page_as_serde_does() {
    assert!(agrees_with_serde(PAGE));
    let page = fast_page(PAGE).unwrap();
    let row = &page.results[0].data[0];
    assert_eq!(row.metrics[1].stats.max, Some(245_476.0));
    assert_eq!(row.metrics[2].stats.ratio, Some(0.475_836_431_226_765_83));
    assert_eq!(row.metrics[3].qualifier.as_deref(), Some("ON_QUEUE"));
    assert_eq!(row.views[0].stats.count, Some(1));
    assert_eq!(page.cursor.as_deref(), Some("abc"));
}

#[test]
fn unknown_metrics_and_stats_keys_pass_through() {
    let page = r#"{"results":[{"group":{"queueId":"q1","newDimension":"x"},"data":[{
        "interval":"2024-05-01T00:00:00.000Z/2024-05-01T00:15:00.000Z",
        "metrics":[{"metric":"tFutureMetric","stats":{"max":5,"min":1,"count":2,"sum":6,"p50":3}},
                   {"metric":"oServiceLevel","stats":{"ratio":0.5,"numerator":1,"denominator":2,"target":0.8}}],
        "someNewField":true}]}],"anotherNewField":1}"#;
    assert!(agrees_with_serde(page));
    let parsed = AggregateQueryResponse::from_json(page.as_bytes()).unwrap();
    let data = &parsed.results[0].data[0];
    assert_eq!(parsed.results[0].group["newDimension"], "x");
    assert_eq!(data.metrics[0].metric, "tFutureMetric");
    let stats = &data.metrics[0].stats;
    assert_eq!((stats.count, stats.sum), (Some(2), Some(6.0)));
    assert_eq!(stats.other, vec![("p50".to_string(), json!(3))]);
    assert_eq!(data.metrics[1].stats.ratio, Some(0.5));
}

#[test]
fn unknown_stats_keys_and_metrics_survive_a_round_trip() {
    let wire = json!({"results": [{"group": {"queueId": "q1"}, "data": [{
    "interval": "2024-05-01T00:00:00.000Z/2024-05-01T00:15:00.000Z",
    "metrics": [
        {"metric": "tFutureMetric", "stats": {"count": 2, "sum": 6.0, "p95": 12.5, "p50": 3,
                                              "histogram": {"buckets": [1, 2, null]}}},
        {"metric": "nOffered", "stats": {"count": 4, "countNegative": 0}}
    ]}]}]});
    let text = wire.to_string();
    assert!(agrees_with_serde(&text));
    for parsed in [
        AggregateQueryResponse::from_json(text.as_bytes()).unwrap(),
        serde_json::from_str(&text).unwrap(),
    ] {
        let stats = &parsed.results[0].data[0].metrics[0].stats;
        assert_eq!(parsed.results[0].data[0].metrics[0].metric, "tFutureMetric");
        // p95 is documented as an integer; a fractional one is kept as sent, not failed on.
        assert_eq!(stats.p95, None);
        // In the order of the text (`json!` sorts keys).
        assert_eq!(
            stats.other,
            vec![
                ("histogram".to_string(), json!({"buckets": [1, 2, null]})),
                ("p50".to_string(), json!(3)),
                ("p95".to_string(), json!(12.5)),
            ]
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), wire);
    }
}

#[test]
fn integer_stats_take_whole_numbers_in_any_form() {
    let page = r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"nOffered",
        "stats":{"count":3.0,"p95":18446744073709551615,"p99":-2,"countPositive":1e3}}]}]}]}"#;
    assert!(agrees_with_serde(page));
    let parsed = AggregateQueryResponse::from_json(page.as_bytes()).unwrap();
    let stats = &parsed.results[0].data[0].metrics[0].stats;
    assert_eq!(
        (stats.count, stats.p99, stats.count_positive),
        (Some(3), Some(-2), Some(1000))
    );
    assert_eq!(stats.p95, None);
    assert_eq!(
        stats.other,
        vec![("p95".into(), json!(18_446_744_073_709_551_615u64))]
    );
}

#[test]
fn the_fast_reader_handles_whitespace_escapes_and_unusual_numbers() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(PAGE).unwrap())
            .unwrap();
    for text in [
        pretty.as_str(),
        "{}",
        r#"{"results":[]}"#,
        r#"{"results":[],"cursor":null}"#,
        r#" { "results" : [ { } ] } "#,
        r#"{"results":[{"group":{"q":"a\"b\\c\u00e9\ud83d\ude00 é"},"data":[{"interval":"i\/j"}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"n\u004fffered","stats":{}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":
            {"max":-0,"min":-1.5,"sum":1e-7,"current":1.5E+300,"ratio":0.1000000000000000055511151231257827,
             "target":12345678901234567890123,"numerator":0.30000000000000004,"denominator":null}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":
            {"count":9223372036854775807,"p95":9223372036854775808,"sum":9230000000000000000}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","qualifier":null,"stats":{"count":0}}]}]}],
            "extra":{"deep":[[[{"a":[true,false,null,-1.5e3,"s"]}]]]}}"#,
    ] {
        assert!(agrees_with_serde(text), "the fast reader declined: {text}");
    }
}

#[test]
fn a_page_cut_short_is_an_error_and_yields_only_whole_groups() {
    let mut decoder = PageDecoder::new();
    let cut = PAGE.find("\"cursor\"").unwrap();
    decoder.push(&PAGE.as_bytes()[..cut - 10]);
    assert_eq!(
        decoder.next_group().unwrap(),
        None,
        "the only group is not whole yet"
    );
    assert!(decoder.finish().is_err());
    let mut decoder = PageDecoder::new();
    decoder.push(&PAGE.as_bytes()[..cut]);
    assert!(decoder.next_group().unwrap().is_some());
    assert_eq!(decoder.next_group().unwrap(), None);
    assert!(decoder.finish().is_err(), "no closing brace");
}

#[test]
fn the_fast_reader_leaves_every_doubtful_page_to_serde() {
    for text in [
        "",
        "[]",
        r#"{"results":[],}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":{"count":01}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":{"count":1.}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":{"count":.5}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":{"count":"3"}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":{"count":1,"count":2}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","metric":"y","stats":{}}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x"}]}]}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"stats":{}}]}]}]}"#,
        r#"{"results":[{"data":[{"metrics":[]}]}]}"#,
        r#"{"results":[{"group":null}]}"#,
        r#"{"results":[{"group":{"q":5}}]}"#,
        r#"{"results":[{"data":[{"interval":5}]}]}"#,
        r#"{"results":null}"#,
        r#"{"results":[],"results":[]}"#,
        r#"{"results":[]} x"#,
        "{\"results\":[{\"group\":{\"q\":\"a\tb\"}}]}",
        r#"{"results":[{"group":{"q":"unterminated}}]}"#,
        r#"{"results":[{"gr\u006fup":{"q":"a"}}]}"#,
        r#"{"results":[{"data":[{"interval":"i","metrics":[{"metric":"x","stats":{"max":1e400}}]}]}]}"#,
    ] {
        assert!(!agrees_with_serde(text), "the fast reader read: {text}");
    }
}

fn value_text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, controls, non-ASCII: serde_json escapes what it must.
    "[a-zA-Z0-9 _:./\"\\\\\t\n\u{e9}\u{1F600}-]{0,12}"
}

fn real() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..2_000_000).prop_map(f64::from),
        (0u64..10_000_000_000).prop_map(|v| v as f64 / 1000.0),
        // Any magnitude serde_json reads back (it rejects some it writes near f64::MAX).
        any::<f64>().prop_filter("within serde_json's range", |v| {
            *v == 0.0 || (1e-300..1e300).contains(&v.abs())
        }),
    ]
}

fn summary() -> impl Strategy<Value = StatisticalSummary> {
    let reals = proptest::collection::vec(proptest::option::of(real()), 8);
    let integers = proptest::collection::vec(proptest::option::of(any::<i64>()), 6);
    let other = proptest::collection::vec(
        (
            "x[a-zA-Z0-9]{0,6}",
            prop_oneof![
                real().prop_map(|v| json!(v)),
                any::<i64>().prop_map(|v| json!(v)),
                value_text().prop_map(|v| json!(v)),
                Just(json!(null)),
                Just(json!([1, {"a": true}])),
            ],
        ),
        0..2,
    );
    (reals, integers, other).prop_map(|(r, i, other)| {
        let mut other: Vec<(String, serde_json::Value)> = other;
        other.dedup_by(|a, b| a.0 == b.0);
        StatisticalSummary {
            max: r[0],
            min: r[1],
            sum: r[2],
            current: r[3],
            ratio: r[4],
            numerator: r[5],
            denominator: r[6],
            target: r[7],
            count: i[0],
            count_negative: i[1],
            count_positive: i[2],
            p95: i[3],
            p99: i[4],
            calculated_metric_value: i[5],
            other,
        }
    })
}

fn response() -> impl Strategy<Value = AsyncAggregateQueryResponse> {
    let metric = (
        prop_oneof![
            proptest::sample::select(catalog::METRICS).prop_map(MetricName::from),
            "[a-zA-Z]{1,12}".prop_map(MetricName::from),
        ],
        proptest::option::of(value_text()),
        summary(),
    )
        .prop_map(|(metric, qualifier, stats)| AggregateMetricData {
            metric,
            qualifier,
            stats,
        });
    let view =
        (value_text(), summary()).prop_map(|(name, stats)| AggregateViewData { name, stats });
    let row = (
        value_text(),
        proptest::collection::vec(metric, 0..4),
        proptest::collection::vec(view, 0..2),
    )
        .prop_map(|(interval, metrics, views)| StatisticalResponse {
            interval,
            metrics,
            views,
        });
    let container = (
        proptest::collection::btree_map("[a-zA-Z]{1,8}", value_text(), 0..3),
        proptest::collection::vec(row, 0..3),
    )
        .prop_map(|(group, data)| AggregateDataContainer { group, data });
    (
        proptest::collection::vec(container, 0..3),
        proptest::option::of(value_text()),
    )
        .prop_map(|(results, cursor)| AsyncAggregateQueryResponse { results, cursor })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_pages_read_the_same_both_ways(page in response(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&page).unwrap()
        } else {
            serde_json::to_string(&page).unwrap()
        };
        prop_assert!(agrees_with_serde(&text), "the fast reader declined: {}", text);
    }

    #[test]
    fn a_page_pushed_in_pieces_reads_as_the_whole_body(
        page in response(),
        pretty in any::<bool>(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let text = if pretty {
            serde_json::to_string_pretty(&page).unwrap()
        } else {
            serde_json::to_string(&page).unwrap()
        };
        let bytes = text.as_bytes();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let (mut decoder, mut groups, mut from) = (PageDecoder::new(), Vec::new(), 0);
        for to in cuts {
            decoder.push(&bytes[from..to]);
            from = to;
            while let Some(group) = decoder.next_group().unwrap() {
                groups.push(group);
            }
        }
        let cursor = decoder.finish().unwrap().cursor().unwrap();
        // What serde reads from the text (its floats need not round-trip to `page`'s).
        let whole: AsyncAggregateQueryResponse = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(groups, whole.results);
        prop_assert_eq!(cursor, whole.cursor);
    }

    #[test]
    fn damaged_pages_are_read_the_same_or_left_to_serde(
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), proptest::sample::select(&b"{}[]:,\"\\ 0-.eEn1tx"[..]), 0u8..3),
            1..4,
        ),
    ) {
        let mut bytes = PAGE.as_bytes().to_vec();
        for (at, byte, how) in edits {
            let at = at.index(bytes.len());
            match how {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            agrees_with_serde(text);
        }
    }

    #[test]
    fn plain_numbers_match_serde_json(digits in "[1-9][0-9]{0,18}", point in 0usize..20) {
        let text = if point > 0 && point < digits.len() {
            format!("{}.{}", &digits[..point], &digits[point..])
        } else if point >= digits.len() {
            format!("0.{digits}")
        } else {
            digits.clone()
        };
        let page = format!(
            r#"{{"results":[{{"data":[{{"interval":"i","metrics":[{{"metric":"x","stats":{{"sum":{text}}}}}]}}]}}]}}"#
        );
        let fast = fast_page(&page).and_then(|p| p.results[0].data[0].metrics[0].stats.sum);
        let serde: f64 = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(fast.map(f64::to_bits), Some(serde.to_bits()), "{}", text);
    }
}

/// `shared/fixtures/genesys-recorded` beside the repository (the first ancestor that has it).
fn recorded_fixtures() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/fixtures/genesys-recorded"))
        .find(|dir| dir.is_dir())
        .expect("shared/fixtures/genesys-recorded beside the repository")
}

#[test]
fn recorded_genesys_bodies_read_in_pieces_as_serde_reads_them_whole() {
    let mut read = 0;
    for entry in std::fs::read_dir(recorded_fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.starts_with("aggregates-") || name.starts_with("users-aggregates-")) {
            continue;
        }
        let mut body = std::fs::read(&path).unwrap();
        if body.trim_ascii_start().starts_with(b"[") {
            // Only the `results` list was published (SOURCES.md): put it back in its page.
            body = [&b"{\"results\": "[..], &body, b"}"].concat();
        }
        let whole: AggregateQueryResponse = serde_json::from_slice(&body).unwrap();
        for piece in [1, 13, 4096, body.len()] {
            let mut decoder = PageDecoder::new();
            let mut groups = Vec::new();
            for chunk in body.chunks(piece) {
                decoder.push(chunk);
                while let Some(group) = decoder.next_group().unwrap() {
                    groups.push(group);
                }
            }
            decoder.finish().unwrap();
            assert_eq!(groups, whole.results, "{name} in pieces of {piece} bytes");
        }
        assert_eq!(AggregateQueryResponse::from_json(&body).unwrap(), whole);
        read += 1;
    }
    assert!(read >= 6, "only {read} recorded aggregates bodies");
}
