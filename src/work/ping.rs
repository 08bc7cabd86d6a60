//! `ping`: answers pong; sleeps, fails or panics when asked (diagnostics and tests).
use std::time::Duration;

use serde_json::{Value, json};

use cicero_jobs::ping::Ping;

use super::JobError;

pub async fn run(job: Ping, attempt: i32) -> Result<Value, JobError> {
    if job.sleep_ms > 0 {
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

    #[tokio::test]
    async fn fails_the_first_n_attempts_then_answers() {
        let job = Ping {
            message: Some("hi".into()),
            fail_times: 2,
            ..Ping::default()
        };
        for (attempt, ok) in [(1, false), (2, false), (3, true)] {
            let got = run(job.clone(), attempt).await;
            assert_eq!(got.is_ok(), ok, "attempt {attempt}: {got:?}");
        }
        assert_eq!(
            run(job, 3).await.unwrap(),
            json!({"pong": "hi", "attempt": 3})
        );
        let perm = Ping {
            fail_permanently: true,
            ..Ping::default()
        };
        assert!(matches!(run(perm, 1).await, Err(JobError::Permanent(_))));
    }
}
