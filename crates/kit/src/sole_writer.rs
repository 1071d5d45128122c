//! Whether this process is the only one writing a set of tables on PostgreSQL, so that
//! what it remembers of its own writes is the whole truth for a while.
//!
//! Every process serving the tables holds a shared advisory lock named after them for
//! as long as it runs, on a connection of its own. A process is alone when it is the
//! only holder; a check made at `t` makes it trust its memory until `t + window`. A
//! process that joins waits one window after taking its lock before it writes, so every
//! window granted before it joined has run out by its first write. Replicas are
//! therefore always safe; only a lone process gets the fast path.
//!
//! SQLite has no advisory locks: [`SoleWriter::register`] gives `None` there, and
//! callers read the database every time.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::{self, Connection, PgConnection};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// First half of every GovLens advisory lock key ("GL").
const KEY_SPACE: i32 = 0x474C;

/// Turns off every fast path that trusts being the only writer (`off`), e.g. behind
/// PgBouncer in transaction mode, where session advisory locks mean nothing. Processes
/// still register, so that the others know they write.
pub const ENV_LEASES: &str = "GOVLENS_LEASES";

/// How long one positive check is trusted, and how long a process that joins waits.
/// One constant for every process: a joiner must outwait the windows of the others.
pub const WINDOW: Duration = Duration::from_millis(300);

/// A registration as a writer of one set of tables.
pub struct SoleWriter {
    name: String,
    key: i32,
    window: Duration,
    /// Whether this process may trust being alone at all ([`ENV_LEASES`]).
    trusting: bool,
    /// The connection that holds the lock; `None` once it failed (the lock went with it).
    conn: Mutex<Option<PgConnection>>,
}

impl std::fmt::Debug for SoleWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoleWriter")
            .field("name", &self.name)
            .field("window", &self.window)
            .finish()
    }
}

/// The second half of the lock key: a stable 31-bit hash of the tables' name.
fn key_of(name: &str) -> i32 {
    // FNV-1a: stable across builds and processes, unlike the std hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h & 0x7fff_ffff) as i32
}

impl SoleWriter {
    /// Registers this process as a writer of the tables called `name`, then waits one
    /// [`WINDOW`] so that nobody else still trusts a window from before it joined.
    /// `None` on SQLite. Call it before the process serves writes, whether or not it
    /// will use [`alone_until`](Self::alone_until): others must know it writes. Not
    /// `trusting`, it never reports being alone.
    pub async fn register(
        db: &DatabaseConnection,
        name: &str,
        trusting: bool,
    ) -> anyhow::Result<Option<Arc<SoleWriter>>> {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(None);
        }
        let window = WINDOW;
        let mut conn = db.get_postgres_connection_pool().acquire().await?.detach();
        let key = key_of(name);
        sqlx::query("SELECT pg_advisory_lock_shared($1, $2)")
            .bind(KEY_SPACE)
            .bind(key)
            .execute(&mut conn)
            .await?;
        tokio::time::sleep(window + window / 10).await;
        Ok(Some(Arc::new(SoleWriter {
            name: name.to_string(),
            key,
            window,
            trusting,
            conn: Mutex::new(Some(conn)),
        })))
    }

    /// How long one positive check may be trusted.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether this process may trust being alone at all.
    pub fn trusting(&self) -> bool {
        self.trusting
    }

    /// Checks now: `Some(until)` when this process is the only registered writer (and
    /// still holds its lock), trusted until `until`; `None` otherwise or on any error.
    pub async fn alone_until(&self) -> Option<Instant> {
        if !self.trusting {
            return None;
        }
        let started = Instant::now();
        let mut guard = self.conn.lock().await;
        let conn = guard.as_mut()?;
        let row: Result<(i64, bool), sqlx::Error> = sqlx::query_as(
            "SELECT count(*), coalesce(bool_or(pid = pg_backend_pid()), false) FROM pg_locks \
             WHERE locktype = 'advisory' AND granted \
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2",
        )
        .bind(KEY_SPACE)
        .bind(self.key)
        .fetch_one(&mut *conn)
        .await;
        match row {
            Ok((1, true)) => Some(started + self.window),
            Ok((_, true)) => None,
            Ok((_, false)) | Err(_) => {
                // The lock went with the connection: stop trusting for good, rather
                // than re-register without the newcomer's wait.
                tracing::warn!(tables = %self.name, "lost the writer registration");
                if let Some(conn) = guard.take() {
                    let _ = conn.close().await;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_positive() {
        assert_eq!(key_of("govlens-data"), key_of("govlens-data"));
        assert_ne!(key_of("govlens-data"), key_of("scoring_models"));
        for name in ["", "a", "govlens-data", "recommendation_rulebooks"] {
            assert!(key_of(name) >= 0);
        }
    }
}
