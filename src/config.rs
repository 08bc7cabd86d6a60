//! Typed settings from the environment (and `.env`). Names follow the legacy `.env` where one
//! exists (`PORT`, `DB_*`, `BACKUP_DIR`); every setting is listed in `.env.example`.
//!
//! Parsing is a pure function over a lookup so it is table-tested; a bad value stops start-up
//! with one line naming the setting (exit code 2, see `main.rs`).
use std::{collections::BTreeMap, path::PathBuf, time::Duration};

/// A setting that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {setting}: {problem}")]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
}

fn bad(setting: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub db_pool_size: u32,
    pub port: u16,
    pub bind: String,
    /// Bearer token of the job API; `None` means `serve` refuses to start.
    pub job_api_token: Option<String>,
    pub backup_dir: PathBuf,
    pub backup_keep: u32,
    pub pg_dump: String,
    pub worker_concurrency: usize,
    pub queue_concurrency: BTreeMap<String, usize>,
    /// Jobs claimed ahead of free handler slots (per queue and process); 0 = the concurrency.
    pub prefetch: usize,

    pub poll_interval: Duration,
    pub heartbeat: Duration,
    pub rescue_after: Duration,
    pub shutdown_grace: Duration,
    /// `CRON_<ENTRY>` overrides of the cron table, by entry name.
    pub cron_overrides: BTreeMap<String, String>,
    /// `JOB_TIMEOUT_MS_<KIND>` overrides of a kind's per-attempt timeout.
    pub timeout_overrides: BTreeMap<String, u64>,
    /// Cluster-wide rate limits by key (`RATE_LIMITS`); a pattern ending in `*` is a prefix.
    pub rate_limits: Vec<(String, RateLimit)>,
    pub retain_done_days: u32,
    pub retain_failed_days: u32,
    /// WhatsApp, Redis and SMTP (issue 5).
    pub messaging: Messaging,
    /// Where social posts and engagement come from (`PROVIDER`).
    pub provider: ProviderKind,
    pub rapidapi: RapidApiSettings,
    /// Dashboard: HS256 secret of the dashboard and personnel JWTs; `None` = no dashboard API.
    pub jwt_secret: Option<String>,
    /// Dashboard origins allowed by CORS (comma-separated `CORS_ORIGIN`, legacy name).
    pub cors_origins: Vec<String>,
    /// Legacy switch that turns the duplicate-request guard off.
    pub allow_duplicate_requests: bool,
    /// Failed logins allowed per username and per IP in 15 minutes.
    pub login_max_attempts: u32,
    /// Tiers admitted by the premium guard (`DASHBOARD_PREMIUM_ALLOWED_TIERS`, lower case).
    pub premium_allowed_tiers: Vec<String>,
    /// How long the dashboard's `rapid-*` answers fetched live (profiles, post lists) stay in
    /// Redis, and how old a stored Instagram profile may be before it is fetched again
    /// (`RAPID_CACHE_SECS`, default 600; 0 = no cache).
    pub rapid_cache: Duration,
    /// Dashboard password-reset links: base and lifetime.
    pub password_reset: PasswordReset,
    /// The public origin of this API (`PUBLIC_API_URL`, as the dashboard's
    /// `NEXT_PUBLIC_API_URL`), for links in messages that point at the API itself (the claim
    /// portal's registration confirmation). See [`public_api_url`].
    pub public_api_url: String,
    /// The admin console (`/api/admin-system/*`): Telegram OTP login and roles.
    pub admin_system: AdminSystem,
}

/// The admin console's settings (`docs/admin-system.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminSystem {
    /// `TELEGRAM_BOT_TOKEN`: the bot that sends the login codes; `None` = no admin login.
    pub bot_token: Option<String>,
    /// `TELEGRAM_API_URL`: the Bot API base (default `https://api.telegram.org`).
    pub api_url: String,
    /// `TELEGRAM_ADMIN_CHAT_ID`: the chat ids that may ask for a code (comma list).
    pub chat_ids: Vec<String>,
    /// `ADMIN_SYSTEM_ROLE_MAP`: chat id -> `super_admin` | `finance_admin` | `auditor`; a
    /// listed chat not in the map is a `super_admin` (legacy default).
    pub roles: BTreeMap<String, String>,
}

impl AdminSystem {
    pub const ROLES: [&str; 3] = ["super_admin", "finance_admin", "auditor"];

    /// Served only with a bot and at least one admin chat.
    pub fn enabled(&self) -> bool {
        self.bot_token.is_some() && !self.chat_ids.is_empty()
    }

    /// The role of an admin chat; `None` when the chat may not log in.
    pub fn role_of(&self, chat_id: &str) -> Option<&str> {
        if !self.chat_ids.iter().any(|c| c == chat_id) {
            return None;
        }
        Some(
            self.roles
                .get(chat_id)
                .map_or("super_admin", String::as_str),
        )
    }
}

