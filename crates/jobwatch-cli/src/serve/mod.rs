//! `jobwatch serve`: the whole system in one process on the embedded SQLite store: the HTTP
//! API, a sweep loop that wakes at the earliest deadline, and alert delivery (console always,
//! Slack when a webhook is configured, through the same environment policy and alert-fatigue
//! rules as the formatter Lambda) from the store's outbox, so no alert is lost to a restart
//! or a Slack outage.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::{Context, Result};
use clap::Args;
use jiff::Timestamp;
use jobwatch_api::{Api, ApiConfig, DEFAULT_PING_BODY_LIMIT, Secret, WebConfig, generate_key};
use jobwatch_core::Duration;
use jobwatch_notify::{Class, Delivery, Policy, SlackClient, Webhooks};
use jobwatch_sqlite::SqliteStore;
use jobwatch_store::{Engine, Settings, Store};
use tokio::sync::watch;

/// Prints a line to stdout, ignoring a closed or full pipe: the console is a convenience, and
/// losing it must never stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}

mod delivery;

use delivery::{Outlet, UntilStopped, delivery_loop};

#[derive(Args)]
#[command(
    about = "Run jobwatch locally: HTTP API, sweeps and alerts, on an embedded SQLite file",
    after_help = "Examples:
  jobwatch serve
  jobwatch serve --listen 0.0.0.0:8000 --data /var/lib/jobwatch/jobwatch.db --env prod
  JOBWATCH_SLACK_WEBHOOK=https://hooks.slack.com/services/... jobwatch serve"
)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, env = "JOBWATCH_LISTEN", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// The SQLite database file (created if missing).
    #[arg(long, env = "JOBWATCH_DATA", default_value = "./jobwatch.db")]
    data: PathBuf,
    /// Environment name shown in alerts (dev, staging, prod, ...).
    #[arg(long, env = "JOBWATCH_ENV", default_value = "dev")]
    env: String,
    /// Key for the admin API. When absent, one is generated on first start, printed once and
    /// stored (hashed).
    #[arg(long, env = "JOBWATCH_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Key in ping URLs (/ping/<ping-key>/<slug>). Generated like the API key when absent.
    #[arg(long, env = "JOBWATCH_PING_KEY", hide_env_values = true)]
    ping_key: Option<String>,
    /// Slack incoming webhook URL to post alerts to.
    #[arg(long, env = "JOBWATCH_SLACK_WEBHOOK", hide_env_values = true)]
    slack_webhook: Option<String>,
    /// A second webhook that critical alerts are also posted to.
    #[arg(long, env = "JOBWATCH_ESCALATION_WEBHOOK", hide_env_values = true)]
    escalation_webhook: Option<String>,
    /// Post to Slack in the dev environment too (its policy is to log only). The other
    /// policy variables (JOBWATCH_POST_MIN_SEVERITY, JOBWATCH_DIGEST_WINDOW,
    /// JOBWATCH_FATIGUE_WINDOW, ...) are read from the environment as the Lambdas read them.
    #[arg(long, env = "JOBWATCH_DEBUG")]
    debug: bool,
    /// Base URL printed in ping URLs (default: http://<listen address>).
    #[arg(long, env = "JOBWATCH_PUBLIC_URL")]
    public_url: Option<String>,
    /// Longest time between sweeps; sweeps also run at every deadline as it passes.
    #[arg(long, env = "JOBWATCH_SWEEP_INTERVAL", default_value = "10s")]
    sweep_interval: Duration,
    /// Bytes of each ping body kept as the run's output.
    #[arg(long, env = "JOBWATCH_PING_BODY_LIMIT", default_value_t = DEFAULT_PING_BODY_LIMIT)]
    ping_body_limit: usize,
    /// How often a job still down is announced again (0 never), unless the job says.
    #[arg(long, env = "JOBWATCH_REPEAT_INTERVAL", default_value = "4h")]
    repeat_interval: Duration,
    /// Daily report time, HH:MM in --report-tz (no report when absent).
    #[arg(long, env = "JOBWATCH_REPORT_AT")]
    report_at: Option<String>,
    /// Time zone of --report-at (IANA name).
    #[arg(long, env = "JOBWATCH_REPORT_TZ", default_value = "UTC")]
    report_tz: String,
    /// How long a web view login lasts.
    #[arg(long, env = "JOBWATCH_SESSION_LIFETIME", default_value = "12h")]
    session_lifetime: Duration,
}

