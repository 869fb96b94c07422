//! Typed analytics endpoints. Paged endpoints are streams of pages, so memory holds one page at
//! a time however long the history.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::aggregates::{
    AGGREGATES_JOBS_PATH, AggregateDataContainer, AggregateQueryResponse, AggregatesFamily,
    AggregationQuery, AsyncAggregateQueryResponse, PageDecoder, USERS_AGGREGATES_JOBS_PATH,
};
use crate::details::{
    AsyncConversationQueryResponse, ConversationQuery, ConversationQueryResponse,
    DETAILS_AVAILABILITY_PATH, DETAILS_JOBS_PATH, DETAILS_QUERY_PATH, DataAvailabilityResponse,
    PagingSpec,
};
use crate::directory::{
    EntityListing, OrganizationPresence, PRESENCE_DEFINITIONS_PATH, QUEUES_PATH, Queue, USERS_PATH,
    User, WRAPUP_CODES_PATH, WrapupCode,
};
use crate::jobs::{AsyncQueryResponse, AsyncQueryStatus, JobState};
use crate::users_details::{
    AsyncUserDetailsQueryResponse, MAX_QUERY_RESULTS, USERS_DETAILS_AVAILABILITY_PATH,
    USERS_DETAILS_JOBS_PATH, USERS_DETAILS_QUERY_PATH, UserDetailsQuery, UserDetailsQueryResponse,
};

use super::GenesysClient;
use super::error::{Error, Result};

/// A stream of pages (or entities) owning everything it needs; `Unpin`, so `.next().await` works.
pub type PageStream<T> = BoxStream<'static, Result<T>>;

/// The async job families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Aggregates,
    UsersAggregates,
    Details,
    UsersDetails,
}

impl JobKind {
    fn base(self) -> &'static str {
        match self {
            JobKind::Aggregates => AGGREGATES_JOBS_PATH,
            JobKind::UsersAggregates => USERS_AGGREGATES_JOBS_PATH,
            JobKind::Details => DETAILS_JOBS_PATH,
            JobKind::UsersDetails => USERS_DETAILS_JOBS_PATH,
        }
    }
}

impl From<AggregatesFamily> for JobKind {
    fn from(family: AggregatesFamily) -> Self {
        match family {
            AggregatesFamily::Conversations => JobKind::Aggregates,
            AggregatesFamily::Users => JobKind::UsersAggregates,
        }
    }
}

/// The directories served as paged entity listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    Queues,
    Users,
    WrapupCodes,
    Presences,
}

impl DirectoryKind {
    fn path(self) -> &'static str {
        match self {
            DirectoryKind::Queues => QUEUES_PATH,
            DirectoryKind::Users => USERS_PATH,
            DirectoryKind::WrapupCodes => WRAPUP_CODES_PATH,
            DirectoryKind::Presences => PRESENCE_DEFINITIONS_PATH,
        }
    }
}

impl GenesysClient {
    pub async fn aggregates_query(
        &self,
        query: &AggregationQuery,
    ) -> Result<AggregateQueryResponse> {
        self.family_query(AggregatesFamily::Conversations, query)
            .await
    }

    pub async fn users_aggregates_query(
        &self,
        query: &AggregationQuery,
    ) -> Result<AggregateQueryResponse> {
        self.family_query(AggregatesFamily::Users, query).await
    }

    /// The synchronous query of either aggregates family, its answer decoded whole.
    pub async fn family_query(
        &self,
        family: AggregatesFamily,
        query: &AggregationQuery,
    ) -> Result<AggregateQueryResponse> {
        self.post_decoded(
            family.query_path(),
            query,
            family.what(),
            AggregateQueryResponse::from_json,
        )
        .await
    }

    /// The conversation aggregates query, read as it arrives (see [`Self::family_query_groups`]).
    pub async fn aggregates_query_groups(
        &self,
        query: &AggregationQuery,
    ) -> Result<AggregateGroups> {
        self.family_query_groups(AggregatesFamily::Conversations, query)
            .await
    }