fn admin_system(get: &impl Fn(&str) -> Option<String>) -> Result<AdminSystem, ConfigError> {
    let api_url = get("TELEGRAM_API_URL").unwrap_or_else(|| "https://api.telegram.org".into());
    if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
        return Err(bad(
            "TELEGRAM_API_URL",
            "must start with http:// or https://",
        ));
    }
    let roles: BTreeMap<String, String> = match get("ADMIN_SYSTEM_ROLE_MAP") {
        None => BTreeMap::new(),
        Some(raw) => {
            let v: BTreeMap<String, String> = serde_json::from_str(&raw).map_err(|_| {
                bad(
                    "ADMIN_SYSTEM_ROLE_MAP",
                    "must be a JSON object {\"<chat id>\": \"super_admin|finance_admin|auditor\"}",
                )
            })?;
            if let Some((chat, role)) = v
                .iter()
                .find(|(_, r)| !AdminSystem::ROLES.contains(&r.as_str()))
            {
                return Err(bad(
                    "ADMIN_SYSTEM_ROLE_MAP",
                    format!("{chat}: {role:?} is not super_admin, finance_admin or auditor"),
                ));
            }
            v
        }
    };
    Ok(AdminSystem {
        bot_token: get("TELEGRAM_BOT_TOKEN"),
        api_url: api_url.trim_end_matches('/').to_owned(),
        chat_ids: list(get("TELEGRAM_ADMIN_CHAT_ID").as_deref(), ""),
        roles,
    })
}

/// The dashboard's password-reset link and token lifetime (legacy settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    /// The reset page, e.g. `https://papiqo.com/reset-password`; the link is
    /// `<page>?token=<token>`.
    pub page: String,
    /// How long a token is valid (`DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES`, default 15).
    pub token_minutes: u32,
}

impl Default for PasswordReset {
    fn default() -> Self {
        PasswordReset {
            page: reset_page(None),
            token_minutes: 15,
        }
    }
}

/// Legacy link base: `DASHBOARD_PASSWORD_RESET_URL`, else `DASHBOARD_URL`, else
/// `https://papiqo.com`; a trailing `/` dropped and `/reset-password` added unless the base
/// already ends with it.
pub fn reset_page(base: Option<&str>) -> String {
    let base = base
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .unwrap_or("https://papiqo.com");
    let base = base.strip_suffix('/').unwrap_or(base);
    if base.ends_with("/reset-password") {
        base.to_owned()
    } else {
        format!("{base}/reset-password")
    }
}

/// `RAPID_CACHE_SECS`: at most 30 days (it becomes a Redis `EX` and an SQL interval).
fn rapid_cache(get: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    let secs = num(get, "RAPID_CACHE_SECS", 600u64)?;
    if secs > 30 * 86_400 {
        return Err(bad("RAPID_CACHE_SECS", "must be at most 2592000 (30 days)"));
    }
    Ok(Duration::from_secs(secs))
}

/// `PUBLIC_API_URL` without a trailing `/`; else the `DASHBOARD_URL` origin (a deployment that
/// serves `/api` behind the dashboard's host), else `https://papiqo.com`.
fn public_api_url(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let (name, base) = match get("PUBLIC_API_URL").filter(|b| !b.trim().is_empty()) {
        Some(b) => ("PUBLIC_API_URL", b),
        None => (
            "DASHBOARD_URL",
            get("DASHBOARD_URL")
                .filter(|b| !b.trim().is_empty())
                .unwrap_or_else(|| "https://papiqo.com".into()),
        ),
    };
    let base = base.trim();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(bad(name, "must start with http:// or https://"));
    }
    Ok(base.strip_suffix('/').unwrap_or(base).to_owned())
}

fn password_reset(get: &impl Fn(&str) -> Option<String>) -> Result<PasswordReset, ConfigError> {
    let base = get("DASHBOARD_PASSWORD_RESET_URL").or_else(|| get("DASHBOARD_URL"));
    if let Some(b) = &base
        && !(b.starts_with("http://") || b.starts_with("https://"))
    {
        return Err(bad(
            if get("DASHBOARD_PASSWORD_RESET_URL").is_some() {
                "DASHBOARD_PASSWORD_RESET_URL"
            } else {
                "DASHBOARD_URL"
            },
            "must start with http:// or https://",
        ));
    }
    let token_minutes = num(get, "DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES", 15u32)?;
    // A reset link is a credential: at most a week.
    if !(1..=10_080).contains(&token_minutes) {
        return Err(bad(
            "DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES",
            "must be between 1 and 10080 (a week)",
        ));
    }
    Ok(PasswordReset {
        page: reset_page(base.as_deref()),
        token_minutes,
    })
}

/// `PROVIDER`: the real RapidAPI products, or the offline deterministic demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    RapidApi,
    Demo,
}

/// RapidAPI account and client settings. `Debug` never prints the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct RapidApiSettings {
    /// `RAPIDAPI_KEY`; required when `PROVIDER=rapidapi` (checked where it is used, so that
    /// processes that never call RapidAPI start without it).
    pub key: Option<String>,
    pub fallback_host: Option<String>,
    pub fallback_key: Option<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Base URL overrides (a proxy, a local fake API); `None`: `https://<host>`.
    pub instagram_url: Option<String>,
    pub tiktok_url: Option<String>,
    /// Pause between two TikTok comment pages (legacy 2 s).
    pub comment_page_delay: Duration,
}

impl std::fmt::Debug for RapidApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |k: &Option<String>| k.as_ref().map(|_| "<redacted>");
        f.debug_struct("RapidApiSettings")
            .field("key", &redact(&self.key))
            .field("fallback_host", &self.fallback_host)
            .field("fallback_key", &redact(&self.fallback_key))
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("instagram_url", &self.instagram_url)
            .field("tiktok_url", &self.tiktok_url)
            .field("comment_page_delay", &self.comment_page_delay)
            .finish()
    }
}

/// How `whatsapp_send` delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatsappTransportKind {
    /// The WAHA HTTP gateway (`WAHA_URL`): the production default.
    Waha,
    /// Record only (the outbox table): the default without `WAHA_URL`, and for tests.
    Outbox,
}

