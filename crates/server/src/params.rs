//! Query-string parsing shared by the data endpoints: unknown parameters are refused (a typo
//! must not silently widen a query), repeated ones are kept in order.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::problem::Problem;

pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, Problem> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if let Some((unknown, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(Problem::bad_parameter(
                unknown,
                format!("unknown parameter (accepted: {})", allowed.join(", ")),
            ));
        }
        Ok(Self { pairs })
    }

    /// The one value of `name`; given twice is an error.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Problem> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(Problem::bad_parameter(name, "given more than once"));
        }
        Ok(first)
    }

    pub fn all(&self, name: &str) -> std::vec::IntoIter<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Comma-separated lists, possibly repeated: `a,b` or `x=a&x=b`.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let mut found = false;
        let mut items = Vec::new();
        for value in self.all(name) {
            found = true;
            items.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
        found.then_some(items)
    }

    pub fn flag(&self, name: &str) -> Result<bool, Problem> {
        match self.one(name)? {
            None => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(other) => Err(Problem::bad_parameter(
                name,
                format!("`{other}` is not true or false"),
            )),
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// An instant (`2024-05-01T00:00:00Z`) or a date (`2024-05-01`: local midnight in `tz`).
pub fn parse_when(name: &str, raw: &str, tz: &TimeZone) -> Result<Timestamp, Problem> {
    if let Ok(instant) = raw.parse::<Timestamp>() {
        return Ok(instant);
    }
    let date: jiff::civil::Date = raw.parse().map_err(|_| {
        Problem::bad_parameter(
            name,
            format!("`{raw}` is not an instant (2024-05-01T00:00:00Z) or a date (2024-05-01)"),
        )
    })?;
    date.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| Problem::bad_parameter(name, e.to_string()))
}

pub fn parse_time_zone(name: &str, raw: &str) -> Result<TimeZone, Problem> {
    genesys::granularity::time_zone(Some(raw))
        .map_err(|_| Problem::bad_parameter(name, format!("`{raw}` is not an IANA time zone")))
}
