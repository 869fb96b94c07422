//! `$metadata`: the CSDL (EDMX 4.0) document, one EntityType with a key per entity set, in
//! one EntityContainer.

use std::fmt::Write as _;

use super::{EntitySet, NAMESPACE};

/// Escapes text for an XML attribute value (names are safe identifiers, but be strict).
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn entity_type(out: &mut String, set: &EntitySet) {
    let _ = writeln!(
        out,
        r#"      <EntityType Name="{}">"#,
        attribute(&set.type_name())
    );
    let _ = writeln!(
        out,
        r#"        <Key><PropertyRef Name="{}"/></Key>"#,
        attribute(&set.key)
    );
    for p in &set.properties {
        let _ = writeln!(
            out,
            r#"        <Property Name="{}" Type="{}" Nullable="{}"/>"#,
            attribute(&p.name),
            p.kind.name(),
            p.nullable
        );
    }
    out.push_str("      </EntityType>\n");
}

pub fn document(sets: &[EntitySet]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
  <edmx:DataServices>
"#,
    );
    let _ = writeln!(
        out,
        r#"    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{NAMESPACE}">"#
    );
    for set in sets {
        entity_type(&mut out, set);
    }
    out.push_str("      <EntityContainer Name=\"Container\">\n");
    for set in sets {
        let _ = writeln!(
            out,
            r#"        <EntitySet Name="{}" EntityType="{NAMESPACE}.{}"/>"#,
            attribute(&set.name),
            attribute(&set.type_name())
        );
    }
    out.push_str("      </EntityContainer>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    out
}
