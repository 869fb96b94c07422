//! The real source: the Genesys client, with its shared rate budget, retries and token cache.

use futures_util::TryStreamExt;
use genesys::aggregates::{AggregateQueryResponse, AggregationQuery};
use genesys::client::Error as ClientError;
use genesys::client::GenesysClient;
use genesys::client::JobKind;
use genesys::directory::{Queue, User, WrapupCode};
use warehouse::rows::rows_from_json;
use warehouse::rows_from_response;
use warehouse::{AggregateRow, TableSpec};

use crate::engine::{AggregateSource, DirectorySource, PageSender, ResponseTooLarge, SourceError};

const DIRECTORY_PAGE_SIZE: u32 = 100;

/// The API's code for a result too large for one synchronous response.
const TOO_LARGE: &str = "response.entity.too.large";

impl AggregateSource for GenesysClient {
    async fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> Result<Vec<AggregateRow>, SourceError> {
        let job_id = self.submit_aggregates_job(&query).await?;
        let rows = async {
            self.wait_for_job(JobKind::Aggregates, &job_id).await?;
            let mut pages = self.aggregates_job_pages(&job_id);
            let mut rows = Vec::new();
            while let Some(page) = pages.try_next().await? {
                let page = AggregateQueryResponse {
                    results: page.results,
                };
                rows.extend(rows_from_response(table, &page)?);
            }
            Ok::<_, SourceError>(rows)
        }
        .await;
        // Results stay on the server until they expire; free them now, whatever happened.
        if let Err(e) = self.delete_job(JobKind::Aggregates, &job_id).await {
            tracing::debug!(job_id, error = %e, "Could not delete a finished aggregates job.");
        }
        rows
    }

    async fn stream_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
        sink: PageSender,
    ) -> Result<(), SourceError> {
        let job_id = self.submit_aggregates_job(&query).await?;
        let sent = async {
            self.wait_for_job(JobKind::Aggregates, &job_id).await?;
            let mut pages = self.aggregates_job_pages(&job_id);
            while let Some(page) = pages.try_next().await? {
                let page = AggregateQueryResponse {
                    results: page.results,
                };
                sink.send(rows_from_response(table, &page)?).await?;
            }
            Ok::<_, SourceError>(())
        }
        .await;
        if let Err(e) = self.delete_job(JobKind::Aggregates, &job_id).await {
            tracing::debug!(job_id, error = %e, "Could not delete a finished aggregates job.");
        }
        sent
    }

    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> Result<Vec<AggregateRow>, SourceError> {
        let outcome = self
            .aggregates_query_decoded(&query, |body| rows_from_json(table, body))
            .await;
        match outcome {
            Err(ClientError::Api { code, message, .. }) if code == TOO_LARGE => {
                Err(ResponseTooLarge(message).into())
            }
            other => Ok(other?),
        }
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
