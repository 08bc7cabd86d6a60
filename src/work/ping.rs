//! `ping`: answers pong; sleeps, fails or panics when asked (diagnostics and tests).
use std::time::Duration;

use serde_json::{Value, json};

use cicero_jobs::ping::Ping;

use super::{JobCtx, JobError};

pub async fn run(job: Ping, ctx: JobCtx) -> Result<Value, JobError> {
    let attempt = ctx.attempt;
    if let Some(ms) = job.throttled_ms {
        // A provider that answers 429 until `ms` after the job was created.
        let until = ctx.created_at + chrono::Duration::milliseconds(ms as i64);
        let left = (until - chrono::Utc::now()).to_std().unwrap_or_default();
        if !left.is_zero() {
            return Err(JobError::Throttled {
                retry_after: left,
                message: "ping asked to be throttled".into(),
            });
        }
    }
    if job.progress_steps > 0 {
        let step = Duration::from_millis(job.sleep_ms / u64::from(job.progress_steps));
        for i in 1..=job.progress_steps {
            tokio::time::sleep(step).await;
            let fraction = f64::from(i) / f64::from(job.progress_steps);
            ctx.progress(fraction, &format!("step {i} of {}", job.progress_steps))
                .await;
        }
    } else if job.sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(job.sleep_ms)).await;
    }
    if job.panic {
        panic!("ping asked to panic");
    }
    if job.fail_permanently {
        return Err(JobError::Permanent("ping asked to fail permanently".into()));
    }
    if i64::from(attempt) <= i64::from(job.fail_times) {
        return Err(JobError::Retryable(format!(
            "ping asked to fail (attempt {attempt} of the first {})",
            job.fail_times
        )));
    }
    Ok(json!({ "pong": job.message, "attempt": attempt }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(attempt: i32) -> JobCtx {
        // Never connected: these cases report no progress.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nowhere/none")
            .unwrap();
        JobCtx::new(1, attempt, chrono::Utc::now(), pool, "test".into())
    }

    #[tokio::test]
    async fn fails_the_first_n_attempts_then_answers() {
        let job = Ping {
            message: Some("hi".into()),
            fail_times: 2,
            ..Ping::default()
        };
        for (attempt, ok) in [(1, false), (2, false), (3, true)] {
            let got = run(job.clone(), ctx(attempt)).await;
            assert_eq!(got.is_ok(), ok, "attempt {attempt}: {got:?}");
        }
        assert_eq!(
            run(job, ctx(3)).await.unwrap(),
            json!({"pong": "hi", "attempt": 3})
        );
        let perm = Ping {
            fail_permanently: true,
            ..Ping::default()
        };
        assert!(matches!(
            run(perm, ctx(1)).await,
            Err(JobError::Permanent(_))
        ));
        let throttled = Ping {
            throttled_ms: Some(60_000),
            ..Ping::default()
        };
        assert!(matches!(
            run(throttled, ctx(1)).await,
            Err(JobError::Throttled { .. })
        ));
    }
}
