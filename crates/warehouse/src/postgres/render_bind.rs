//! A rendered statement's values bound to PostgreSQL: each [`Bound`] written as the type the
//! server gave its placeholder (`$n::text` is text; a resume key's `$n` takes its column's
//! type, so its text becomes a `timestamptz` or a `bigint` here, as SQLite compares them).

use std::error::Error;

use bytes::BytesMut;
use jiff::Timestamp;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::instant::Instant;
use crate::statement::Bound;

type BindError = Box<dyn Error + Sync + Send>;

fn parsed<T: std::str::FromStr>(text: &str, ty: &Type) -> Result<T, BindError> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a value of type {ty}").into())
}

impl ToSql for Bound {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BindError> {
        match (self, ty) {
            (Bound::Null, _) => Ok(IsNull::Yes),
            (Bound::Integer(i), &Type::INT8) => i.to_sql(ty, out),
            (Bound::Integer(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Bound::Integer(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Bound::Integer(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Bound::Real(r), &Type::FLOAT8) => r.to_sql(ty, out),
            (Bound::Text(t), &Type::INT8) => parsed::<i64>(t, ty)?.to_sql(ty, out),
            (Bound::Text(t), &Type::INT4) => parsed::<i32>(t, ty)?.to_sql(ty, out),
            (Bound::Text(t), &Type::FLOAT8) => parsed::<f64>(t, ty)?.to_sql(ty, out),
            (Bound::Text(t), &Type::TIMESTAMPTZ) => {
                Instant(parsed::<Timestamp>(t, ty)?).to_sql(ty, out)
            }
            (Bound::Text(t), _) if is_text(ty) => t.as_str().to_sql(ty, out),
            (Bound::Integer(i), _) if is_text(ty) => i.to_string().as_str().to_sql(ty, out),
            (Bound::Real(r), _) if is_text(ty) => r.to_string().as_str().to_sql(ty, out),
            (value, ty) => Err(format!("a {value:?} can't be bound as {ty}").into()),
        }
    }

    /// Any type: [`ToSql::to_sql`] says which values it can't write as which.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

/// The values as the driver takes them.
pub(crate) fn parameters(values: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}
