//! The connection files (`/v1/connect/{name}/powerbi` and `/excel`) and the status page's
//! "Open in Power BI" / "Open in Excel" links, over HTTP, each file read by a real parser
//! (serde_json, roxmltree) and checked for the fields its format requires:
//! - `.pbids` (Microsoft, Power BI Desktop "Create a PBIDS connection file"): `version` "0.1",
//!   exactly one connection, `details.protocol` "odata", `details.address.url`, `mode`;
//! - `.odc` (Office Data Connection File Format, as Excel exports a Power Query connection):
//!   HTML with `<xml id=docprops>` (`o:DocumentProperties` with `o:Name`) and `<xml id=msodc>`
//!   (`odc:OfficeDataConnection` > `odc:PowerQueryConnection odc:Type="OLEDB"` with the
//!   `Microsoft.Mashup.OleDb.1` connection string, `odc:CommandType`, `odc:CommandText`, and
//!   `odc:PowerQueryMashupData` holding a `<Mashup>` whose query is `OData.Feed(url)`).

use base64::Engine as _;
use roxmltree::{Document, Node};
use serde_json::Value;

use crate::common::{DATASET, TestApp, assert_problem};

const ODC: &str = "urn:schemas-microsoft-com:office:odc";
const OFFICE: &str = "urn:schemas-microsoft-com:office:office";
const MASHUP: &str = "http://schemas.microsoft.com/DataMashup";

/// The one `.pbids` connection's URL, after checking the fields the format requires.
fn pbids_url(text: &str) -> String {
    let file: Value = serde_json::from_str(text).expect("a .pbids file is JSON");
    assert_eq!(file["version"], "0.1", "{file}");
    let connections = file["connections"].as_array().expect("connections");
    assert_eq!(connections.len(), 1, "one data source per file: {file}");
    let connection = &connections[0];
    assert_eq!(connection["details"]["protocol"], "odata", "{file}");
    assert_eq!(
        connection["mode"], "Import",
        "the OData connector only imports"
    );
    assert!(connection["options"].is_object(), "{file}");
    let url = connection["details"]["address"]["url"]
        .as_str()
        .expect("address.url");
    assert!(
        !text.to_ascii_lowercase().contains("password"),
        "no credentials in the file"
    );
    url.to_string()
}

fn child<'a, 'i>(node: Node<'a, 'i>, namespace: &str, name: &str) -> Node<'a, 'i> {
    node.children()
        .find(|n| n.tag_name().namespace() == Some(namespace) && n.tag_name().name() == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", node.tag_name()))
}

fn island<'a, 'i>(document: &'a Document<'i>, id: &str) -> Node<'a, 'i> {
    document
        .descendants()
        .find(|n| n.tag_name().name() == "xml" && n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no <xml id={id}> island"))
}

/// The `.odc` file's query name and the URL its `OData.Feed` reads, after checking the
/// fields the format requires.
fn odc_query_and_url(text: &str) -> (String, String) {
    let document = Document::parse(text).expect("the .odc is well-formed");
    let content_type = document
        .descendants()
        .find(|n| n.attribute("http-equiv") == Some("Content-Type"))
        .and_then(|n| n.attribute("content"))
        .expect("a Content-Type meta");
    assert!(content_type.starts_with("text/x-ms-odc"), "{content_type}");
    let properties = child(island(&document, "docprops"), OFFICE, "DocumentProperties");
    assert!(child(properties, OFFICE, "Name").text().is_some());

    let connection = child(island(&document, "msodc"), ODC, "OfficeDataConnection");
    let power_query = child(connection, ODC, "PowerQueryConnection");
    assert_eq!(power_query.attribute((ODC, "Type")), Some("OLEDB"));
    let connection_string = child(power_query, ODC, "ConnectionString").text().unwrap();
    let parts: Vec<(&str, &str)> = connection_string
        .split(';')
        .map(|part| part.split_once('=').expect("key=value"))
        .collect();
    let value = |key: &str| {
        parts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {key} in {connection_string}"))
    };
    assert_eq!(value("Provider"), "Microsoft.Mashup.OleDb.1");
    assert_eq!(value("Data Source"), "$Workbook$");
    let query = value("Location").to_string();
    assert_eq!(child(power_query, ODC, "CommandType").text(), Some("SQL"));
    assert_eq!(
        child(power_query, ODC, "CommandText").text(),
        Some(format!("SELECT * FROM [{query}]").as_str())
    );

    let mashup_text = child(connection, ODC, "PowerQueryMashupData")
        .text()
        .unwrap();
    let mashup = Document::parse(mashup_text).expect("the mashup is well-formed");
    let root = mashup.root_element();
    assert_eq!(root.tag_name().namespace(), Some(MASHUP));
    assert_eq!(root.tag_name().name(), "Mashup");
    let items = child(root, MASHUP, "Items");
    let queries: Vec<Node> = items.children().filter(Node::is_element).collect();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].attribute("Name"), Some(query.as_str()));
    let formula = child(queries[0], MASHUP, "Formula").text().unwrap();
    let (_, call) = formula
        .split_once("OData.Feed(\"")
        .unwrap_or_else(|| panic!("no OData.Feed in {formula}"));
    let (url, _) = call.split_once('"').expect("a closed text literal");
    (query, url.to_string())
}

