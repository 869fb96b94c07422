//! The Office Data Connection file (`.odc`) Excel opens as a Power Query connection to the
//! feed. Its shape is Excel's own "Export Connection File" of a Power Query query (the Office
//! Data Connection File Format, MS-ODCFF): an HTML page whose `<xml id=docprops>` island holds
//! the document properties and whose `<xml id=msodc>` island holds an
//! `odc:OfficeDataConnection` with an `odc:PowerQueryConnection odc:Type="OLEDB"` (provider
//! `Microsoft.Mashup.OleDb.1`, the query as `Location`) and, in `odc:PowerQueryMashupData`,
//! the escaped `<Mashup>` document whose query formula is `OData.Feed(url)`. Excel's own
//! OData connector is Power Query's: the legacy data-feed provider speaks OData v1 to v3 only.
//!
//! The file is written as well-formed XML (quoted attributes, closed empty elements), which is
//! also valid for Excel's HTML reader, so a strict XML parser can check it.

use super::{FeedTarget, xml_escape};

const ODC_NAMESPACE: &str = "urn:schemas-microsoft-com:office:odc";
const OFFICE_NAMESPACE: &str = "urn:schemas-microsoft-com:office:office";
const MASHUP_NAMESPACE: &str = "http://schemas.microsoft.com/DataMashup";

/// An M text literal: in double quotes, a quote doubled.
fn m_text(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The Power Query formula: the entity set's rows, through the OData v4 connector.
pub fn formula(target: &FeedTarget) -> String {
    format!(
        "let\n    Source = OData.Feed({}, null, [Implementation=\"2.0\"])\nin\n    Source",
        m_text(&target.url())
    )
}

/// The `<Mashup>` document holding the one query, named after the entity set.
fn mashup(target: &FeedTarget) -> String {
    format!(
        "<Mashup xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns=\"{MASHUP_NAMESPACE}\">\
         <Client>EXCEL</Client><Version>2.21.0.0</Version><MinVersion>2.21.0.0</MinVersion>\
         <Culture>en-US</Culture><SafeCombine>true</SafeCombine><Items>\
         <Query Name=\"{name}\"><Formula>{formula}</Formula>\
         <IsParameterQuery xsi:nil=\"true\" /><IsDirectQuery xsi:nil=\"true\" /></Query>\
         </Items></Mashup>",
        name = xml_escape(&target.entity_set()),
        formula = xml_escape(&formula(target)),
    )
}

/// The `CommandText` of the connection (`CommandType` SQL), verbatim as Excel's "Export
/// Connection File" writes it for a Power Query query. Not a query of the store: Excel runs it
/// against its own Mashup provider, which answers with the rows of the workbook query
/// `query`, whose formula reads the OData feed; the store is only ever read by the server.
fn mashup_command(query: &str) -> String {
    format!("SELECT * FROM [{query}]")
}

/// The `.odc` of `target`.
pub fn odc(target: &FeedTarget) -> String {
    let query = target.entity_set();
    let title = xml_escape(&format!("genesys-bi {query}"));
    let description = xml_escape(&format!(
        "The OData feed {} of genesys-bi (sign in with Basic: any user name, the API key as the password).",
        target.url()
    ));
    let connection_string = xml_escape(&format!(
        "Provider=Microsoft.Mashup.OleDb.1;Data Source=$Workbook$;Location={query};Extended Properties=\"\""
    ));
    let command_text = xml_escape(&mashup_command(&query));
    let mashup = xml_escape(&mashup(target));
    format!(
        r#"<html xmlns:o="{OFFICE_NAMESPACE}" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/x-ms-odc; charset=utf-8" />
<meta name="ProgId" content="ODC.Database" />
<meta name="SourceType" content="OLEDB" />
<title>{title}</title>
<xml id="docprops"><o:DocumentProperties xmlns:o="{OFFICE_NAMESPACE}" xmlns="http://www.w3.org/TR/REC-html40">
  <o:Description>{description}</o:Description>
  <o:Name>{title}</o:Name>
</o:DocumentProperties>
</xml><xml id="msodc"><odc:OfficeDataConnection xmlns:odc="{ODC_NAMESPACE}" xmlns="http://www.w3.org/TR/REC-html40">
  <odc:PowerQueryConnection odc:Type="OLEDB">
    <odc:ConnectionString>{connection_string}</odc:ConnectionString>
    <odc:CommandType>SQL</odc:CommandType>
    <odc:CommandText>{command_text}</odc:CommandText>
  </odc:PowerQueryConnection>
  <odc:PowerQueryMashupData>{mashup}</odc:PowerQueryMashupData>
</odc:OfficeDataConnection>
</xml>
</head>
<body>
<p>{description}</p>
<p>Open this file with Excel for Windows (double-click it, or Data &gt; Existing Connections &gt; Browse for More).</p>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::Feed;

    #[test]
    fn quotes_in_a_url_are_doubled_in_the_formula() {
        assert_eq!(m_text(r#"a"b"#), r#""a""b""#);
        let target = FeedTarget {
            origin: "http://h:1".into(),
            dataset: "q".into(),
            feed: Feed::Rows,
        };
        assert!(formula(&target).contains(r#"OData.Feed("http://h:1/odata/q", null"#));
    }
}
