//! Social ingestion: where posts and engagement come from ([`SocialSource`]: the RapidAPI
//! clients or the offline demo provider), the legacy rules as small pure functions
//! ([`rules`]), and the table access of the jobs ([`store`]). The handlers are
//! `src/work/{fetch_posts,refresh_engagement,sweep_social,sweep_amplify}.rs`; docs in
//! `docs/jobs.md` and `docs/providers.md`.
use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{
    config::{ProviderKind, RateLimit, Settings},
    platform::ratelimit,
    providers::{
        ProviderError, Target, Timeouts,
        instagram::{self, InstaPost, InstaProfile, InstagramClient},
        tiktok::{self, ClientPosts, CommentPacing, PostsBy, TiktokClient, TiktokPost, TiktokUser},
    },
};

pub mod bench;
pub mod demo;
pub mod rules;
pub mod store;

pub use cicero_jobs::ingest::Platform;

/// A boxed provider call (the trait is used as `dyn`).
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// Where the ingest jobs read social data. Usernames come back as the provider sent them;
/// the jobs normalise them.
pub trait SocialSource: Send + Sync {
    /// `rapidapi` or `demo`, for results and logs.
    fn name(&self) -> &'static str;
    /// Up to 50 recent posts of an Instagram account (legacy `POSTS_LIMIT`).
    fn instagram_posts<'a>(&'a self, username: &'a str) -> SourceFuture<'a, Vec<InstaPost>>;
    /// The likers of one post (up to 20 pages).
    fn instagram_likes<'a>(&'a self, shortcode: &'a str) -> SourceFuture<'a, Vec<String>>;
    /// The secUid of a TikTok account.
    fn tiktok_sec_uid<'a>(&'a self, username: &'a str) -> SourceFuture<'a, String>;
    /// The legacy client post fetch: by secUid, then the username fallback inside
    /// 11:00–17:15 WIB.
    fn tiktok_posts<'a>(
        &'a self,
        sec_uid: &'a str,
        username: &'a str,
        now: DateTime<Utc>,
    ) -> SourceFuture<'a, ClientPosts>;
    /// The commenters of one video.
    fn tiktok_comments<'a>(&'a self, video_id: &'a str) -> SourceFuture<'a, Vec<String>>;

    // ---- the dashboard's live calls (`rapid-*`, special-assignment link reports) ----------
    // Defaults answer a configuration error, so a source written for the jobs alone still
    // builds; both real sources implement them.

    /// An Instagram profile (`v1/info`).
    fn instagram_profile<'a>(&'a self, username: &'a str) -> SourceFuture<'a, InstaProfile> {
        let _ = username;
        Box::pin(async move { Err(unsupported(self.name(), "instagram_profile")) })
    }
    /// The newest `limit` posts of an account, whatever their day.
    fn instagram_recent_posts<'a>(
        &'a self,
        username: &'a str,
        limit: usize,
    ) -> SourceFuture<'a, Vec<InstaPost>> {
        Box::pin(async move {
            let mut posts = self.instagram_posts(username).await?;
            posts.truncate(limit);
            Ok(posts)
        })
    }
    /// One post by shortcode or URL (`v1/post_info`).
    fn instagram_post_info<'a>(&'a self, code_or_url: &'a str) -> SourceFuture<'a, InstaPost> {
        let _ = code_or_url;
        Box::pin(async move { Err(unsupported(self.name(), "instagram_post_info")) })
    }
    /// A TikTok account (`api/user/info`).
    fn tiktok_user<'a>(&'a self, username: &'a str) -> SourceFuture<'a, TiktokUser> {
        let _ = username;
        Box::pin(async move { Err(unsupported(self.name(), "tiktok_user")) })
    }
    /// The newest videos of an account by secUid or username (`api/user/posts` with its
    /// fallbacks), `limit` per call.
    fn tiktok_recent_posts<'a>(
        &'a self,
        by: &'a PostsBy,
        limit: u32,
    ) -> SourceFuture<'a, Vec<TiktokPost>> {
        let _ = (by, limit);
        Box::pin(async move { Err(unsupported(self.name(), "tiktok_recent_posts")) })
    }
    /// A provider answered 429 with Retry-After outside a job: hold every user of the shared
    /// rate key until `until` (the worker does the same for a throttled job).
    fn record_rate_limit<'a>(
        &'a self,
        until: DateTime<Utc>,
        reason: &'a str,
    ) -> SourceFuture<'a, ()> {
        let _ = (until, reason);
        Box::pin(async move { Ok(()) })
    }
}