/// SMTP connection security.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Tls,
}

#[derive(Debug, Clone)]
pub struct Messaging {
    pub whatsapp_transport: WhatsappTransportKind,
    pub waha_url: Option<String>,
    pub waha_api_key: Option<String>,
    pub waha_session: String,
    /// Key of WAHA's webhook HMAC (`X-Webhook-Hmac`, sha512); without it the webhook says 401.
    pub waha_webhook_hmac_key: Option<String>,
    /// `ADMIN_WHATSAPP`: comma list of admin numbers.
    pub admin_whatsapp: Vec<String>,
    /// A digest not sent this long after its job was created is dropped.
    pub digest_max_delay: Duration,
    /// `PRIORITY_USER_NAMES`: names listed first among equals in recaps.
    pub priority_user_names: Vec<String>,
    pub redis_url: String,
    /// Prefix of every Redis key Cicero writes (several deployments or tests can share a server).
    pub redis_prefix: String,
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_user: Option<String>,
    pub smtp_pass: Option<String>,
    pub smtp_from: String,
    pub smtp_tls: SmtpTls,
    /// `DNS_RESOLVER` (`host:port`) for the MX check of `/api/claim/validate-email`; absent: the
    /// first `nameserver` of `/etc/resolv.conf`.
    pub dns_resolver: Option<String>,
}

fn messaging(get: &impl Fn(&str) -> Option<String>) -> Result<Messaging, ConfigError> {
    let waha_url = get("WAHA_URL").map(|u| u.trim_end_matches('/').to_string());
    let whatsapp_transport = match get("WHATSAPP_TRANSPORT").as_deref() {
        None if waha_url.is_some() => WhatsappTransportKind::Waha,
        None | Some("outbox") => WhatsappTransportKind::Outbox,
        Some("waha") if waha_url.is_some() => WhatsappTransportKind::Waha,
        Some("waha") => return Err(bad("WAHA_URL", "is required with WHATSAPP_TRANSPORT=waha")),
        Some(_) => return Err(bad("WHATSAPP_TRANSPORT", "must be waha or outbox")),
    };
    if let Some(u) = &waha_url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(bad("WAHA_URL", "must start with http:// or https://"));
    }
    let redis_url = redis_url(get("REDIS_URL"))?;
    let smtp_tls = match get("SMTP_TLS").as_deref() {
        None | Some("starttls") => SmtpTls::StartTls,
        Some("tls") => SmtpTls::Tls,
        Some("none") => SmtpTls::None,
        Some(_) => return Err(bad("SMTP_TLS", "must be starttls, tls or none")),
    };
    Ok(Messaging {
        whatsapp_transport,
        waha_url,
        waha_api_key: get("WAHA_API_KEY"),
        waha_session: get("WAHA_SESSION").unwrap_or_else(|| "default".into()),
        waha_webhook_hmac_key: get("WAHA_WEBHOOK_HMAC_KEY"),
        admin_whatsapp: list(get("ADMIN_WHATSAPP").as_deref(), ""),
        digest_max_delay: Duration::from_secs(
            60 * num(get, "DIGEST_MAX_DELAY_MINS", 90u64)?.max(1),
        ),
        priority_user_names: list(get("PRIORITY_USER_NAMES").as_deref(), ""),
        redis_url,
        redis_prefix: get("REDIS_PREFIX").unwrap_or_else(|| "cicero:".into()),
        smtp_host: get("SMTP_HOST"),
        smtp_port: num(get, "SMTP_PORT", 587u16)?,
        smtp_user: get("SMTP_USER"),
        smtp_pass: get("SMTP_PASS"),
        smtp_from: get("SMTP_FROM").unwrap_or_else(|| "cicero@localhost".into()),
        smtp_tls,
        dns_resolver: get("DNS_RESOLVER"),
    })
}

/// At most `max` grants in any sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

