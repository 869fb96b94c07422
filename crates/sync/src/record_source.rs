//! Record datasets' windows from the Genesys details jobs: users details for status intervals,
//! conversation details for conversations and their drill-down. Each record is typed once and
//! only the rows that start in the window are kept: the others belong to (and are pulled with)
//! the windows they start in. Both go on a results page at a time.

use std::collections::HashSet;

use futures_util::TryStreamExt;
use genesys::Interval;
use genesys::client::{GenesysClient, JobKind};
use genesys::details::ConversationQuery;
use genesys::users_details::UserDetailsQuery;
use genesys::users_details::intervals::typed_records;
use jiff::Timestamp;
use warehouse::records::{conversation_rows, status_interval_row};
use warehouse::{RecordKind, RecordPage};

use crate::engine::SourceError;
use crate::record_pages::RecordSender;

/// Records asked for per results page (third-party clients use 1,000 for job results).
const JOB_PAGE_SIZE: u32 = 1_000;

/// Every status interval of every user that starts in `window`, a results page at a time: the
/// store merges the copies Genesys returns of a status that spans two UTC days (or that a page
/// read while it was in force and another after it closed).
pub(crate) async fn status_intervals(
    client: &GenesysClient,
    window: Interval,
    pages: RecordSender,
) -> Result<(), SourceError> {
    for piece in job_pieces(window) {
        status_intervals_of(client, piece, &pages).await?;
    }
    Ok(())
}

/// One details job's status intervals: those that start in `piece` (of a window).
async fn status_intervals_of(
    client: &GenesysClient,
    piece: Interval,
    pages: &RecordSender,
) -> Result<(), SourceError> {
    let query = UserDetailsQuery {
        interval: piece.to_string(),
        ..UserDetailsQuery::default()
    };
    let job_id = client
        .submit_users_details_job(&query)
        .await
        .map_err(crate::genesys_source::refused)?;
    let sent = async {
        client.wait_for_job(JobKind::UsersDetails, &job_id).await?;
        let mut results = client.users_details_job_pages(&job_id, Some(JOB_PAGE_SIZE));
        let mut first = true;
        while let Some(results_page) = results.try_next().await? {
            if first {
                let available = match results_page.data_availability_date.as_deref() {
                    Some(text) => instant("dataAvailabilityDate", text)?,
                    None => client.users_details_availability().await?,
                };
                pages.available_through(available);
                first = false;
            }
            let mut page = RecordPage::default();
            // Each record dropped once it is a row: a page waiting for the write holds rows only.
            for detail in results_page.user_details {
                let copies = typed_records(&detail)?;
                page.rows.extend(
                    (copies.iter())
                        .filter(|interval| piece.contains(interval.start))
                        .map(status_interval_row),
                );
            }
            pages.send(page).await?;
        }
        if first {
            // No results page at all: nobody had a status, as of the datalake's date.
            pages.available_through(client.users_details_availability().await?);
        }
        Ok::<_, SourceError>(())
    }
    .await;
    forget_job(client, JobKind::UsersDetails, &job_id).await;
    sent
}

/// The rows of `kind` (a conversation, or its participants, sessions or segments) that start in
/// `window`, from every conversation whose life overlaps it (what a details job returns), a
/// results page at a time. A job's pages may repeat a conversation: the copy read last is kept
/// (its page replaces what an earlier one wrote of it).
pub(crate) async fn conversations(
    client: &GenesysClient,
    window: Interval,
    kind: RecordKind,
    pages: RecordSender,
) -> Result<(), SourceError> {
    for piece in job_pieces(window) {
        conversations_of(client, piece, kind, &pages).await?;
    }
    Ok(())
}

/// One details job's rows of `kind`: those that start in `piece` (of a window). Which
/// conversations came twice is the job's own affair: another job's rows start elsewhere.
async fn conversations_of(
    client: &GenesysClient,
    piece: Interval,
    kind: RecordKind,
    pages: &RecordSender,
) -> Result<(), SourceError> {
    let query = ConversationQuery {
        interval: piece.to_string(),
        ..ConversationQuery::default()
    };
    let job_id = client
        .submit_details_job(&query)
        .await
        .map_err(crate::genesys_source::refused)?;
    let sent = async {
        client.wait_for_job(JobKind::Details, &job_id).await?;
        let mut results = client.details_job_pages(&job_id, Some(JOB_PAGE_SIZE));
        // The conversations sent so far (their ids, not their rows).
        let mut seen: HashSet<String> = HashSet::new();
        let mut first = true;
        while let Some(results_page) = results.try_next().await? {
            if first {
                let available = match results_page.data_availability_date.as_deref() {
                    Some(text) => instant("dataAvailabilityDate", text)?,
                    None => {
                        let answer = client.details_availability().await?;
                        instant("dataAvailabilityDate", &answer.data_availability_date)?
                    }
                };
                pages.available_through(available);
                first = false;
            }
            let mut page = RecordPage::default();
            // Each conversation dropped once it is rows: a page waiting for the write holds rows
            // only, not the decoded results page too.
            for conversation in results_page.conversations.into_iter().flatten() {
                let id = &conversation.conversation_id;
                if !seen.insert(id.clone()) {
                    page.replaces.push(id.clone());
                    // Its rows from this very page, if it came twice on it.
                    page.rows.retain(|row| row.fields[0].as_deref() != Some(id));
                }
                let rows = conversation_rows(kind, &conversation)?;
                page.rows
                    .extend(rows.into_iter().filter(|row| piece.contains(row.start)));
            }
            pages.send(page).await?;
        }
        if first {
            // No results page at all: the piece is empty, as of the datalake's date.
            let answer = client.details_availability().await?;
            pages.available_through(instant(
                "dataAvailabilityDate",
                &answer.data_availability_date,
            )?);
        }
        Ok::<_, SourceError>(())
    }
    .await;
    forget_job(client, JobKind::Details, &job_id).await;
    sent
}

/// A window as the details jobs that read it: one job per piece of at most the 7 days an
/// unfiltered details interval may last (a window of local days is usually one piece).
fn job_pieces(window: Interval) -> Vec<Interval> {
    window.pieces(genesys::details::MAX_DAYS_UNFILTERED * DAY_MS)
}

const DAY_MS: i64 = 86_400_000;

/// Results stay on the server until they expire; they are freed now, whatever happened.
async fn forget_job(client: &GenesysClient, kind: JobKind, job_id: &str) {
    if let Err(e) = client.delete_job(kind, job_id).await {
        tracing::debug!(job_id, error = %e, "Could not delete a finished details job.");
    }
}

fn instant(field: &str, text: &str) -> Result<Timestamp, SourceError> {
    text.parse()
        .map_err(|e| format!("the API's {field} `{text}` is not an ISO-8601 instant: {e}").into())
}