fn file_name(response: &reqwest::Response) -> String {
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    disposition
        .strip_prefix("attachment; filename=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{disposition}"))
        .to_string()
}

async fn fetched(app: &TestApp, path: &str, content_type: &str) -> (String, String) {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let served_type = response.headers()["content-type"].to_str().unwrap();
    assert!(served_type.starts_with(content_type), "{served_type}");
    let name = file_name(&response);
    (name, response.text().await.unwrap())
}

#[tokio::test]
async fn the_power_bi_file_points_at_the_daily_kpi_feed_by_default() {
    let app = TestApp::spawn().await;
    let (name, text) = fetched(
        &app,
        &format!("/v1/connect/{DATASET}/powerbi"),
        "application/json",
    )
    .await;
    assert_eq!(name, format!("{DATASET}_daily_kpi.pbids"));
    assert_eq!(
        pbids_url(&text),
        app.url(&format!("/odata/{DATASET}_daily_kpi"))
    );
    for (feed, set) in [
        ("kpi", format!("{DATASET}_kpi")),
        ("rows", DATASET.to_string()),
        ("daily_kpi", format!("{DATASET}_daily_kpi")),
    ] {
        let path = format!("/v1/connect/{DATASET}/powerbi?feed={feed}");
        let (name, text) = fetched(&app, &path, "application/json").await;
        assert_eq!(name, format!("{set}.pbids"));
        assert_eq!(pbids_url(&text), app.url(&format!("/odata/{set}")));
    }
}

#[tokio::test]
async fn the_excel_file_is_a_power_query_connection_to_the_feed() {
    let app = TestApp::spawn().await;
    let (name, text) = fetched(
        &app,
        &format!("/v1/connect/{DATASET}/excel"),
        "text/x-ms-odc",
    )
    .await;
    assert_eq!(name, format!("{DATASET}_daily_kpi.odc"));
    let (query, url) = odc_query_and_url(&text);
    assert_eq!(query, format!("{DATASET}_daily_kpi"));
    assert_eq!(url, app.url(&format!("/odata/{DATASET}_daily_kpi")));
    assert!(!text.contains(&app.key), "no key in the file");

    let (_, rows) = fetched(
        &app,
        &format!("/v1/connect/{DATASET}/excel?feed=rows"),
        "text/x-ms-odc",
    )
    .await;
    assert_eq!(
        odc_query_and_url(&rows),
        (DATASET.to_string(), app.url(&format!("/odata/{DATASET}")))
    );
}

/// What Power BI and Excel do with the file: read the URL with Basic, any user name and the
/// API key as the password (the credentials they ask for), and get the feed's first page.
#[tokio::test]
async fn the_files_url_serves_the_feed_to_basic_with_the_key_as_password() {
    let app = TestApp::spawn().await;
    for feed in ["rows", "kpi", "daily_kpi"] {
        let (_, pbids) = fetched(
            &app,
            &format!("/v1/connect/{DATASET}/powerbi?feed={feed}"),
            "application/json",
        )
        .await;
        let (_, odc) = fetched(
            &app,
            &format!("/v1/connect/{DATASET}/excel?feed={feed}"),
            "text/x-ms-odc",
        )
        .await;
        for url in [pbids_url(&pbids), odc_query_and_url(&odc).1] {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("anyone:{}", app.key));
            let response = app
                .client
                .get(&url)
                .header("Authorization", format!("Basic {basic}"))
                .header("Prefer", "odata.maxpagesize=10")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{url}");
            let page: Value = response.json().await.unwrap();
            let served = page["value"].as_array().map_or(0, Vec::len);
            if feed == "daily_kpi" {
                assert!((1..=10).contains(&served), "{url}: {served} rows");
            } else {
                assert_eq!(served, 10, "{url}");
                assert!(page["@odata.nextLink"].is_string(), "{url}");
            }
        }
    }
}

