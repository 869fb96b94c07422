//! The Genesys Cloud regions (genesys-api.md §1.1): each maps to one domain, whose `api.` host
//! serves the platform API and whose `login.` host issues tokens.

use std::fmt;
use std::str::FromStr;

/// One Genesys Cloud region, known by its AWS-style name (`eu-west-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    name: &'static str,
    domain: &'static str,
}

/// Every region the official SDKs know, as (AWS-style name, domain).
const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "mypurecloud.com"),
    ("eu-west-1", "mypurecloud.ie"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("eu-central-1", "mypurecloud.de"),
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("us-east-2", "use2.us-gov-pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("eusc-de-east-1", "edee1.eusc-pure.cloud"),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Genesys region `{0}`: use a region name such as us-east-1 or eu-west-1, its domain \
     such as mypurecloud.ie, or set api_base and login_base explicitly"
)]
pub struct UnknownRegion(pub String);

impl Region {
    /// The SDKs' default region.
    pub const US_EAST_1: Region = Region {
        name: "us-east-1",
        domain: "mypurecloud.com",
    };

    pub fn all() -> impl Iterator<Item = Region> {
        REGIONS
            .iter()
            .map(|&(name, domain)| Region { name, domain })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn domain(&self) -> &'static str {
        self.domain
    }

    pub fn api_base(&self) -> String {
        format!("https://api.{}", self.domain)
    }

    pub fn login_base(&self) -> String {
        format!("https://login.{}", self.domain)
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::US_EAST_1
    }
}

/// Strips what people paste around a domain: a scheme, an `api.`/`login.` host prefix, a slash.
fn bare_domain(raw: &str) -> &str {
    let s = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .unwrap_or(raw);
    let s = s.trim_end_matches('/');
    s.strip_prefix("api.")
        .or_else(|| s.strip_prefix("login."))
        .unwrap_or(s)
}

impl FromStr for Region {
    type Err = UnknownRegion;

    /// Accepts `eu-west-1`, the SDK enum style `eu_west_1`, and the domain `mypurecloud.ie`.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let wanted = raw.trim().to_ascii_lowercase();
        let as_name = wanted.replace('_', "-");
        let as_domain = bare_domain(&wanted);
        Region::all()
            .find(|r| r.name == as_name || r.domain == as_domain)
            .ok_or_else(|| UnknownRegion(raw.to_string()))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_all_eighteen_regions_once() {
        let names: std::collections::BTreeSet<_> = Region::all().map(|r| r.name()).collect();
        let domains: std::collections::BTreeSet<_> = Region::all().map(|r| r.domain()).collect();
        assert_eq!(names.len(), 18);
        assert_eq!(domains.len(), 18);
    }

    #[test]
    fn every_region_parses_by_name_enum_style_and_domain() {
        for region in Region::all() {
            assert_eq!(region.name().parse::<Region>(), Ok(region));
            assert_eq!(
                region
                    .name()
                    .replace('-', "_")
                    .to_uppercase()
                    .parse::<Region>(),
                Ok(region)
            );
            assert_eq!(region.domain().parse::<Region>(), Ok(region));
            assert_eq!(region.api_base().parse::<Region>(), Ok(region));
        }
    }

    #[test]
    fn hosts_follow_the_domain() {
        let ie: Region = "eu_west_1".parse().unwrap();
        assert_eq!(ie.api_base(), "https://api.mypurecloud.ie");
        assert_eq!(ie.login_base(), "https://login.mypurecloud.ie");
        let fedramp: Region = "use2.us-gov-pure.cloud".parse().unwrap();
        assert_eq!(fedramp.name(), "us-east-2");
    }

    #[test]
    fn unknown_region_is_a_clear_error() {
        let err = "mars-north-1".parse::<Region>().unwrap_err();
        assert!(err.to_string().contains("mars-north-1"));
        assert!(err.to_string().contains("api_base"));
    }
}