impl Settings {
    /// Reads the process environment after loading `.env` (if present).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::parse(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = match get("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(bad(
                        "DATABASE_URL",
                        "must start with postgres:// or postgresql://",
                    ));
                }
                url
            }
            None => legacy_db_url(&get)?,
        };
        let job_api_token = get("JOB_API_TOKEN");
        if let Some(t) = &job_api_token
            && t.len() < 16
        {
            return Err(bad("JOB_API_TOKEN", "must be at least 16 characters"));
        }
        let worker_concurrency = num(&get, "WORKER_CONCURRENCY", 8usize)?;
        if worker_concurrency == 0 {
            return Err(bad("WORKER_CONCURRENCY", "must be at least 1"));
        }
        let heartbeat = Duration::from_secs(num(&get, "WORKER_HEARTBEAT_SECS", 5u64)?.max(1));
        let rescue_after = Duration::from_secs(num(&get, "WORKER_RESCUE_AFTER_SECS", 30u64)?);
        if rescue_after < heartbeat * 2 {
            return Err(bad(
                "WORKER_RESCUE_AFTER_SECS",
                "must be at least twice WORKER_HEARTBEAT_SECS, or live workers look dead",
            ));
        }
        Ok(Settings {
            database_url,
            db_pool_size: num(&get, "DB_POOL_SIZE", 16u32)?.max(4),
            port: num(&get, "PORT", 3000u16)?,
            bind: get("BIND_ADDR").unwrap_or_else(|| "0.0.0.0".into()),
            job_api_token,
            backup_dir: PathBuf::from(get("BACKUP_DIR").unwrap_or_else(|| "backups".into())),
            backup_keep: num(&get, "BACKUP_KEEP", 7u32)?.max(1),
            pg_dump: get("PG_DUMP").unwrap_or_else(|| "pg_dump".into()),
            worker_concurrency,
            queue_concurrency: queue_concurrency(get("QUEUE_CONCURRENCY").as_deref())?,
            prefetch: num(&get, "WORKER_PREFETCH", 0usize)?,
            poll_interval: Duration::from_millis(
                num(&get, "WORKER_POLL_INTERVAL_MS", 1000u64)?.max(10),
            ),
            heartbeat,
            rescue_after,
            shutdown_grace: Duration::from_secs(num(&get, "WORKER_SHUTDOWN_GRACE_SECS", 30u64)?),
            cron_overrides: cron_overrides(&get)?,
            timeout_overrides: timeout_overrides(&get)?,
            rate_limits: with_rapidapi_default(
                with_default_limits(rate_limits(get("RATE_LIMITS").as_deref())?),
                get("RAPIDAPI_RATE_LIMIT").as_deref(),
            )?,
            provider: match get("PROVIDER").as_deref().map(str::trim) {
                None | Some("rapidapi") => ProviderKind::RapidApi,
                Some("demo") => ProviderKind::Demo,
                Some(other) => {
                    return Err(bad(
                        "PROVIDER",
                        format!("{other:?} is not a provider (rapidapi or demo)"),
                    ));
                }
            },
            rapidapi: RapidApiSettings {
                key: get("RAPIDAPI_KEY"),
                fallback_host: get("RAPIDAPI_FALLBACK_HOST"),
                fallback_key: get("RAPIDAPI_FALLBACK_KEY"),
                connect_timeout: Duration::from_millis(
                    num(&get, "RAPIDAPI_CONNECT_TIMEOUT_MS", 10_000u64)?.max(1),
                ),
                timeout: Duration::from_millis(num(&get, "RAPIDAPI_TIMEOUT_MS", 30_000u64)?.max(1)),
                instagram_url: get("RAPIDAPI_INSTAGRAM_URL"),
                tiktok_url: get("RAPIDAPI_TIKTOK_URL"),
                comment_page_delay: Duration::from_millis(num(
                    &get,
                    "TIKTOK_COMMENT_PAGE_DELAY_MS",
                    2_000u64,
                )?),
            },
            retain_done_days: num(&get, "RETAIN_DONE_DAYS", 7u32)?.max(1),
            retain_failed_days: num(&get, "RETAIN_FAILED_DAYS", 30u32)?.max(1),
            messaging: messaging(&get)?,
            jwt_secret: jwt_secret(get("JWT_SECRET"))?,
            cors_origins: list(get("CORS_ORIGIN").as_deref(), "http://localhost:3000"),
            allow_duplicate_requests: flag(&get, "ALLOW_DUPLICATE_REQUESTS")?,
            login_max_attempts: num(&get, "LOGIN_MAX_ATTEMPTS", 10u32)?.max(1),
            premium_allowed_tiers: list(
                get("DASHBOARD_PREMIUM_ALLOWED_TIERS").as_deref(),
                "tier1,tier2,premium_1",
            )
            .into_iter()
            .map(|t| t.to_lowercase())
            .collect(),
            rapid_cache: rapid_cache(&get)?,
            password_reset: password_reset(&get)?,
            public_api_url: public_api_url(&get)?,
            admin_system: admin_system(&get)?,
        })
    }

    /// Concurrency of one queue: its `QUEUE_CONCURRENCY` entry or `WORKER_CONCURRENCY`.
    pub fn concurrency(&self, queue: &str) -> usize {
        // WhatsApp sends go one at a time unless configured: in order, paced.
        let default = if queue == "whatsapp" {
            1
        } else {
            self.worker_concurrency
        };
        self.queue_concurrency
            .get(queue)
            .copied()
            .unwrap_or(default)
    }

    /// Per-attempt timeout of a kind: its `JOB_TIMEOUT_MS_<KIND>` or the catalogue's.
    pub fn timeout(&self, kind: &str) -> Duration {
        let ms = self.timeout_overrides.get(kind).copied();
        Duration::from_millis(
            ms.or_else(|| cicero_jobs::spec(kind).map(|s| s.timeout_ms))
                .unwrap_or(60_000),
        )
    }

    /// How many claimed jobs a queue buffers in one process: `WORKER_PREFETCH`, or the queue's
    /// concurrency when that is 0 (unset). Claims refill it in batches of at least half.
    pub fn prefetch(&self, queue: &str) -> usize {
        if self.prefetch > 0 {
            self.prefetch
        } else {
            self.concurrency(queue)
        }
    }

    /// The limit of a rate key (see [`find_limit`]).
    pub fn rate_limit(&self, key: &str) -> Option<RateLimit> {
        find_limit(&self.rate_limits, key)
    }

    pub fn require_api_token(&self) -> Result<&str, ConfigError> {
        self.job_api_token
            .as_deref()
            .ok_or_else(|| bad("JOB_API_TOKEN", "is required to serve the job API"))
    }

    /// The database name, for backup file names.
    pub fn database_name(&self) -> String {
        let rest = self.database_url.rsplit('/').next().unwrap_or_default();
        let name = rest.split('?').next().unwrap_or_default();
        if name.is_empty() {
            "cicero".into()
        } else {
            name.into()
        }
    }
}