    /// An aggregates query, its answer read as it arrives, one result group at a time: memory
    /// holds a group, not the response. Retried like any request until the answer starts.
    pub async fn family_query_groups(
        &self,
        family: AggregatesFamily,
        query: &AggregationQuery,
    ) -> Result<AggregateGroups> {
        let (response, correlation_id) = self.post_streamed(family.query_path(), query).await?;
        Ok(AggregateGroups {
            response,
            correlation_id,
            family,
            decoder: Some(PageDecoder::new()),
        })
    }

    /// One page of the synchronous details query, as the query's `paging` says.
    pub async fn details_query(
        &self,
        query: &ConversationQuery,
    ) -> Result<ConversationQueryResponse> {
        self.post_json(DETAILS_QUERY_PATH, query, "conversation details")
            .await
    }

    /// Every page of the synchronous details query, `page_size` conversations each, until the
    /// page without conversations (or a short page).
    pub fn details_query_pages(
        &self,
        query: ConversationQuery,
        page_size: u32,
    ) -> PageStream<ConversationQueryResponse> {
        let client = self.clone();
        let fetch = move |paging| {
            let (client, mut query) = (client.clone(), query.clone());
            async move {
                query.paging = Some(paging);
                client.details_query(&query).await
            }
        };
        numbered_pages(page_size, fetch, |page, paging| {
            let found = page.conversations.as_ref().map_or(0, Vec::len);
            PageVerdict::of(found, found >= paging.page_size as usize)
        })
    }

    pub async fn details_availability(&self) -> Result<DataAvailabilityResponse> {
        self.get_json(DETAILS_AVAILABILITY_PATH, &[], "details data availability")
            .await
    }

    pub async fn submit_aggregates_job(&self, query: &AggregationQuery) -> Result<String> {
        self.submit_family_job(AggregatesFamily::Conversations, query)
            .await
    }

    /// Submits an async aggregates job of either family; its id.
    pub async fn submit_family_job(
        &self,
        family: AggregatesFamily,
        query: &AggregationQuery,
    ) -> Result<String> {
        let what = match family {
            AggregatesFamily::Conversations => "aggregates job",
            AggregatesFamily::Users => "user aggregates job",
        };
        let accepted: AsyncQueryResponse = self.post_json(family.jobs_path(), query, what).await?;
        Ok(accepted.job_id)
    }

    pub async fn submit_details_job(&self, query: &ConversationQuery) -> Result<String> {
        let accepted: AsyncQueryResponse = self
            .post_json(DETAILS_JOBS_PATH, query, "details job")
            .await?;
        Ok(accepted.job_id)
    }

    pub async fn job_status(&self, kind: JobKind, job_id: &str) -> Result<AsyncQueryStatus> {
        self.get_json(&format!("{}/{job_id}", kind.base()), &[], "job status")
            .await
    }

    /// Cancels a job or deletes its results.
    pub async fn delete_job(&self, kind: JobKind, job_id: &str) -> Result<()> {
        self.delete(&format!("{}/{job_id}", kind.base())).await
    }