pub fn run(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JOBWATCH_LOG")
                .unwrap_or_else(|_| "jobwatch=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<()> {
    // Everything a user typed is checked before anything is bound, created or printed.
    let slack_webhook = webhook_url("--slack-webhook", args.slack_webhook.as_deref())?;
    let escalation_webhook =
        webhook_url("--escalation-webhook", args.escalation_webhook.as_deref())?;
    if let Some(url) = &args.public_url {
        public_url_check(url)?;
    }
    let (report_schedule, report_day) =
        report_schedule(args.report_at.as_deref(), &args.report_tz)?.unzip();
    let store = SqliteStore::open(&args.data)
        .with_context(|| format!("opening the database {}", args.data.display()))?;
    // The address before the keys: a key generated on first start is printed once, so a
    // start that cannot listen must not get as far as generating (and losing) it.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener
        .local_addr()
        .context("reading the listening address")?;
    let api_key = key(&store, "api_key_hash", args.api_key.as_deref(), "API key").await?;
    let ping_key = key(
        &store,
        "ping_key_hash",
        args.ping_key.as_deref(),
        "ping key",
    )
    .await?;
    let signing_secret = signing_secret(&store).await?;
    let mut policy = Policy::from_vars(|name| match name {
        // Given as --debug (or the same variable), parsed by clap.
        "JOBWATCH_DEBUG" => None,
        name => std::env::var(name).ok(),
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    policy.debug = args.debug;
    let webhook = |url: Option<String>| -> Result<Option<SlackClient>> {
        url.map(|url| SlackClient::new(url).context("setting up the Slack client"))
            .transpose()
    };
    let slack = match webhook(slack_webhook)? {
        Some(main) => Some(Webhooks {
            main,
            escalation: webhook(escalation_webhook)?,
            unrecorded: Default::default(),
        }),
        None => None,
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let engine = Arc::new(
        Engine::new(store, args.env.clone())
            .with_public_url(public_url.clone())
            .with_link_signer(jobwatch_core::links::Signer::new(signing_secret.as_bytes()))
            .with_repeat_interval(args.repeat_interval)
            .with_report_day(report_day.unwrap_or_default()),
    );
    let mut web = WebConfig::new(signing_secret.as_bytes());
    web.session_lifetime = args.session_lifetime;
    let badge_key = web.badge_key();
    let config = ApiConfig {
        public_url: public_url.clone(),
        api_key,
        ping_key,
        ping_body_limit: args.ping_body_limit,
        web,
    };
    let api = Arc::new(Api::new(Arc::clone(&engine), config).with_about(about(
        &args.env,
        &policy,
        slack.is_some(),
    )));

    say!(
        "jobwatch listening on http://{address} (environment {}, data {})",
        args.env,
        args.data.display()
    );
    say!(
        "web view: {public_url}/ (log in with the API key); status badges under {public_url}/badge/{badge_key}/<slug-or-tag>.svg"
    );
    if slack.is_none() {
        say!(
            "alerts go to this console only: pass --slack-webhook or set JOBWATCH_SLACK_WEBHOOK to post to Slack"
        );
    } else if policy.delivery(&args.env, jobwatch_core::Severity::Critical, Class::Problem)
        == Delivery::LogOnly
    {
        say!(
            "environment {}: alerts are not posted to Slack (its policy is to log only); pass --debug or set JOBWATCH_DEBUG=1 to post them",
            args.env
        );
    }

    let (stop, stopped) = watch::channel(false);
    let http = tokio::spawn(crate::http_server::serve(
        Arc::clone(&api),
        listener,
        stopped.clone(),
        REQUEST_GRACE,
    ));
    let sweeper = tokio::spawn(sweep_loop(
        Arc::clone(&engine),
        args.sweep_interval,
        stopped.clone(),
    ));
    let reporter = report_schedule.map(|schedule| {
        say!("daily report at {}", schedule.describe());
        tokio::spawn(report_loop(Arc::clone(&engine), schedule, stopped.clone()))
    });
    let delivery = tokio::spawn(delivery_loop(
        Arc::clone(&engine),
        Outlet {
            slack: slack.map(|webhooks| UntilStopped {
                webhooks,
                stopped: stopped.clone(),
            }),
            policy,
            environment: args.env.clone(),
        },
        stopped,
    ));

    shutdown_signal().await;
    say!("shutting down: finishing requests in flight");
    let _ = stop.send(true);
    // Every task sees the stop at once: a Slack post in progress gives up (its alert stays
    // in the outbox, delivered after the next start), so a stop takes well under
    // SHUTDOWN_LIMIT whatever Slack does. Past it, what is left is cut: nothing acknowledged
    // depends on it (a ping is answered only once committed).
    let tasks = async {
        let _ = http.await;
        let _ = sweeper.await;
        if let Some(reporter) = reporter {
            let _ = reporter.await;
        }
        let _ = delivery.await;
    };
    if tokio::time::timeout(SHUTDOWN_LIMIT, tasks).await.is_err() {
        tracing::warn!("stopping took longer than {SHUTDOWN_LIMIT:?}; stopped anyway");
    }
    say!("stopped");
    Ok(())
}

/// The longest a stop takes (SIGTERM or Ctrl-C to exit), requests in flight included.
const SHUTDOWN_LIMIT: StdDuration = StdDuration::from_millis(1_800);
/// How long requests in flight may take to finish after a stop (pings take milliseconds).
const REQUEST_GRACE: StdDuration = StdDuration::from_millis(1_500);

/// A webhook URL given on the command line: `None` when absent or empty. The URL is a
/// credential, so an error names the option, never the value.
fn webhook_url(option: &str, value: Option<&str>) -> Result<Option<String>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => {
            Ok(Some(value.to_string()))
        }
        Ok(_) => anyhow::bail!(
            "{option} is not an http(s) URL: give the Slack incoming webhook, https://hooks.slack.com/services/..."
        ),
        Err(e) => anyhow::bail!(
            "{option} is not a URL ({e}): give the Slack incoming webhook, https://hooks.slack.com/services/..."
        ),
    }
}

/// `--public-url`: the base URL of links in alerts and ping URLs, so an http(s) URL.
fn public_url_check(value: &str) -> Result<()> {
    let shown = jobwatch_core::text::shorten(value);
    match reqwest::Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(()),
        Ok(_) => anyhow::bail!(
            "--public-url '{shown}' is not an http(s) URL: give the address people reach this server at, e.g. https://jobwatch.example.com"
        ),
        Err(e) => anyhow::bail!(
            "--public-url '{shown}' is not a URL ({e}): give the address people reach this server at, e.g. https://jobwatch.example.com"
        ),
    }
}

/// What `GET /api/v1/about` says of this server besides what the API knows.
fn about(environment: &str, policy: &Policy, slack: bool) -> jobwatch_api::About {
    jobwatch_api::About {
        store: "sqlite".into(),
        policy: jobwatch_notify::test_alert::policy_words(policy, environment),
        slack_configured: Some(slack),
        slack: if slack {
            "the webhook given with --slack-webhook (JOBWATCH_SLACK_WEBHOOK)".into()
        } else {
            "none: alerts go to the console only (pass --slack-webhook or set JOBWATCH_SLACK_WEBHOOK)".into()
        },
    }
}

/// The key given on the command line or in the environment; otherwise the one stored on
/// first start, or a new one, printed once and stored hashed.
async fn key(
    store: &SqliteStore,
    setting: &str,
    given: Option<&str>,
    name: &str,
) -> Result<Secret> {
    if let Some(given) = given.map(str::trim).filter(|k| !k.is_empty()) {
        return Ok(Secret::from_plain(given));
    }
    if let Some(stored) = store.get_setting(setting).await? {
        return Secret::from_hex_digest(&stored)
            .with_context(|| format!("the stored {name} hash is corrupt"));
    }
    let fresh = generate_key().map_err(|e| anyhow::anyhow!("generating a {name}: {e}"))?;
    let secret = Secret::from_plain(&fresh);
    let stored = store.init_setting(setting, &secret.hex_digest()).await?;
    if stored == secret.hex_digest() {
        say!("generated {name}: {fresh}   (shown once; it is stored hashed)");
        Ok(secret)
    } else {
        Secret::from_hex_digest(&stored)
            .with_context(|| format!("the stored {name} hash is corrupt"))
    }
}

/// The web view's signing secret (sessions, form tokens, alerts' signed links): generated
/// on first start and stored with the keys, so links and logins outlive a restart.
async fn signing_secret(store: &SqliteStore) -> Result<String> {
    const SETTING: &str = "web_signing_secret";
    if let Some(stored) = store.get_setting(SETTING).await? {
        return Ok(stored);
    }
    let fresh = format!(
        "{}{}",
        generate_key().map_err(|e| anyhow::anyhow!("generating the signing secret: {e}"))?,
        generate_key().map_err(|e| anyhow::anyhow!("generating the signing secret: {e}"))?
    );
    Ok(store.init_setting(SETTING, &fresh).await?)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Sweeps at every deadline as it passes (and at least every `interval`), so detection lag
/// is milliseconds while an idle server does nothing. A change that brings a deadline before
/// the planned wake-up (a new job, a started run, a redefined schedule) wakes it at once;
/// the pings of a busy server, which only move deadlines later, do not.
async fn sweep_loop<S: Store>(
    engine: Arc<Engine<S>>,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let interval = StdDuration::from_millis(interval.as_millis().max(10));
    loop {
        let now = Timestamp::now();
        if let Err(e) = engine.sweep(now).await {
            tracing::error!(error = %e, "sweep failed; retrying");
        }
        // From here until the wake-up is planned, every change wakes the loop again.
        engine.sweep_wake_unplanned();
        let wait = match engine.store().earliest_deadline().await {
            Ok(Some(deadline)) => {
                let ms = deadline
                    .as_millisecond()
                    .saturating_sub(Timestamp::now().as_millisecond())
                    .max(0);
                StdDuration::from_millis(u64::try_from(ms).unwrap_or(0)).min(interval)
            }
            Ok(None) => interval,
            Err(e) => {
                tracing::error!(error = %e, "reading the next deadline failed");
                interval
            }
        };
        let wake_at = Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::ZERO))
            .unwrap_or_else(|_| Timestamp::now());
        engine.plan_sweep_wake(wake_at);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            // A change brought a deadline before `wake_at`.
            _ = engine.state_changed().notified() => {}
            _ = stopped.changed() => return,
        }
    }
}

