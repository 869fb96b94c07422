//! What `genesys-bi connect` prints for each tool: its connection file (the server's own
//! `.pbids` and `.odc`, or a Grafana provisioning file) and the exact steps in the tool.

use server::connect::{Feed, FeedTarget, odc, pbids};

use crate::cli::Tool;

/// A file to save, and its suggested name.
pub struct ConnectionFile {
    pub name: String,
    pub contents: String,
}

pub struct Guide {
    pub file: Option<ConnectionFile>,
    pub steps: String,
}

pub fn guide(tool: Tool, target: &FeedTarget) -> Guide {
    match tool {
        Tool::Powerbi => Guide {
            file: Some(ConnectionFile {
                name: target.file_name("pbids"),
                contents: pbids(target),
            }),
            steps: power_bi_steps(target),
        },
        Tool::Excel => Guide {
            file: Some(ConnectionFile {
                name: target.file_name("odc"),
                contents: odc(target),
            }),
            steps: excel_steps(target),
        },
        Tool::Tableau => Guide {
            file: None,
            steps: tableau_steps(target),
        },
        Tool::Grafana => Guide {
            file: Some(ConnectionFile {
                name: "genesys-bi.yaml".into(),
                contents: grafana_provisioning(target),
            }),
            steps: grafana_steps(target),
        },
    }
}

/// What the feed holds, for the first line of the steps.
fn feed_line(target: &FeedTarget) -> String {
    let what = match target.feed {
        Feed::DailyKpi => "KPIs per local day: offered, answered, AHT, service level…, with names",
        Feed::Kpi => "KPIs per stored bucket (e.g. quarter hour), with names",
        Feed::Rows => "the stored rows: sums and counts per bucket",
    };
    format!(
        "Feed {} ({what}):\n  {}\n",
        target.entity_set(),
        target.url()
    )
}

const CREDENTIALS: &str = "Basic; user name: anything (e.g. bi); password: an API key \
     (`genesys-bi keys create --name <tool>`)";

fn power_bi_steps(target: &FeedTarget) -> String {
    let file = target.file_name("pbids");
    let root = target.service_root();
    format!(
        "Power BI Desktop (Windows). {feed}
1. Double-click {file} (Power BI Desktop opens with the OData feed filled in),
   or in Power BI Desktop: Home > Get data > OData feed, URL: {url}
2. When asked for credentials choose {CREDENTIALS}.
   Apply them to the level {root}, so every feed of this server uses them.
3. In the preview choose Load (Transform Data to keep fewer columns).
4. Build the report from this one table: no formulas, no joins. The averages and rates are per
   row: set their summarization to \"Don't summarize\" (or Average only within one queue and
   day); never Sum them.
5. Home > Refresh reads new data. In the Power BI service, scheduled refresh needs the server
   reachable over HTTPS from Microsoft's cloud, or an on-premises data gateway.
",
        feed = feed_line(target),
        url = target.url(),
    )
}

fn excel_steps(target: &FeedTarget) -> String {
    let file = target.file_name("odc");
    let root = target.service_root();
    format!(
        "Excel for Windows (Microsoft 365, 2016 or later). {feed}
1. Double-click {file} (or Data > Existing Connections > Browse for More… and pick it),
   or without the file: Data > Get Data > From Other Sources > From OData Feed, URL: {url}
2. When asked for credentials choose {CREDENTIALS}.
   Apply them to the level {root}.
3. Import as a Table or a PivotTable Report.
4. Data > Refresh All reads new data.
",
        feed = feed_line(target),
        url = target.url(),
    )
}

fn tableau_steps(target: &FeedTarget) -> String {
    format!(
        "Tableau Desktop. {feed}
1. Connect > To a Server > More… > OData.
2. Server: {url}
3. Authentication: Username and Password; Username: anything (e.g. bi); Password: an API key
   (`genesys-bi keys create --name tableau`). Sign In.
4. Tableau reads OData into an extract: Update Now, then build the sheet. Refresh the
   extract (or schedule it on Tableau Server or Cloud) to read new data.
",
        feed = feed_line(target),
        url = target.url(),
    )
}

/// The OData filter on Grafana's time range for the feed's time column.
fn grafana_range_filter(feed: Feed) -> &'static str {
    match feed {
        Feed::DailyKpi => "date ge ${__from:date:YYYY-MM-DD} and date lt ${__to:date:YYYY-MM-DD}",
        Feed::Kpi | Feed::Rows => {
            "interval_start ge ${__from:date:iso} and interval_start lt ${__to:date:iso}"
        }
    }
}

/// A data source provisioning file for the Infinity plugin: the key comes from Grafana's
/// environment, never from the file.
pub fn grafana_provisioning(target: &FeedTarget) -> String {
    format!(
        "# Grafana data source for genesys-bi, Infinity plugin (yesoreyeram-infinity-datasource).
# Save it in Grafana's provisioning/datasources/ folder and set GENESYS_BI_API_KEY in
# Grafana's environment (`genesys-bi keys create --name grafana`); Grafana expands it.
apiVersion: 1
datasources:
  - name: genesys-bi
    uid: genesys-bi
    type: yesoreyeram-infinity-datasource
    jsonData:
      auth_method: bearerToken
      allowedHosts:
        - {origin}
    secureJsonData:
      bearerToken: ${{GENESYS_BI_API_KEY}}
",
        origin = yaml_text(&target.origin),
    )
}

/// A YAML double-quoted scalar.
fn yaml_text(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn grafana_steps(target: &FeedTarget) -> String {
    let time_column = match target.feed {
        Feed::DailyKpi => "date",
        Feed::Kpi | Feed::Rows => "interval_start",
    };
    format!(
        "Grafana with the Infinity data source plugin. {feed}
1. Install the plugin: grafana-cli plugins install yesoreyeram-infinity-datasource
   (or Administration > Plugins), then restart Grafana.
2. Save the file above as <grafana>/provisioning/datasources/genesys-bi.yaml, give Grafana's
   process GENESYS_BI_API_KEY=<an API key>, and restart Grafana. Or by hand: Connections >
   Data sources > Add > Infinity; Authentication: Bearer token, the key; Allowed hosts:
   {origin}
3. In a panel, data source genesys-bi: Type JSON, Parser Backend, Source URL, Method GET,
   URL: {url}
   URL options > Query parameters: $filter = {filter}
   and $orderby = {time_column}; Parsing options > Rows/Root: value;
   Columns: {time_column} as Time, then the names and figures you chart.
4. One request returns at most 5000 rows (the feed's page): keep the dashboard's range
   within that, or $select fewer columns and $filter on a queue.
",
        feed = feed_line(target),
        origin = target.origin,
        url = target.url(),
        filter = grafana_range_filter(target.feed),
    )
}