    /// Polls with back-off until the job is FULFILLED. FAILED carries Genesys' `errorMessage`;
    /// CANCELLED and EXPIRED are errors too, as is waiting past the configured job timeout.
    pub async fn wait_for_job(&self, kind: JobKind, job_id: &str) -> Result<AsyncQueryStatus> {
        let config = self.config();
        let timeout = Duration::from_secs(config.job_timeout_secs);
        let started = tokio::time::Instant::now();
        let mut pauses = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(config.job_poll_min_ms))
            .with_max_delay(Duration::from_millis(
                config.job_poll_max_ms.max(config.job_poll_min_ms),
            ))
            .with_factor(1.5)
            .without_max_times()
            .build();
        loop {
            let status = self.job_status(kind, job_id).await?;
            match status.state {
                JobState::Fulfilled => return Ok(status),
                JobState::Failed => {
                    let message = status
                        .error_message
                        .unwrap_or_else(|| "no errorMessage given".into());
                    return Err(Error::JobFailed {
                        job_id: job_id.to_string(),
                        message,
                    });
                }
                state @ (JobState::Cancelled | JobState::Expired) => {
                    return Err(Error::JobEnded {
                        job_id: job_id.to_string(),
                        state,
                    });
                }
                JobState::Queued | JobState::Pending => {}
            }
            let pause = pauses
                .next()
                .unwrap_or(Duration::from_millis(config.job_poll_max_ms));
            if started.elapsed() + pause > timeout {
                return Err(Error::JobTimeout {
                    job_id: job_id.to_string(),
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// The results of a FULFILLED aggregates job, page by page (cursor paging).
    pub fn aggregates_job_pages(&self, job_id: &str) -> PageStream<AsyncAggregateQueryResponse> {
        self.family_job_pages(AggregatesFamily::Conversations, job_id)
    }

    /// The results of a FULFILLED aggregates job of either family, page by page.
    pub fn family_job_pages(
        &self,
        family: AggregatesFamily,
        job_id: &str,
    ) -> PageStream<AsyncAggregateQueryResponse> {
        let path = format!("{}/{job_id}/results", family.jobs_path());
        let what = match family {
            AggregatesFamily::Conversations => "aggregates job results",
            AggregatesFamily::Users => "user aggregates job results",
        };
        self.cursor_pages(
            path,
            None,
            what,
            AsyncAggregateQueryResponse::from_json,
            |page: &AsyncAggregateQueryResponse| page.cursor.clone(),
        )
    }

    /// The results of a FULFILLED details job, page by page (cursor paging).
    pub fn details_job_pages(
        &self,
        job_id: &str,
        page_size: Option<u32>,
    ) -> PageStream<AsyncConversationQueryResponse> {
        let path = format!("{DETAILS_JOBS_PATH}/{job_id}/results");
        self.cursor_pages(
            path,
            page_size,
            "details job results",
            super::from_json,
            |page: &AsyncConversationQueryResponse| page.cursor.clone(),
        )
    }

    /// Submits an aggregates job, waits for it, and streams its result pages.
    pub async fn run_aggregates_job(
        &self,
        query: &AggregationQuery,
    ) -> Result<PageStream<AsyncAggregateQueryResponse>> {
        let job_id = self.submit_aggregates_job(query).await?;
        self.wait_for_job(JobKind::Aggregates, &job_id).await?;
        Ok(self.aggregates_job_pages(&job_id))
    }

    /// Submits a details job, waits for it, and streams its result pages.
    pub async fn run_details_job(
        &self,
        query: &ConversationQuery,
        page_size: Option<u32>,
    ) -> Result<PageStream<AsyncConversationQueryResponse>> {
        let job_id = self.submit_details_job(query).await?;
        self.wait_for_job(JobKind::Details, &job_id).await?;
        Ok(self.details_job_pages(&job_id, page_size))
    }

    /// One page of the synchronous users details query, as its `paging` says. An interval over
    /// the documented limit is refused before any request.
    pub async fn users_details_query(
        &self,
        query: &UserDetailsQuery,
    ) -> Result<UserDetailsQueryResponse> {
        query.checked_interval()?;
        self.post_json(USERS_DETAILS_QUERY_PATH, query, "users details")
            .await
    }

    /// Every page of the synchronous users details query, `page_size` stored records each.
    ///
    /// A short page is not the last: Genesys drops a record's second copy from a page after
    /// counting it, so pages run until one has no records or `totalHits` (which counts copies)
    /// is reached. Paging deeper than Genesys allows is refused before the request that would
    /// fail. The same record may come on two pages: merge them with
    /// [`crate::users_details::intervals::status_intervals`].
    pub fn users_details_query_pages(
        &self,
        query: UserDetailsQuery,
        page_size: u32,
    ) -> PageStream<UserDetailsQueryResponse> {
        let client = self.clone();
        let fetch = move |paging: PagingSpec| {
            let (client, mut query) = (client.clone(), query.clone());
            async move {
                if reach(paging) > MAX_QUERY_RESULTS {
                    let reason = format!(
                        "interval `{}` holds more than {MAX_QUERY_RESULTS} records, the most \
                         the query pages through: use a job or shorter windows",
                        query.interval
                    );
                    let what = "users details";
                    return Err(Error::Paging { what, reason });
                }
                query.paging = Some(paging);
                client.users_details_query(&query).await
            }
        };
        numbered_pages(page_size, fetch, |page, paging| {
            let found = page.user_details.iter().map(|d| d.record_count()).sum();
            let more = page.total_hits.is_none_or(|total| reach(paging) < total);
            PageVerdict::of(found, more)
        })
    }

    /// Submits an async users details job; its id. An interval over the documented limit is
    /// refused before any request.
    pub async fn submit_users_details_job(&self, query: &UserDetailsQuery) -> Result<String> {
        query.checked_interval()?;
        let accepted: AsyncQueryResponse = self
            .post_json(USERS_DETAILS_JOBS_PATH, query, "users details job")
            .await?;
        Ok(accepted.job_id)
    }

    /// The results of a FULFILLED users details job, page by page (cursor paging). A user may
    /// recur on several pages.
    pub fn users_details_job_pages(
        &self,
        job_id: &str,
        page_size: Option<u32>,
    ) -> PageStream<AsyncUserDetailsQueryResponse> {
        let path = format!("{USERS_DETAILS_JOBS_PATH}/{job_id}/results");
        self.cursor_pages(
            path,
            page_size,
            "users details job results",
            super::from_json,
            |page: &AsyncUserDetailsQueryResponse| page.cursor.clone(),
        )
    }

    /// Submits a users details job, waits for it, and streams its result pages.
    pub async fn run_users_details_job(
        &self,
        query: &UserDetailsQuery,
        page_size: Option<u32>,
    ) -> Result<PageStream<AsyncUserDetailsQueryResponse>> {
        let job_id = self.submit_users_details_job(query).await?;
        self.wait_for_job(JobKind::UsersDetails, &job_id).await?;
        Ok(self.users_details_job_pages(&job_id, page_size))
    }

    /// The instant before which users details jobs have every record (`dataAvailabilityDate`);
    /// a job's window past it comes back partial, with no error.
    pub async fn users_details_availability(&self) -> Result<jiff::Timestamp> {
        let availability: Availability = self
            .get_json(
                USERS_DETAILS_AVAILABILITY_PATH,
                &[],
                "users details data availability",
            )
            .await?;
        Ok(availability.data_availability_date)
    }

    fn cursor_pages<T: Send + 'static>(
        &self,
        path: String,
        page_size: Option<u32>,
        what: &'static str,
        decode: fn(&[u8]) -> serde_json::Result<T>,
        cursor_of: fn(&T) -> Option<String>,
    ) -> PageStream<T> {
        let client = self.clone();
        // `Some(cursor)` while a page is due; the first page has no cursor.
        stream::try_unfold(Some(None::<String>), move |due| {
            let (client, path) = (client.clone(), path.clone());
            async move {
                let Some(cursor) = due else { return Ok(None) };
                let mut query: Vec<(&str, String)> = Vec::new();
                if let Some(size) = page_size {
                    query.push(("pageSize", size.to_string()));
                }
                if let Some(cursor) = &cursor {
                    query.push(("cursor", cursor.clone()));
                }
                let page: T = client.get_decoded(&path, &query, what, decode).await?;
                let next = cursor_of(&page).filter(|next| !next.is_empty());
                if next.is_some() && next == cursor {
                    // Following it would loop forever.
                    let reason = "the server returned the same cursor again".into();
                    return Err(Error::Paging { what, reason });
                }
                Ok(Some((page, next.map(Some))))
            }
        })
        .boxed()
    }

    /// A directory page by page (`pageNumber`, following `nextUri` while the server gives one).
    pub fn directory_pages<T: DeserializeOwned + Send + 'static>(
        &self,
        kind: DirectoryKind,
        page_size: u32,
    ) -> PageStream<EntityListing<T>> {
        let client = self.clone();
        let first = (
            kind.path().to_string(),
            vec![
                ("pageSize", page_size.to_string()),
                ("pageNumber", "1".into()),
            ],
        );
        stream::try_unfold(Some(first), move |due| {
            let client = client.clone();
            async move {
                let Some((path, query)) = due else {
                    return Ok(None);
                };
                let page: EntityListing<T> =
                    client.get_json(&path, &query, "directory page").await?;
                let more = page.page_number < page.page_count && !page.entities.is_empty();
                let next = page
                    .next_uri
                    .clone()
                    .filter(|_| more)
                    .map(|uri| (uri, Vec::new()));
                Ok(Some((page, next)))
            }
        })
        .boxed()
    }

    pub fn queues(&self, page_size: u32) -> PageStream<Queue> {
        flatten(self.directory_pages(DirectoryKind::Queues, page_size))
    }

    pub fn users(&self, page_size: u32) -> PageStream<User> {
        flatten(self.directory_pages(DirectoryKind::Users, page_size))
    }

    pub fn wrapup_codes(&self, page_size: u32) -> PageStream<WrapupCode> {
        flatten(self.directory_pages(DirectoryKind::WrapupCodes, page_size))
    }

    /// The organisation's presence definitions (system and its own), every page.
    pub fn presences(&self, page_size: u32) -> PageStream<OrganizationPresence> {
        flatten(self.directory_pages(DirectoryKind::Presences, page_size))
    }
}

/// What a numbered page says of the pages after it.
enum PageVerdict {
    /// Nothing on it: not a page to hand on, and the end.
    Empty,
    Last,
    More,
}

impl PageVerdict {
    fn of(found: usize, more: bool) -> Self {
        match (found, more) {
            (0, _) => PageVerdict::Empty,
            (_, false) => PageVerdict::Last,
            (_, true) => PageVerdict::More,
        }
    }
}

/// How many results a query has paged through once it has read `paging`'s page.
fn reach(paging: PagingSpec) -> u64 {
    u64::from(paging.page_number) * u64::from(paging.page_size)
}

/// Pages numbered from 1, `page_size` each (at least 1): `fetch` reads one, `verdict` says
/// whether another is due.
fn numbered_pages<T, F, Fut>(
    page_size: u32,
    fetch: F,
    verdict: fn(&T, PagingSpec) -> PageVerdict,
) -> PageStream<T>
where
    T: Send + 'static,
    F: Fn(PagingSpec) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let page_size = page_size.max(1);
    stream::try_unfold(Some(1u32), move |due| {
        let request = due.map(|page_number| {
            let paging = PagingSpec {
                page_size,
                page_number,
            };
            (paging, fetch(paging))
        });
        async move {
            let Some((paging, fetching)) = request else {
                return Ok(None);
            };
            let page = fetching.await?;
            Ok(match verdict(&page, paging) {
                PageVerdict::Empty => None,
                PageVerdict::Last => Some((page, None)),
                PageVerdict::More => Some((page, Some(paging.page_number + 1))),
            })
        }
    })
    .boxed()
}

/// `DataAvailabilityResponse`, its date read as an instant.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Availability {
    data_availability_date: jiff::Timestamp,
}