fn unsupported(source: &str, call: &str) -> ProviderError {
    ProviderError::Config(format!("the {source} source does not provide {call}"))
}

/// The RapidAPI clients behind one cluster-wide limit: each provider operation (a post list,
/// one post's likes, one video's comments) takes a grant of the key's rate key first.
pub struct RapidApiSource {
    instagram: InstagramClient,
    tiktok: TiktokClient,
    limiter: Option<Limiter>,
}

struct Limiter {
    pool: PgPool,
    key: String,
    limit: RateLimit,
}

/// The `host` of the errors the shared limiter raises itself (its limit exhausted, or its store
/// unreachable), so callers can tell them from a provider's own answers.
pub const LIMITER_HOST: &str = "cicero rate limiter";

/// Waits shorter than this are slept inside the job; longer ones hand the job back to the
/// queue (`Throttled`) so that it does not hold a worker slot.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);

impl RapidApiSource {
    pub fn from_settings(s: &Settings, pool: Option<PgPool>) -> Result<Self, ProviderError> {
        let r = &s.rapidapi;
        let key = r.key.as_deref();
        let timeouts = Timeouts {
            connect: r.connect_timeout,
            request: r.timeout,
        };
        let fallback = Target::fallback(r.fallback_host.as_deref(), r.fallback_key.as_deref());
        let target = |host: &str, url: &Option<String>| -> Result<Target, ProviderError> {
            let t = Target::rapidapi(host, key, crate::providers::KEY_SETTING)?;
            Ok(match url {
                Some(u) => t.with_base_url(u.clone()),
                None => t,
            })
        };
        let instagram = InstagramClient::new(
            target(instagram::HOST, &r.instagram_url)?,
            fallback.clone(),
            timeouts,
        )?;
        let tiktok = TiktokClient::new(target(tiktok::HOST, &r.tiktok_url)?, fallback, timeouts)?
            .with_comment_pacing(CommentPacing {
                page_delay: r.comment_page_delay,
                ..CommentPacing::default()
            });
        let limiter = match (pool, rules::rate_key(s)) {
            (Some(pool), Some(key)) => s.rate_limit(&key).map(|limit| Limiter { pool, key, limit }),
            _ => None,
        };
        Ok(RapidApiSource {
            instagram,
            tiktok,
            limiter,
        })
    }

    /// Takes one grant of the shared limit, sleeping short waits; a long wait (a provider's
    /// block) becomes a 429-like error so the job is snoozed without spending an attempt.
    async fn grant(&self) -> Result<(), ProviderError> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        loop {
            match ratelimit::acquire(&l.pool, &l.key, l.limit).await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) if wait <= MAX_INLINE_WAIT => tokio::time::sleep(wait).await,
                Ok(Some(wait)) => {
                    return Err(ProviderError::RateLimited {
                        host: LIMITER_HOST.into(),
                        path: l.key.clone(),
                        retry_after: Some(wait),
                        body: "\"the shared RapidAPI limit is exhausted or blocked\"".into(),
                    });
                }
                Err(e) => return Err(limiter_store_failed(&l.key, &e)),
            }
        }
    }
}

/// The limiter's own database failed: logged here with the detail; the error names the key
/// for job logs, and HTTP answers name only the kind of failure (see the dashboard's
/// `provider_status`).
fn limiter_store_failed(key: &str, e: &sqlx::Error) -> ProviderError {
    tracing::warn!(error = %e, rate.key = key, "the shared rate limiter's store failed");
    ProviderError::Transient {
        host: LIMITER_HOST.into(),
        path: key.to_string(),
        status: None,
        message: format!("rate-limit store unavailable: {e}"),
    }
}

