//! Counting the database round trips made while the host handles updates.
//!
//! The browse path is meant to cost no database work at steady state (SPEC §5), so the host
//! counts what it does cost: `tokobot_db_round_trips_total{path="update"}` grows by every round
//! trip a handler makes (see [`note`]'s callers in `db/mod.rs`), and `path="background"` by
//! those of everything else (jobs, the API, store starts). The update path is marked with a
//! task-local ([`on_update_path`]) set by the handler tree's middleware around the whole tree,
//! so a handler needs no parameter for it, and work a handler spawns onto another task is not
//! counted as the update's.

use std::future::Future;

tokio::task_local! {
    /// Present while an update is being handled on this task.
    static UPDATE_PATH: ();
}

/// Runs `work` as the handling of an update: its round trips count under `path="update"`.
pub async fn on_update_path<F: Future>(work: F) -> F::Output {
    UPDATE_PATH.scope((), work).await
}

/// Counts `trips` round trips to the database, under the path the current task is on.
pub(super) fn note(trips: u64) {
    let path = if UPDATE_PATH.try_with(|_| ()).is_ok() {
        "update"
    } else {
        "background"
    };
    metrics::counter!("tokobot_db_round_trips_total", "path" => path).increment(trips);
}