#[tokio::test]
async fn the_files_follow_the_host_and_the_tls_a_proxy_reports() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url(&format!("/v1/connect/{DATASET}/powerbi")))
        .bearer_auth(&app.key)
        .header("Host", "bi.example.com")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        pbids_url(&response.text().await.unwrap()),
        format!("https://bi.example.com/odata/{DATASET}_daily_kpi")
    );
}

/// A server speaking HTTPS itself puts https in its files.
#[tokio::test]
async fn a_server_on_https_points_its_files_at_https() {
    let plain = TestApp::spawn().await;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = server::TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, certified.cert.pem()).unwrap();
    std::fs::write(&files.key, certified.signing_key.serialize_pem()).unwrap();
    let server = server::Server::build(server::ServerConfig {
        store: warehouse::StoreConfig::sqlite(&plain.store),
        listen: "127.0.0.1:0".parse().unwrap(),
    })
    .await
    .unwrap()
    .tls(&files)
    .unwrap();
    let port = server.port();
    tokio::spawn(server.run_until_stopped());
    // The certificate is beside the point here: only the scheme in the file is.
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let response = client
        .get(format!(
            "https://localhost:{port}/v1/connect/{DATASET}/excel"
        ))
        .bearer_auth(&plain.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, url) = odc_query_and_url(&response.text().await.unwrap());
    assert_eq!(
        url,
        format!("https://localhost:{port}/odata/{DATASET}_daily_kpi")
    );
}

#[tokio::test]
async fn bad_requests_are_problems_naming_the_fault() {
    let app = TestApp::spawn().await;
    for tool in ["powerbi", "excel"] {
        let unknown = assert_problem(app.get(&format!("/v1/connect/nope/{tool}")).await, 404).await;
        assert!(
            unknown["detail"].as_str().unwrap().contains("`nope`"),
            "{unknown}"
        );
        let bad_feed = assert_problem(
            app.get(&format!("/v1/connect/{DATASET}/{tool}?feed=hourly"))
                .await,
            400,
        )
        .await;
        assert_eq!(bad_feed["parameter"], "feed", "{bad_feed}");
        assert!(
            bad_feed["detail"].as_str().unwrap().contains("daily_kpi"),
            "{bad_feed}"
        );
        let extra = assert_problem(
            app.get(&format!("/v1/connect/{DATASET}/{tool}?dataset=x"))
                .await,
            400,
        )
        .await;
        assert_eq!(extra["parameter"], "dataset", "{extra}");
        let anonymous = app
            .client
            .get(app.url(&format!("/v1/connect/{DATASET}/{tool}")))
            .send()
            .await
            .unwrap();
        assert_problem(anonymous, 401).await;
    }
}

/// Every `href="/v1/connect/…"` of the page, with its `download` name.
fn connect_links(html: &str) -> Vec<(String, String)> {
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|rest| {
            let (href, tail) = rest.split_once('"')?;
            let download = tail.strip_prefix(" download=\"")?.split_once('"')?.0;
            href.starts_with("/v1/connect/")
                .then(|| (href.to_string(), download.to_string()))
        })
        .collect()
}

#[tokio::test]
async fn the_status_page_links_each_datasets_power_bi_and_excel_files() {
    let app = TestApp::spawn().await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains(">Open in Power BI</a>") && html.contains(">Open in Excel</a>"));
    let datasets = app.get_json("/v1/datasets").await;
    let names: Vec<&str> = datasets["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["feed_of"].is_null())
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    let links = connect_links(&html);
    assert_eq!(links.len(), 2 * names.len(), "{links:?}");
    for name in names {
        let set = format!("{name}_daily_kpi");
        let expected = app.url(&format!("/odata/{set}"));
        let power_bi = format!("/v1/connect/{name}/powerbi");
        let excel = format!("/v1/connect/{name}/excel");
        for (href, download) in &links {
            if *href == power_bi {
                assert_eq!(*download, format!("{set}.pbids"));
                let (served, text) = fetched(&app, href, "application/json").await;
                assert_eq!(served, *download);
                assert_eq!(pbids_url(&text), expected);
            } else if *href == excel {
                assert_eq!(*download, format!("{set}.odc"));
                let (served, text) = fetched(&app, href, "text/x-ms-odc").await;
                assert_eq!(served, *download);
                assert_eq!(odc_query_and_url(&text), (set.clone(), expected.clone()));
            }
        }
        assert!(links.iter().any(|(h, _)| *h == power_bi), "{power_bi}");
        assert!(links.iter().any(|(h, _)| *h == excel), "{excel}");
    }
}
