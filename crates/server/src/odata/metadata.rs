//! `$metadata`: the CSDL (EDMX 4.0) document, one EntityType with a key per entity set, each
//! property described (`Core.Description`), the fact sets' navigation properties to the
//! directories with their referential constraints, in one EntityContainer.

use std::fmt::Write as _;

use super::{EntitySet, NAMESPACE};

/// The OASIS Core vocabulary, which `Core.Description` comes from.
const CORE_VOCABULARY: &str =
    "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml";

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
        let head = format!(
            r#"<Property Name="{}" Type="{}" Nullable="{}""#,
            attribute(&p.name),
            p.kind.name(),
            p.nullable
        );
        match &p.description {
            None => {
                let _ = writeln!(out, "        {head}/>");
            }
            Some(text) => {
                let _ = writeln!(
                    out,
                    r#"        {head}><Annotation Term="Core.Description" String="{}"/></Property>"#,
                    attribute(text)
                );
            }
        }
    }
    for n in &set.navigation {
        let _ = writeln!(
            out,
            r#"        <NavigationProperty Name="{}" Type="{NAMESPACE}.{}" Nullable="true"><ReferentialConstraint Property="{}" ReferencedProperty="id"/></NavigationProperty>"#,
            attribute(n.name),
            attribute(n.target),
            attribute(&n.property)
        );
    }
    out.push_str("      </EntityType>\n");
}

pub fn document(sets: &[EntitySet]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
"#,
    );
    let _ = writeln!(
        out,
        r#"  <edmx:Reference Uri="{CORE_VOCABULARY}"><edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/></edmx:Reference>"#
    );
    out.push_str("  <edmx:DataServices>\n");
    let _ = writeln!(
        out,
        r#"    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{NAMESPACE}">"#
    );
    for set in sets {
        entity_type(&mut out, set);
    }
    out.push_str("      <EntityContainer Name=\"Container\">\n");
    for set in sets {
        let head = format!(
            r#"<EntitySet Name="{}" EntityType="{NAMESPACE}.{}""#,
            attribute(&set.name),
            attribute(&set.type_name())
        );
        if set.navigation.is_empty() {
            let _ = writeln!(out, "        {head}/>");
            continue;
        }
        let _ = write!(out, "        {head}>");
        for n in &set.navigation {
            let _ = write!(
                out,
                r#"<NavigationPropertyBinding Path="{}" Target="{}"/>"#,
                attribute(n.name),
                attribute(n.target)
            );
        }
        out.push_str("</EntitySet>\n");
    }
    out.push_str("      </EntityContainer>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>\n");
    out
}
