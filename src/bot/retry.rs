//! Running an update again when it failed on a fault that passes by itself.
//!
//! Telegram was answered 200 for every update the tree runs, so it will not deliver the update
//! again: an update must not be lost to a pool that had no free connection in time, a
//! connection that broke, a serialization conflict or a database server restarting. Such an
//! update runs again from the top of the tree, a few times with growing pauses, and only then
//! counts as failed.
//!
//! A retry may repeat a reply that was sent before the fault; a second copy of a message beats
//! a missing one. Money and stock cannot change twice: their guards are in the database.

use std::{ops::ControlFlow, time::Duration};

use teloxide::dispatching::UpdateHandler;
use teloxide::dptree::di::DependencyMap;

/// Runs of one update at most, the first included.
const ATTEMPTS: u32 = 4;
/// The pause before the first retry; each further pause is four times longer (0.2, 0.8, 3.2 s),
/// which outlasts a database restart without holding the customer long.
const FIRST_PAUSE: Duration = Duration::from_millis(200);

/// SQLSTATEs of faults that a second attempt can get past: serialization failure, deadlock,
/// and the server shutting down or not accepting connections yet. Class 08 (connection
/// exceptions) is matched as a whole.
const TRANSIENT_STATES: [&str; 5] = ["40001", "40P01", "57P01", "57P02", "57P03"];

/// Runs `tree` on an update, again when it fails on a transient fault.
pub async fn dispatch(
    tree: &UpdateHandler<anyhow::Error>,
    deps: DependencyMap,
    slug: &str,
) -> ControlFlow<anyhow::Result<()>, DependencyMap> {
    let mut attempt = 1;
    let mut pause = FIRST_PAUSE;
    loop {
        let outcome = tree.dispatch(deps.clone()).await;
        match &outcome {
            ControlFlow::Break(Err(error)) if attempt < ATTEMPTS && is_transient(error) => {
                metrics::counter!("tokobot_update_retries_total", "store" => slug.to_owned())
                    .increment(1);
                tracing::warn!(
                    attempt,
                    error = format!("{error:#}"),
                    "the update failed on a transient fault; running it again"
                );
                tokio::time::sleep(pause).await;
                attempt += 1;
                pause *= 4;
            }
            _ => return outcome,
        }
    }
}

/// Whether `error` comes from a database fault that passes by itself.
pub fn is_transient(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(|error| match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(error) => error
                .code()
                .is_some_and(|code| code.starts_with("08") || TRANSIENT_STATES.contains(&&*code)),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::is_transient;

    #[test]
    fn only_faults_that_pass_by_themselves_are_transient() {
        let timed_out = anyhow::Error::new(sqlx::Error::PoolTimedOut);
        assert!(is_transient(&timed_out));
        let wrapped: anyhow::Result<()> = Err(sqlx::Error::PoolTimedOut).context("loading");
        assert!(is_transient(&wrapped.unwrap_err()), "found under context");
        let broken = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(is_transient(&anyhow::Error::new(broken)));

        assert!(!is_transient(&anyhow::Error::new(sqlx::Error::RowNotFound)));
        assert!(!is_transient(&anyhow::Error::new(sqlx::Error::PoolClosed)));
        assert!(!is_transient(&anyhow::anyhow!(
            "Telegram refused the message"
        )));
    }
}
