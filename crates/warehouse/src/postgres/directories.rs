//! The queue, user, wrap-up code and presence directories in PostgreSQL, each replaced whole.

use tokio_postgres::GenericClient;

use super::Fail;
use crate::Directory;

pub(crate) async fn replace(
    tx: &impl GenericClient,
    directory: Directory<'_>,
) -> Result<usize, Fail> {
    match directory {
        Directory::Queues(queues) => {
            tx.execute("DELETE FROM queues", &[]).await?;
            let insert = tx
                .prepare(
                    "INSERT INTO queues (id, name, division_id, division_name,
                         service_level_percentage, service_level_duration_ms, member_count)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .await?;
            for q in queues {
                let sl = (q.media_settings.as_ref())
                    .and_then(|m| m.call.as_ref())
                    .and_then(|c| c.service_level.as_ref());
                let division = q.division.as_ref();
                tx.execute(
                    &insert,
                    &[
                        &q.id,
                        &q.name,
                        &division.map(|d| &d.id),
                        &division.and_then(|d| d.name.as_ref()),
                        &sl.map(|s| s.percentage),
                        &sl.map(|s| s.duration_ms),
                        &q.member_count.map(i64::from),
                    ],
                )
                .await?;
            }
            Ok(queues.len())
        }
        Directory::Users(users) => {
            tx.execute("DELETE FROM users", &[]).await?;
            let insert = tx
                .prepare(
                    "INSERT INTO users (id, name, email, state, division_id, division_name,
                         team_id, team_name)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .await?;
            for u in users {
                let (division, team) = (u.division.as_ref(), u.team.as_ref());
                tx.execute(
                    &insert,
                    &[
                        &u.id,
                        &u.name,
                        &u.email,
                        &u.state,
                        &division.map(|d| &d.id),
                        &division.and_then(|d| d.name.as_ref()),
                        &team.map(|t| &t.id),
                        &team.and_then(|t| t.name.as_ref()),
                    ],
                )
                .await?;
            }
            Ok(users.len())
        }
        Directory::WrapupCodes(codes) => {
            tx.execute("DELETE FROM wrapup_codes", &[]).await?;
            let insert = tx
                .prepare("INSERT INTO wrapup_codes (id, name, division_id) VALUES ($1, $2, $3)")
                .await?;
            for c in codes {
                tx.execute(
                    &insert,
                    &[&c.id, &c.name, &c.division.as_ref().map(|d| &d.id)],
                )
                .await?;
            }
            Ok(codes.len())
        }
        Directory::Presences(presences) => {
            tx.execute("DELETE FROM presences", &[]).await?;
            let insert = tx
                .prepare("INSERT INTO presences (id, name, system_presence) VALUES ($1, $2, $3)")
                .await?;
            for p in presences {
                tx.execute(&insert, &[&p.id, &p.label(), &p.system_presence])
                    .await?;
            }
            Ok(presences.len())
        }
    }
}