fn redis_url(raw: Option<String>) -> Result<String, ConfigError> {
    let url = raw.unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        Ok(url)
    } else {
        Err(bad("REDIS_URL", "must start with redis:// or rediss://"))
    }
}

fn jwt_secret(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    match raw {
        Some(s) if s.len() < 16 => Err(bad("JWT_SECRET", "must be at least 16 characters")),
        other => Ok(other),
    }
}

/// A comma-separated list; `default` when unset.
fn list(raw: Option<&str>, default: &str) -> Vec<String> {
    raw.unwrap_or(default)
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `true/1/yes/on` or `false/0/no/off` (legacy envalid bool).
fn flag(get: &impl Fn(&str) -> Option<String>, key: &str) -> Result<bool, ConfigError> {
    match get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if ["true", "1", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["false", "0", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(bad(key, format!("{v:?} is not true or false"))),
    }
}

/// The legacy `.env` describes the database as `DB_HOST`, `DB_PORT`, `DB_USER`, `DB_PASS`,
/// `DB_NAME`; used when `DATABASE_URL` is not set.
fn legacy_db_url(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let name = get("DB_NAME").ok_or_else(|| {
        bad(
            "DATABASE_URL",
            "is not set (nor DB_NAME with DB_HOST/DB_USER/DB_PASS/DB_PORT)",
        )
    })?;
    let host = get("DB_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = num(get, "DB_PORT", 5432u16)?;
    let user = get("DB_USER").unwrap_or_else(|| "postgres".into());
    let auth = match get("DB_PASS") {
        Some(p) => format!("{}:{}", encode(&user), encode(&p)),
        None => encode(&user),
    };
    Ok(format!("postgres://{auth}@{host}:{port}/{}", encode(&name)))
}

/// Percent-encodes what may not appear raw in the user-info or path of a URL.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
) -> Result<T, ConfigError> {
    match get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| bad(key, format!("{v:?} is not a valid number"))),
    }
}

/// `CRON_BACKUP_DB="0 30 3 * * *"` replaces the expression of entry `backup_db`.
fn cron_overrides(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for e in cicero_jobs::schedule::entries() {
        let key = format!("CRON_{}", e.name.to_uppercase());
        if let Some(expr) = get(&key) {
            <cron::Schedule as std::str::FromStr>::from_str(&expr).map_err(|err| {
                bad(
                    key.clone(),
                    format!(
                        "{expr:?} is not a cron expression (sec min hour day month weekday): {}",
                        // The cron crate's message spans lines; start-up errors are one line.
                        err.to_string()
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                )
            })?;
            out.insert(e.name.to_string(), expr);
        }
    }
    Ok(out)
}

/// `JOB_TIMEOUT_MS_BACKUP_DB=3600000` raises the timeout of `backup_db` (e.g. a big database).
fn timeout_overrides(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, u64>, ConfigError> {
    let mut out = BTreeMap::new();
    for spec in cicero_jobs::CATALOGUE {
        let key = format!("JOB_TIMEOUT_MS_{}", spec.kind.to_uppercase());
        if get(&key).is_some() {
            let ms: u64 = num(get, &key, 0)?;
            if ms == 0 {
                return Err(bad(key, "must be a positive number of milliseconds"));
            }
            out.insert(spec.kind.to_string(), ms);
        }
    }
    Ok(out)
}

/// The limit of a rate key: an exact pattern first, then the longest matching `prefix*`.
pub fn find_limit(limits: &[(String, RateLimit)], key: &str) -> Option<RateLimit> {
    if let Some((_, l)) = limits.iter().find(|(p, _)| p == key) {
        return Some(*l);
    }
    limits
        .iter()
        .filter_map(|(p, l)| {
            p.strip_suffix('*')
                .filter(|prefix| key.starts_with(prefix))
                .map(|prefix| (prefix.len(), *l))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, l)| l)
}

/// Pacing of WhatsApp sends per session unless `RATE_LIMITS` names a `whatsapp` key: 20 a
/// minute (the legacy outbox design allowed 40/min; WAHA advises slow, spaced sends).
pub const DEFAULT_WHATSAPP_LIMIT: &str = "whatsapp:*=20/60s";

fn with_default_limits(mut limits: Vec<(String, RateLimit)>) -> Vec<(String, RateLimit)> {
    if !limits.iter().any(|(k, _)| k.starts_with("whatsapp")) {
        limits.extend(rate_limits(Some(DEFAULT_WHATSAPP_LIMIT)).unwrap_or_default());
    }
    limits
}

/// `rapidapi:*=10/1s,whatsapp:*=20/60s` → limits by key pattern.
fn rate_limits(raw: Option<&str>) -> Result<Vec<(String, RateLimit)>, ConfigError> {
    let mut out = Vec::new();
    for part in raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let err = || {
            bad(
                "RATE_LIMITS",
                format!("{part:?} is not key=N/SECONDSs (e.g. rapidapi:*=10/1s)"),
            )
        };
        let (key, spec) = part.rsplit_once('=').ok_or_else(err)?;
        let (n, per) = spec.split_once('/').ok_or_else(err)?;
        let max: u32 = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(err)?;
        let secs: f64 = per
            .trim()
            .trim_end_matches('s')
            .parse()
            .ok()
            .filter(|s: &f64| *s > 0.0 && *s <= 86_400.0)
            .ok_or_else(err)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(err());
        }
        out.push((
            key.to_string(),
            RateLimit {
                max,
                window: Duration::from_secs_f64(secs),
            },
        ));
    }
    Ok(out)
}