/// The daily report's schedule from `--report-at HH:MM` and `--report-tz`, and the report
/// days it covers (runs are tallied by them as they finish).
fn report_schedule(
    at: Option<&str>,
    tz: &str,
) -> Result<Option<(jobwatch_core::Schedule, jobwatch_core::tally::ReportDay)>> {
    let Some(at) = at else { return Ok(None) };
    let invalid = || anyhow::anyhow!("invalid --report-at '{at}': use HH:MM, e.g. 09:00");
    let (hour, minute) = at.trim().split_once(':').ok_or_else(invalid)?;
    let (hour, minute): (u8, u8) = (
        hour.parse().map_err(|_| invalid())?,
        minute.parse().map_err(|_| invalid())?,
    );
    if hour > 23 || minute > 59 {
        return Err(invalid());
    }
    // The zone first, so its error reads `--report-tz: "EST" is an abbreviation...`.
    let zone =
        jobwatch_core::zone::time_zone(tz).map_err(|e| anyhow::anyhow!("--report-tz: {e}"))?;
    let schedule = jobwatch_core::Schedule::cron(&format!("{minute} {hour} * * *"), tz)
        .map_err(|e| anyhow::anyhow!("--report-at: {e}"))?;
    let time = jiff::civil::Time::new(hour as i8, minute as i8, 0, 0)
        .map_err(|e| anyhow::anyhow!("--report-at: {e}"))?;
    Ok(Some((
        schedule,
        jobwatch_core::tally::ReportDay::new(time, zone),
    )))
}

/// Builds the daily report at each of `schedule`'s times and queues it for delivery with the
/// other alerts (so it reaches the console and Slack by the same path, and survives restarts).
async fn report_loop<S: Store>(
    engine: Arc<Engine<S>>,
    schedule: jobwatch_core::Schedule,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let Some(next) = schedule.next_after(Timestamp::now()) else {
            return;
        };
        let wait = next
            .as_millisecond()
            .saturating_sub(Timestamp::now().as_millisecond())
            .max(0);
        tokio::select! {
            _ = tokio::time::sleep(StdDuration::from_millis(u64::try_from(wait).unwrap_or(0))) => {}
            _ = stopped.changed() => return,
        }
        // Queued in the outbox, so it reaches the console and Slack by the alerts' path.
        if let Err(e) = engine.daily_report(next).await {
            tracing::error!(error = %e, "daily report failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_zone_is_an_iana_name_as_a_jobs_is() {
        assert!(report_schedule(Some("09:00"), "Europe/Berlin").is_ok());
        let err = report_schedule(Some("09:00"), "EST")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--report-tz: \"EST\" is an abbreviation, not a time zone: use an IANA name such as \
             America/New_York (or Etc/GMT+5 for a fixed offset of UTC-5)"
        );
    }
}