impl SocialSource for RapidApiSource {
    fn name(&self) -> &'static str {
        "rapidapi"
    }

    fn instagram_posts<'a>(&'a self, username: &'a str) -> SourceFuture<'a, Vec<InstaPost>> {
        Box::pin(async move {
            self.grant().await?;
            self.instagram.posts(username, instagram::POSTS_LIMIT).await
        })
    }

    fn instagram_likes<'a>(&'a self, shortcode: &'a str) -> SourceFuture<'a, Vec<String>> {
        Box::pin(async move {
            self.grant().await?;
            self.instagram
                .likes(shortcode, instagram::LIKES_MAX_PAGES)
                .await
        })
    }

    fn tiktok_sec_uid<'a>(&'a self, username: &'a str) -> SourceFuture<'a, String> {
        Box::pin(async move {
            self.grant().await?;
            self.tiktok.sec_uid(username).await
        })
    }

    fn tiktok_posts<'a>(
        &'a self,
        sec_uid: &'a str,
        username: &'a str,
        now: DateTime<Utc>,
    ) -> SourceFuture<'a, ClientPosts> {
        Box::pin(async move {
            self.grant().await?;
            self.tiktok
                .client_posts(sec_uid, username, tiktok::POSTS_COUNT, now)
                .await
        })
    }

    fn tiktok_comments<'a>(&'a self, video_id: &'a str) -> SourceFuture<'a, Vec<String>> {
        Box::pin(async move {
            self.grant().await?;
            self.tiktok.comments(video_id).await
        })
    }

    fn instagram_profile<'a>(&'a self, username: &'a str) -> SourceFuture<'a, InstaProfile> {
        Box::pin(async move {
            self.grant().await?;
            self.instagram.profile(username).await
        })
    }

    fn instagram_recent_posts<'a>(
        &'a self,
        username: &'a str,
        limit: usize,
    ) -> SourceFuture<'a, Vec<InstaPost>> {
        Box::pin(async move {
            self.grant().await?;
            self.instagram.posts(username, limit).await
        })
    }

    fn instagram_post_info<'a>(&'a self, code_or_url: &'a str) -> SourceFuture<'a, InstaPost> {
        Box::pin(async move {
            self.grant().await?;
            self.instagram.post_info(code_or_url).await
        })
    }

    fn tiktok_user<'a>(&'a self, username: &'a str) -> SourceFuture<'a, TiktokUser> {
        Box::pin(async move {
            self.grant().await?;
            self.tiktok.user_info(username).await
        })
    }

    fn tiktok_recent_posts<'a>(
        &'a self,
        by: &'a PostsBy,
        limit: u32,
    ) -> SourceFuture<'a, Vec<TiktokPost>> {
        Box::pin(async move {
            self.grant().await?;
            self.tiktok.user_posts(by, limit).await
        })
    }

    fn record_rate_limit<'a>(
        &'a self,
        until: DateTime<Utc>,
        reason: &'a str,
    ) -> SourceFuture<'a, ()> {
        Box::pin(async move {
            let Some(l) = &self.limiter else {
                return Ok(());
            };
            ratelimit::block(&l.pool, &l.key, until, reason)
                .await
                .map_err(|e| limiter_store_failed(&l.key, &e))
        })
    }
}

/// The source the settings select. `PROVIDER=rapidapi` without `RAPIDAPI_KEY` is a
/// configuration error naming the setting; nothing ever falls back to the demo data.
/// Sources are cached per process (one HTTP connection pool), keyed by their settings.
pub fn source(s: &Settings, pool: &PgPool) -> Result<Arc<dyn SocialSource>, ProviderError> {
    type Cache = Mutex<Option<(String, Arc<dyn SocialSource>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache_key = format!(
        "{:?}|{:?}|{:?}|{}",
        s.provider,
        s.rapidapi,
        rules::rate_key(s),
        s.database_url
    );
    let cache = CACHE.get_or_init(|| Mutex::new(None));
    if let Ok(c) = cache.lock()
        && let Some((k, src)) = c.as_ref()
        && *k == cache_key
    {
        return Ok(src.clone());
    }
    let src: Arc<dyn SocialSource> = match s.provider {
        ProviderKind::Demo => Arc::new(demo::DemoSource::default()),
        ProviderKind::RapidApi => Arc::new(RapidApiSource::from_settings(s, Some(pool.clone()))?),
    };
    if let Ok(mut c) = cache.lock() {
        *c = Some((cache_key, src.clone()));
    }
    Ok(src)
}

/// Worker start-up for the `ingest` queue: records the provider's rate key for the catalogue
/// and says loudly when `PROVIDER=rapidapi` has no key (each ingest job then fails with the
/// same configuration error instead of calling anything).
pub fn prepare_worker(s: &Settings, queues: &[String]) {
    cicero_jobs::ingest::set_provider_rate_key(rules::rate_key(s));
    if queues.iter().any(|q| q == cicero_jobs::ingest::QUEUE)
        && s.provider == ProviderKind::RapidApi
        && s.rapidapi.key.is_none()
    {
        tracing::error!(
            "{}; ingest jobs will fail until it is set (or PROVIDER=demo for the offline demo data)",
            ProviderError::missing_key(crate::providers::KEY_SETTING)
        );
    }
}