/// The default cluster-wide limit of RapidAPI calls (`RAPIDAPI_RATE_LIMIT`, `N/SECONDSs`,
/// default 10/1s) as the prefix `rapidapi:*`, unless `RATE_LIMITS` already has an entry for
/// `rapidapi:` keys (an explicit entry wins).
fn with_rapidapi_default(
    mut limits: Vec<(String, RateLimit)>,
    raw: Option<&str>,
) -> Result<Vec<(String, RateLimit)>, ConfigError> {
    let entry = format!("rapidapi:*={}", raw.unwrap_or("10/1s").trim());
    let default = rate_limits(Some(&entry)).map_err(|e| ConfigError {
        setting: "RAPIDAPI_RATE_LIMIT".into(),
        problem: e.problem.replace("rapidapi:*=", ""),
    })?;
    if !limits.iter().any(|(p, _)| p.starts_with("rapidapi:")) {
        limits.extend(default);
    }
    Ok(limits)
}

/// `maintenance=1,diagnostics=4` → per-queue concurrency; names must be catalogue queues.
fn queue_concurrency(raw: Option<&str>) -> Result<BTreeMap<String, usize>, ConfigError> {
    let mut out = BTreeMap::new();
    for part in raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (q, n) = part
            .split_once('=')
            .ok_or_else(|| bad("QUEUE_CONCURRENCY", format!("{part:?} is not queue=number")))?;
        let q = q.trim();
        if !cicero_jobs::QUEUES.contains(&q) {
            return Err(bad(
                "QUEUE_CONCURRENCY",
                format!(
                    "unknown queue {q:?} (known: {})",
                    cicero_jobs::QUEUES.join(", ")
                ),
            ));
        }
        let n: usize = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            bad(
                "QUEUE_CONCURRENCY",
                format!("{part:?}: concurrency must be a positive number"),
            )
        })?;
        out.insert(q.to_string(), n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::parse(|k| map.get(k).cloned())
    }

    const URL: (&str, &str) = ("DATABASE_URL", "postgres://u@h/db");

    #[test]
    fn errors_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "DATABASE_URL"),
            (&[("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (&[URL, ("PORT", "eighty")], "PORT"),
            (&[URL, ("PORT", "70000")], "PORT"),
            (&[URL, ("JOB_API_TOKEN", "short")], "JOB_API_TOKEN"),
            (&[URL, ("WORKER_CONCURRENCY", "0")], "WORKER_CONCURRENCY"),
            (&[URL, ("QUEUE_CONCURRENCY", "nope=2")], "QUEUE_CONCURRENCY"),
            (
                &[URL, ("QUEUE_CONCURRENCY", "maintenance")],
                "QUEUE_CONCURRENCY",
            ),
            (
                &[URL, ("QUEUE_CONCURRENCY", "maintenance=0")],
                "QUEUE_CONCURRENCY",
            ),
            (
                &[URL, ("WORKER_RESCUE_AFTER_SECS", "5")],
                "WORKER_RESCUE_AFTER_SECS",
            ),
            (&[("DB_NAME", "x"), ("DB_PORT", "abc")], "DB_PORT"),
            (&[URL, ("CRON_BACKUP_DB", "0 4 * * *")], "CRON_BACKUP_DB"),
            (&[URL, ("JOB_TIMEOUT_MS_PING", "0")], "JOB_TIMEOUT_MS_PING"),
            (&[URL, ("RATE_LIMITS", "rapidapi=10")], "RATE_LIMITS"),
            (&[URL, ("RATE_LIMITS", "rapidapi=0/1s")], "RATE_LIMITS"),
            (&[URL, ("RATE_LIMITS", "=5/1s")], "RATE_LIMITS"),
            (&[URL, ("RETAIN_DONE_DAYS", "a week")], "RETAIN_DONE_DAYS"),
            (&[URL, ("PROVIDER", "mock")], "PROVIDER"),
            (&[URL, ("RAPID_CACHE_SECS", "9999999")], "RAPID_CACHE_SECS"),
            (
                &[URL, ("DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES", "3000000000")],
                "DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES",
            ),
            (
                &[URL, ("RAPIDAPI_RATE_LIMIT", "fast")],
                "RAPIDAPI_RATE_LIMIT",
            ),
            (
                &[URL, ("RAPIDAPI_TIMEOUT_MS", "30s")],
                "RAPIDAPI_TIMEOUT_MS",
            ),
            (&[URL, ("JWT_SECRET", "short")], "JWT_SECRET"),
            (
                &[URL, ("ALLOW_DUPLICATE_REQUESTS", "maybe")],
                "ALLOW_DUPLICATE_REQUESTS",
            ),
            (
                &[URL, ("JOB_TIMEOUT_MS_PING", "soon")],
                "JOB_TIMEOUT_MS_PING",
            ),
        ];
        for (pairs, setting) in cases {
            let err = parse(pairs).expect_err(setting);
            assert_eq!(err.setting, *setting, "{pairs:?}");
            assert!(err.to_string().starts_with(&format!("setting {setting}: ")));
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let s = parse(&[URL, ("QUEUE_CONCURRENCY", "maintenance=1, diagnostics=4")]).unwrap();
        assert_eq!(s.port, 3000);
        assert_eq!(s.concurrency("maintenance"), 1);
        assert_eq!(s.concurrency("diagnostics"), 4);
        assert_eq!(s.database_name(), "db");
        assert!(s.require_api_token().is_err());
        assert_eq!(s.rescue_after, Duration::from_secs(30));
        assert_eq!(s.timeout("ping"), Duration::from_secs(30));
        let s = parse(&[URL, ("JOB_TIMEOUT_MS_PING", "250")]).unwrap();
        assert_eq!(s.timeout("ping"), Duration::from_millis(250));
        let s = parse(&[
            URL,
            (
                "RATE_LIMITS",
                "rapidapi:*=10/1s, rapidapi:key1=2/1s,whatsapp:*=20/60s",
            ),
        ])
        .unwrap();
        let ten = RateLimit {
            max: 10,
            window: Duration::from_secs(1),
        };
        assert_eq!(s.rate_limit("rapidapi:key2"), Some(ten));
        assert_eq!(s.rate_limit("rapidapi:key1").map(|l| l.max), Some(2));
        assert_eq!(
            s.rate_limit("whatsapp:main").map(|l| l.window),
            Some(Duration::from_secs(60))
        );
        assert_eq!(s.rate_limit("other"), None);
        let s = parse(&[URL, ("RAPIDAPI_KEY", "secret-key-1")]).unwrap();
        assert_eq!(s.provider, ProviderKind::RapidApi);
        assert_eq!(s.rate_limit("rapidapi:abc").map(|l| l.max), Some(10));
        assert!(!format!("{s:?}").contains("secret-key-1"));
        let s = parse(&[URL, ("PROVIDER", "demo"), ("RAPIDAPI_RATE_LIMIT", "3/2s")]).unwrap();
        assert_eq!(s.provider, ProviderKind::Demo);
        assert_eq!(
            s.rate_limit("rapidapi:abc"),
            Some(RateLimit {
                max: 3,
                window: Duration::from_secs(2)
            })
        );
        let s = parse(&[URL, ("RATE_LIMITS", "rapidapi:*=50/1s")]).unwrap();
        assert_eq!(s.rate_limit("rapidapi:abc").map(|l| l.max), Some(50));
        // The explicit rapidapi entry replaces the rapidapi default; the whatsapp default stays.
        let keys: Vec<&str> = s.rate_limits.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["rapidapi:*", "whatsapp:*"]);
        let s = parse(&[URL, ("CRON_BACKUP_DB", "*/2 * * * * *")]).unwrap();
        assert_eq!(
            s.cron_overrides.get("backup_db").map(String::as_str),
            Some("*/2 * * * * *")
        );
    }

    #[test]
    fn messaging_settings() {
        let s = parse(&[URL]).unwrap();
        let m = &s.messaging;
        assert_eq!(m.whatsapp_transport, WhatsappTransportKind::Outbox);
        assert_eq!((m.waha_session.as_str(), m.smtp_port), ("default", 587));
        assert_eq!(m.smtp_tls, SmtpTls::StartTls);
        assert_eq!(m.digest_max_delay, Duration::from_secs(90 * 60));
        assert_eq!(s.concurrency("whatsapp"), 1);
        assert_eq!(s.rate_limit("whatsapp:default").map(|l| l.max), Some(20));
        let s = parse(&[
            URL,
            ("WAHA_URL", "http://127.0.0.1:3001/"),
            ("ADMIN_WHATSAPP", "0811, 0812"),
            ("RATE_LIMITS", "whatsapp:main=5/60s"),
            ("QUEUE_CONCURRENCY", "whatsapp=2"),
        ])
        .unwrap();
        assert_eq!(s.messaging.whatsapp_transport, WhatsappTransportKind::Waha);
        assert_eq!(
            s.messaging.waha_url.as_deref(),
            Some("http://127.0.0.1:3001")
        );
        assert_eq!(s.messaging.admin_whatsapp, vec!["0811", "0812"]);
        assert_eq!(
            s.rate_limit("whatsapp:default"),
            None,
            "an explicit whatsapp key replaces the default"
        );
        assert_eq!(s.concurrency("whatsapp"), 2);
        let s = parse(&[
            URL,
            ("WAHA_URL", "http://w"),
            ("WHATSAPP_TRANSPORT", "outbox"),
        ])
        .unwrap();
        assert_eq!(
            s.messaging.whatsapp_transport,
            WhatsappTransportKind::Outbox
        );
        for (pairs, setting) in [
            (&[URL, ("WHATSAPP_TRANSPORT", "waha")][..], "WAHA_URL"),
            (
                &[URL, ("WHATSAPP_TRANSPORT", "sms")][..],
                "WHATSAPP_TRANSPORT",
            ),
            (&[URL, ("WAHA_URL", "waha:3000")][..], "WAHA_URL"),
            (&[URL, ("REDIS_URL", "localhost:6379")][..], "REDIS_URL"),
            (&[URL, ("SMTP_TLS", "ssl")][..], "SMTP_TLS"),
            (&[URL, ("SMTP_PORT", "x")][..], "SMTP_PORT"),
            (
                &[URL, ("DIGEST_MAX_DELAY_MINS", "-1")][..],
                "DIGEST_MAX_DELAY_MINS",
            ),
        ] {
            assert_eq!(parse(pairs).unwrap_err().setting, setting, "{pairs:?}");
        }
    }

    #[test]
    fn password_reset_settings() {
        let s = parse(&[URL]).unwrap();
        assert_eq!(s.password_reset, PasswordReset::default());
        assert_eq!(s.password_reset.page, "https://papiqo.com/reset-password");
        assert_eq!(s.password_reset.token_minutes, 15);
        for (pairs, page) in [
            (
                &[URL, ("DASHBOARD_URL", "https://dash.example/")][..],
                "https://dash.example/reset-password",
            ),
            (
                &[
                    URL,
                    ("DASHBOARD_URL", "https://dash.example"),
                    (
                        "DASHBOARD_PASSWORD_RESET_URL",
                        "https://x.example/app/reset-password/",
                    ),
                ][..],
                "https://x.example/app/reset-password",
            ),
        ] {
            assert_eq!(parse(pairs).unwrap().password_reset.page, page, "{pairs:?}");
        }
        let s = parse(&[URL, ("DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES", "30")]).unwrap();
        assert_eq!(s.password_reset.token_minutes, 30);
        for (pairs, setting) in [
            (
                &[URL, ("DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES", "0")][..],
                "DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES",
            ),
            (
                &[URL, ("DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES", "soon")][..],
                "DASHBOARD_RESET_TOKEN_EXPIRY_MINUTES",
            ),
            (
                &[URL, ("DASHBOARD_URL", "dash.example")][..],
                "DASHBOARD_URL",
            ),
            (
                &[URL, ("DASHBOARD_PASSWORD_RESET_URL", "ftp://x")][..],
                "DASHBOARD_PASSWORD_RESET_URL",
            ),
        ] {
            assert_eq!(parse(pairs).unwrap_err().setting, setting, "{pairs:?}");
        }
    }

    #[test]
    fn public_api_url_settings() {
        assert_eq!(parse(&[URL]).unwrap().public_api_url, "https://papiqo.com");
        for (pairs, want) in [
            (
                &[URL, ("DASHBOARD_URL", "https://dash.example/")][..],
                "https://dash.example",
            ),
            (
                &[
                    URL,
                    ("DASHBOARD_URL", "https://dash.example"),
                    ("PUBLIC_API_URL", " https://api.example/ "),
                ][..],
                "https://api.example",
            ),
            (
                &[
                    URL,
                    ("PUBLIC_API_URL", ""),
                    ("DASHBOARD_URL", "http://d.example"),
                ][..],
                "http://d.example",
            ),
        ] {
            assert_eq!(parse(pairs).unwrap().public_api_url, want, "{pairs:?}");
        }
        assert_eq!(
            parse(&[URL, ("PUBLIC_API_URL", "api.example")])
                .unwrap_err()
                .setting,
            "PUBLIC_API_URL"
        );
    }

    #[test]
    fn admin_system_settings() {
        let s = parse(&[URL]).unwrap();
        assert!(!s.admin_system.enabled());
        assert_eq!(s.admin_system.api_url, "https://api.telegram.org");
        let s = parse(&[
            URL,
            ("TELEGRAM_BOT_TOKEN", "123:abc"),
            ("TELEGRAM_API_URL", "http://127.0.0.1:9/"),
            ("TELEGRAM_ADMIN_CHAT_ID", "111, 222,333"),
            (
                "ADMIN_SYSTEM_ROLE_MAP",
                r#"{"222":"auditor","333":"finance_admin"}"#,
            ),
        ])
        .unwrap()
        .admin_system;
        assert!(s.enabled());
        assert_eq!(s.api_url, "http://127.0.0.1:9");
        assert_eq!(s.role_of("111"), Some("super_admin"));
        assert_eq!(s.role_of("222"), Some("auditor"));
        assert_eq!(s.role_of("333"), Some("finance_admin"));
        assert_eq!(s.role_of("444"), None);
        for (k, v) in [
            ("ADMIN_SYSTEM_ROLE_MAP", r#"{"1":"boss"}"#),
            ("ADMIN_SYSTEM_ROLE_MAP", "[1]"),
            ("TELEGRAM_API_URL", "api.telegram.org"),
        ] {
            assert_eq!(parse(&[URL, (k, v)]).unwrap_err().setting, k, "{v}");
        }
    }

    #[test]
    fn env_example_lists_every_setting() {
        let example = include_str!("../.env.example");
        let source = include_str!("config.rs");
        let mut names: Vec<&str> = source
            .split("get(\"")
            .skip(1)
            .chain(source.split("num(&get, \"").skip(1))
            .chain(source.split("num(get, \"").skip(1))
            .filter_map(|rest| rest.split('"').next())
            .filter(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !n.is_empty())
            .collect();
        names.extend([
            "REDIS_URL",
            "JWT_SECRET",
            "CORS_ORIGIN",
            "ALLOW_DUPLICATE_REQUESTS",
            "DASHBOARD_PREMIUM_ALLOWED_TIERS",
            "CRON_BACKUP_DB",
            "JOB_TIMEOUT_MS_BACKUP_DB",
            "JOB_TIMEOUT_MS_PING",
            "RUST_LOG",
        ]);
        assert!(names.len() > 15, "found {names:?}");
        for n in names {
            assert!(example.contains(&format!("{n}=")), ".env.example lacks {n}");
        }
    }

    #[test]
    fn legacy_db_settings_build_a_url() {
        let s = parse(&[
            ("DB_HOST", "db.local"),
            ("DB_USER", "cicero"),
            ("DB_PASS", "p@ss/word"),
            ("DB_NAME", "cicero_db"),
        ])
        .unwrap();
        assert_eq!(
            s.database_url,
            "postgres://cicero:p%40ss%2Fword@db.local:5432/cicero_db"
        );
        assert_eq!(s.database_name(), "cicero_db");
    }
}
