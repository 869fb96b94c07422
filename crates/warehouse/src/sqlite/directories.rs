//! The queue, user, wrap-up code and presence directories, each replaced whole.

use rusqlite::{Transaction, params};

use crate::{Directory, Result};

pub(crate) fn replace(tx: &Transaction<'_>, directory: Directory<'_>) -> Result<usize> {
    match directory {
        Directory::Queues(queues) => {
            tx.execute("DELETE FROM queues", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO queues (id, name, division_id, division_name, service_level_percentage,
                 service_level_duration_ms, member_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for q in queues {
                let sl = q
                    .media_settings
                    .as_ref()
                    .and_then(|m| m.call.as_ref())
                    .and_then(|c| c.service_level.as_ref());
                let division = q.division.as_ref();
                insert.execute(params![
                    q.id,
                    q.name,
                    division.map(|d| &d.id),
                    division.and_then(|d| d.name.as_ref()),
                    sl.map(|s| s.percentage),
                    sl.map(|s| s.duration_ms),
                    q.member_count
                ])?;
            }
            Ok(queues.len())
        }
        Directory::Users(users) => {
            tx.execute("DELETE FROM users", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO users (id, name, email, state, division_id, division_name, team_id, team_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for u in users {
                let (division, team) = (u.division.as_ref(), u.team.as_ref());
                insert.execute(params![
                    u.id,
                    u.name,
                    u.email,
                    u.state,
                    division.map(|d| &d.id),
                    division.and_then(|d| d.name.as_ref()),
                    team.map(|t| &t.id),
                    team.and_then(|t| t.name.as_ref())
                ])?;
            }
            Ok(users.len())
        }
        Directory::WrapupCodes(codes) => {
            tx.execute("DELETE FROM wrapup_codes", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO wrapup_codes (id, name, division_id) VALUES (?1, ?2, ?3)",
            )?;
            for c in codes {
                insert.execute(params![c.id, c.name, c.division.as_ref().map(|d| &d.id)])?;
            }
            Ok(codes.len())
        }
        Directory::Presences(presences) => {
            tx.execute("DELETE FROM presences", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO presences (id, name, system_presence) VALUES (?1, ?2, ?3)",
            )?;
            for p in presences {
                insert.execute(params![p.id, p.label(), p.system_presence])?;
            }
            Ok(presences.len())
        }
    }
}
