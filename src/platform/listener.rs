//! One LISTEN connection per process: a NOTIFY on `cicero_jobs` (payload = queue name) wakes
//! that queue's fetcher. After a reconnect every queue is woken, since notifications sent
//! while disconnected are lost (the poll interval would also catch them).
use std::{collections::HashMap, sync::Arc, time::Duration};

use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const CHANNEL: &str = "cicero_jobs";

pub type Wakers = Arc<HashMap<String, Arc<Notify>>>;

pub fn wakers(queues: &[String]) -> Wakers {
    Arc::new(
        queues
            .iter()
            .map(|q| (q.clone(), Arc::new(Notify::new())))
            .collect(),
    )
}

pub async fn run(pool: PgPool, wakers: Wakers, stop: CancellationToken) {
    loop {
        let mut listener = match connect(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; polling until it is back");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.cancelled() => return,
                }
            }
        };
        wakers.values().for_each(|w| w.notify_one());
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(n) => {
                        if let Some(w) = wakers.get(n.payload()) {
                            w.notify_one();
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        break;
                    }
                },
                _ = stop.cancelled() => return,
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}