fn flatten<T: Send + 'static>(pages: PageStream<EntityListing<T>>) -> PageStream<T> {
    pages
        .map_ok(|page| stream::iter(page.entities.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// A synchronous aggregates answer being read: [`AggregateGroups::next_group`] until `None`.
/// A body cut short or malformed is an error (not retried: its groups may have been used).
pub struct AggregateGroups {
    response: reqwest::Response,
    correlation_id: Option<String>,
    family: AggregatesFamily,
    /// `None` once the body ended.
    decoder: Option<PageDecoder>,
}

impl AggregateGroups {
    /// The next result group, or `None` after the last one of a whole, well-formed body.
    pub async fn next_group(&mut self) -> Result<Option<AggregateDataContainer>> {
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(None);
            };
            let decode_error = |source| Error::Decode {
                what: self.family.what(),
                endpoint: format!("POST {}", self.family.query_path()),
                correlation_id: self.correlation_id.clone(),
                source,
            };
            if let Some(group) = decoder.next_group().map_err(decode_error)? {
                return Ok(Some(group));
            }
            match self.response.chunk().await.map_err(Error::Transport)? {
                Some(bytes) => decoder.push(&bytes),
                None => {
                    let decoder = self.decoder.take().expect("checked above");
                    decoder.finish().map_err(decode_error)?;
                }
            }
        }
    }
}
