//! The real source: the Genesys client, with its shared rate budget, retries and token cache.

use futures_util::TryStreamExt;
use genesys::aggregates::AggregationQuery;
use genesys::client::GenesysClient;
use genesys::directory::{Queue, User, WrapupCode};
use warehouse::rows::rows_from_json;
use warehouse::{AggregateRow, TableSpec};

use crate::engine::{AggregateSource, DirectorySource, SourceError};

const DIRECTORY_PAGE_SIZE: u32 = 100;

impl AggregateSource for GenesysClient {
    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> Result<Vec<AggregateRow>, SourceError> {
        Ok(self
            .aggregates_query_decoded(&query, |body| rows_from_json(table, body))
            .await?)
    }
}

impl DirectorySource for GenesysClient {
    async fn queues(&self) -> Result<Vec<Queue>, SourceError> {
        Ok(GenesysClient::queues(self, DIRECTORY_PAGE_SIZE)
            .try_collect()
            .await?)
    }

    async fn users(&self) -> Result<Vec<User>, SourceError> {
        Ok(GenesysClient::users(self, DIRECTORY_PAGE_SIZE)
            .try_collect()
            .await?)
    }

    async fn wrapup_codes(&self) -> Result<Vec<WrapupCode>, SourceError> {
        Ok(GenesysClient::wrapup_codes(self, DIRECTORY_PAGE_SIZE)
            .try_collect()
            .await?)
    }
}
