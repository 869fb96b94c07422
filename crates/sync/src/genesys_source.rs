//! The real source: the Genesys client, with its shared rate budget, retries and token cache.

use futures_util::TryStreamExt;
use genesys::aggregates::{AggregateQueryResponse, AggregatesFamily, AggregationQuery};
use genesys::client::Error as ClientError;
use genesys::client::GenesysClient;
use genesys::client::JobKind;
use genesys::directory::{OrganizationPresence, Queue, User, WrapupCode};
use warehouse::rows_from_response;
use warehouse::{AggregateRow, DatasetKind, GroupRows, RecordKind, TableSpec};

use crate::engine::{
    AggregateSource, AnswerInterrupted, DirectorySource, PageSender, PermissionMissing,
    ResponseTooLarge, SourceError,
};
use crate::record_pages::RecordSender;
use crate::record_source;

const DIRECTORY_PAGE_SIZE: u32 = 100;

/// The API's code for a result too large for one synchronous response.
const TOO_LARGE: &str = "response.entity.too.large";

impl AggregateSource for GenesysClient {
    async fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> Result<Vec<AggregateRow>, SourceError> {
        let family = family_of(table);
        let job_id = self
            .submit_family_job(family, &query)
            .await
            .map_err(refused)?;
        let rows = async {
            self.wait_for_job(family.into(), &job_id).await?;
            let mut pages = self.family_job_pages(family, &job_id);
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
        if let Err(e) = self.delete_job(JobKind::from(family), &job_id).await {
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
        let family = family_of(table);
        let job_id = self
            .submit_family_job(family, &query)
            .await
            .map_err(refused)?;
        let sent = async {
            self.wait_for_job(family.into(), &job_id).await?;
            let mut pages = self.family_job_pages(family, &job_id);
            while let Some(page) = pages.try_next().await? {
                let page = AggregateQueryResponse {
                    results: page.results,
                };
                sink.send(rows_from_response(table, &page)?).await?;
            }
            Ok::<_, SourceError>(())
        }
        .await;
        if let Err(e) = self.delete_job(JobKind::from(family), &job_id).await {
            tracing::debug!(job_id, error = %e, "Could not delete a finished aggregates job.");
        }
        sent
    }

    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> Result<Vec<AggregateRow>, SourceError> {
        let response = self
            .family_query(family_of(table), &query)
            .await
            .map_err(too_large)?;
        Ok(rows_from_response(table, &response)?)
    }

    async fn stream_rows(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
        pages: PageSender,
    ) -> Result<(), SourceError> {
        let mut groups = self
            .family_query_groups(family_of(table), &query)
            .await
            .map_err(too_large)?;
        let (mapper, page_rows) = (GroupRows::new(table), pages.page_rows());
        let mut page = Vec::with_capacity(page_rows);
        while let Some(group) = groups.next_group().await.map_err(interrupted)? {
            mapper.append(&group, &mut page)?;
            if page.len() >= page_rows {
                let rest = page.split_off(page_rows);
                pages.send(std::mem::replace(&mut page, rest)).await?;
            }
        }
        if !page.is_empty() {
            pages.send(page).await?;
        }
        Ok(())
    }

    async fn stream_records(
        &self,
        table: &TableSpec,
        window: genesys::Interval,
        pages: RecordSender,
    ) -> Result<(), SourceError> {
        match table.record_kind() {
            Some(RecordKind::StatusIntervals) => {
                record_source::status_intervals(self, window, pages).await
            }
            Some(records) => record_source::conversations(self, window, records, pages).await,
            None => Err(format!("dataset `{}` holds aggregates, not records", table.name).into()),
        }
    }
}

/// The API a dataset's rows come from, by the kind the store records for it.
fn family_of(table: &TableSpec) -> AggregatesFamily {
    match table.definition.kind {
        DatasetKind::UsersAggregates => AggregatesFamily::Users,
        _ => AggregatesFamily::Conversations,
    }
}

/// A connection that failed while the answer was being read: the engine fetches the window
/// again (the client retries a request only until its answer starts).
fn interrupted(error: ClientError) -> SourceError {
    match error {
        ClientError::Transport(e) => AnswerInterrupted(e.to_string()).into(),
        other => other.into(),
    }
}

/// The API's refusal of a synchronous query as too large, as [`ResponseTooLarge`].
fn too_large(error: ClientError) -> SourceError {
    match error {
        ClientError::Api { code, message, .. } if code == TOO_LARGE => {
            ResponseTooLarge(message).into()
        }
        other => refused(other),
    }
}

/// A 403 (the OAuth client's role lacks a permission the endpoint needs), as
/// [`PermissionMissing`]: Genesys' own message names the permission.
pub(crate) fn refused(error: ClientError) -> SourceError {
    match error {
        ClientError::Api {
            status: 403,
            code,
            message,
            ..
        } => PermissionMissing(format!(
            "Genesys refused it (HTTP 403 {code}): {message}; grant the OAuth client's role that permission (README: Connecting a real org)"
        ))
        .into(),
        other => other.into(),
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

    async fn presences(&self) -> Result<Vec<OrganizationPresence>, SourceError> {
        Ok(GenesysClient::presences(self, DIRECTORY_PAGE_SIZE)
            .try_collect()
            .await?)
    }
}
