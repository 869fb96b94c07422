//! The Power BI data source file (`.pbids`): JSON that Power BI Desktop opens as "Get data"
//! already filled in. Microsoft's format (Power BI Desktop, "Create a PBIDS connection file"):
//! `version` "0.1"; `connections`, exactly one; each with `details.protocol` (`odata` for an
//! OData feed) and `details.address.url`; `options`; and `mode` (`Import`, the only mode of the
//! OData connector). No credentials: Power BI asks for them on first read.

use serde_json::json;

use super::FeedTarget;

/// The `.pbids` of `target`, pretty-printed.
pub fn pbids(target: &FeedTarget) -> String {
    let file = json!({
        "version": "0.1",
        "connections": [{
            "details": {
                "protocol": "odata",
                "address": { "url": target.url() },
            },
            "options": {},
            "mode": "Import",
        }],
    });
    let mut text = serde_json::to_string_pretty(&file).expect("JSON values always serialize");
    text.push('\n');
    text
}
