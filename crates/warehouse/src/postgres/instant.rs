//! The one place instants cross into PostgreSQL: a jiff [`Timestamp`] as `timestamptz`, in
//! PostgreSQL's binary form (microseconds since 2000-01-01 UTC). jiff 1.x has no
//! tokio-postgres support, and going through `SystemTime` would add a fallible step per value.

use std::error::Error;

use bytes::BytesMut;
use jiff::Timestamp;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, accepts, to_sql_checked};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z).
const POSTGRES_EPOCH_US: i64 = 946_684_800_000_000;

/// A [`Timestamp`] bound to or read from a `timestamptz` (microsecond precision, as stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub Timestamp);

impl Instant {
    /// The `timestamptz` PostgreSQL stores: microseconds since its epoch.
    pub(crate) fn postgres_microseconds(self) -> i64 {
        self.0.as_microsecond() - POSTGRES_EPOCH_US
    }
}

impl ToSql for Instant {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(&self.postgres_microseconds().to_be_bytes());
        Ok(IsNull::No)
    }

    accepts!(TIMESTAMPTZ);
    to_sql_checked!();
}

impl<'a> FromSql<'a> for Instant {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let bytes: [u8; 8] = raw.try_into()?;
        let us = i64::from_be_bytes(bytes);
        if us == i64::MAX || us == i64::MIN {
            return Err("an infinite timestamp is not an instant".into());
        }
        Ok(Instant(Timestamp::from_microsecond(
            us + POSTGRES_EPOCH_US,
        )?))
    }

    accepts!(TIMESTAMPTZ);
}

impl From<Timestamp> for Instant {
    fn from(at: Timestamp) -> Self {
        Instant(at)
    }
}
