//! The real `jobwatch-formatter` executable, fed SNS events through a test-side Lambda Runtime
//! API, against moto (DynamoDB for the notification state and the outbox, Secrets Manager for
//! the webhook) and a local Slack receiver that enforces Slack's limits: every record reaches
//! Slack on its own, duplicates do not, 429 `Retry-After` is honoured, a Slack outage fails
//! the invocation without losing the message, and a 404 makes it read the secret again; and
//! missed jobs arriving in separate invocations within the grouping window become one message,
//! held in the store between invocations and posted by a later one's flush.

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, AlertKind};
use jobwatch_dynamo::{DynamoStore, RequestCounter, create_table};
use jobwatch_store::{Commit, JobStore, Outbox};
use jobwatch_testkit::conformance;
use jobwatch_testkit::lambda::{Invocation, LambdaProcess, RuntimeApi};
use jobwatch_testkit::slack::{Scripted, SlackReceiver};
use jobwatch_testkit_aws::aws::{CountingProxy, secrets};
use jobwatch_testkit_aws::moto::{dynamo_client, unique_name};
use serde_json::{Value, json};

struct Harness {
    slack: SlackReceiver,
    proxy: CountingProxy,
    runtime: RuntimeApi,
    process: LambdaProcess,
    store: DynamoStore,
    secret: String,
}

impl Harness {
    async fn start(extra: &[(&str, &str)]) -> Harness {
        let slack = SlackReceiver::start().await;
        let table = unique_name("formatter");
        let client = dynamo_client(&RequestCounter::new());
        create_table(&client, &table).await.expect("table");
        let secret = format!("slack-webhook-{table}");
        secrets()
            .create_secret()
            .name(&secret)
            .secret_string(json!({"webhook_url": slack.url}).to_string())
            .send()
            .await
            .expect("secret");
        let proxy = CountingProxy::start().await;
        let runtime = RuntimeApi::start().await;
        let mut env = vec![
            ("JOBWATCH_TABLE", table.as_str()),
            ("JOBWATCH_ENV", "prod"),
            ("JOBWATCH_SLACK_SECRET", secret.as_str()),
        ];
        env.extend_from_slice(extra);
        let process = LambdaProcess::spawn(
            Path::new(env!("CARGO_BIN_EXE_jobwatch-formatter")),
            &runtime,
            &proxy.endpoint,
            &env,
        );
        Harness {
            slack,
            proxy,
            runtime,
            process,
            store: DynamoStore::new(client, table),
            secret,
        }
    }

    async fn invoke(&self, event: Value) -> Invocation {
        self.runtime.invoke(event).await
    }

    /// EMF lines the function printed so far.
    /// The counts the formatter wrote on stdout: EMF metric lines and plain event lines.
    fn counts(&self) -> Vec<Value> {
        self.process
            .stdout()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .collect()
    }
}

/// An SNS event as Lambda delivers it, one record per `(message id, message)`.
fn sns_event(messages: &[(&str, String)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, message)| {
            json!({
                "EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:111122223333:jobwatch-prod-alerts:7f3c2a1e",
                "Sns": {
                    "Type": "Notification", "MessageId": id,
                    "TopicArn": "arn:aws:sns:us-east-1:111122223333:jobwatch-prod-alerts",
                    "Subject": null, "Message": message, "Timestamp": "2026-01-15T03:06:12.401Z",
                    "SignatureVersion": "1", "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/x.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {}
                }
            })
        })
        .collect();
    json!({ "Records": records })
}

fn alarm(name: &str, state: &str) -> String {
    json!({
        "AlarmName": name, "AlarmDescription": null, "AWSAccountId": "111122223333",
        "NewStateValue": state, "OldStateValue": "OK",
        "NewStateReason": format!("Threshold Crossed: {}", "a very long reason ".repeat(600)),
        "StateChangeTime": "2026-01-15T03:06:12.345+0000", "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:111122223333:alarm:{name}"),
        "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "SUM",
            "Dimensions": [{"value": "jobwatch-prod-ingest", "name": "FunctionName"}],
            "Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0, "TreatMissingData": "missing"}
    })
    .to_string()
}

/// An EventBridge "CloudWatch Alarm State Change" event, as a rule forwards it to SNS.
fn eventbridge_alarm(name: &str) -> String {
    json!({
        "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "111122223333", "time": "2026-01-15T03:06:12Z", "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:111122223333:alarm:{name}")],
        "detail": {
            "alarmName": name,
            "configuration": {"description": null, "metrics": [{"id": "m1", "returnData": true,
                "metricStat": {"metric": {"dimensions": {"InstanceId": "i-1"}, "name": "CPUUtilization", "namespace": "AWS/EC2"}, "period": 300, "stat": "Average"}}]},
            "previousState": {"value": "OK", "reason": "", "timestamp": "2026-01-15T02:00:00.000+0000"},
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-01-15T03:06:12.370+0000",
                "reasonData": "{\"threshold\":50.0}"}
        }
    })
    .to_string()
}

fn header(message: &Value) -> String {
    message["attachments"][0]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// A failure alert committed to the store's outbox, as the ingest Lambda leaves it.
async fn alert_in_outbox(store: &DynamoStore) -> AlertEvent {
    let now = Timestamp::now();
    let job = conformance::job("nightly-backup", "1h", now);
    store.create_job(&job).await.expect("job");
    let mut event = AlertEvent::new(AlertKind::Failed, &job.spec, "prod", now, now);
    event.run_id = Some("r1".into());
    event.exit_code = Some(2);
    event.output_excerpt = Some("pg_dump: error: connection refused <&>".into());
    let event = event.with_id();
    let mut next = job.clone();
    next.version += 1;
    store
        .commit(Commit {
            record: &next,
            expected_version: job.version,
            runs: &[],
            alerts: std::slice::from_ref(&event),
        })
        .await
        .expect("commit");
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_reaches_slack_on_its_own_and_only_once() {
    let h = Harness::start(&[]).await;
    let alert = alert_in_outbox(&h.store).await;
    assert_eq!(h.store.pending_alerts(10).await.expect("outbox").len(), 1);
    let event = sns_event(&[
        ("m-1", serde_json::to_string(&alert).expect("json")),
        ("m-2", alarm("jobwatch-prod-ingest-errors", "ALARM")),
        ("m-3", "Hello from a cron job: disk /var at 91%".to_string()),
        ("m-4", "{\"AlarmName\": \"half-writ".to_string()),
        ("m-5", eventbridge_alarm("ServerCpuTooHigh")),
    ]);
    let answer = h.invoke(event.clone()).await.response();
    assert_eq!(answer["records"], 5, "{answer}");

    let messages = h.slack.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(
        messages.iter().map(header).collect::<Vec<_>>(),
        [
            "🔴 nightly-backup failed (exit status 2)",
            "🚨 jobwatch-prod-ingest-errors is in ALARM",
            "📨 Message on jobwatch-prod-alerts",
            "📨 Message on jobwatch-prod-alerts",
            "🚨 ServerCpuTooHigh is in ALARM",
        ]
    );
    assert_eq!(
        h.slack.rejections(),
        Vec::<String>::new(),
        "all within Slack's limits"
    );
    assert!(
        h.store.pending_alerts(10).await.expect("outbox").is_empty(),
        "the delivered alert left the outbox"
    );

    // SNS delivers again (or the sweeper publishes the alert again): nothing is posted twice.
    let answer = h.invoke(event).await.response();
    assert_eq!(answer["actions"]["duplicate"], 5, "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.slack.messages().len(), 5);

    let posts: Vec<Value> = h
        .counts()
        .into_iter()
        .filter(|m| m.get("SlackPosts").is_some())
        .collect();
    assert_eq!(posts.len(), 5, "one SlackPosts line per post");
    assert!(
        posts.iter().all(|m| m.get("_aws").is_none()),
        "counted in Logs Insights, not a billed metric: {posts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_then_200_delivers_exactly_one_message() {
    let h = Harness::start(&[]).await;
    h.slack.script([Scripted {
        status: 429,
        retry_after: Some(1),
        body: "rate_limited",
    }]);
    let started = Instant::now();
    let answer = h
        .invoke(sns_event(&[(
            "m-1",
            alarm("jobwatch-prod-errors", "ALARM"),
        )]))
        .await
        .response();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(answer["actions"]["posted"], 1, "{answer}");
    assert_eq!(h.slack.posts(), 2);
    assert_eq!(h.slack.messages().len(), 1, "exactly one message delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_failing_until_the_time_runs_out_fails_the_invocation_and_loses_nothing() {
    let h = Harness::start(&[("JOBWATCH_SLACK_TIMEOUT", "2s")]).await;
    // At most 4 attempts fit in 2 s of backoff (0.25 + 0.5 + 1 s between them).
    h.slack.script((0..6).map(|_| Scripted {
        status: 500,
        retry_after: None,
        body: "rollup_error",
    }));
    let event = sns_event(&[("m-1", alarm("jobwatch-prod-sweeper-heartbeat", "ALARM"))]);
    let started = Instant::now();
    let failed = h.invoke(event.clone()).await;
    assert!(matches!(failed, Invocation::Error(_)), "{failed:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(h.slack.messages().is_empty());
    let posts = h.slack.posts();
    assert!(
        (2..=4).contains(&posts),
        "retried with backoff: {posts} posts"
    );
    assert!(
        h.counts()
            .iter()
            .any(|m| m["SlackPostFailures"] == 1.0 && m["Reason"] == "http_500"),
        "SlackPostFailures counted: {:?}",
        h.process.stdout()
    );

    // Lambda's asynchronous retry: Slack is back (after what is left of the script).
    let answer = h.invoke(event).await.response();
    assert_eq!(answer["records"], 1, "{answer}");
    let messages = h.slack.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        messages.iter().map(header).collect::<Vec<_>>(),
        ["🚨 jobwatch-prod-sweeper-heartbeat is in ALARM"],
        "delivered exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_reads_the_webhook_secret_again_once() {
    let h = Harness::start(&[]).await;
    h.invoke(sns_event(&[("m-1", alarm("jobwatch-prod-a", "ALARM"))]))
        .await
        .response();
    assert_eq!(h.slack.wait_for(1, Duration::from_secs(5)).await.len(), 1);
    assert_eq!(
        h.proxy.take().get("GetSecretValue").copied(),
        Some(1),
        "read once, then cached"
    );

    // The webhook is revoked and the secret rotated to a new one.
    let rotated = SlackReceiver::start().await;
    secrets()
        .put_secret_value()
        .secret_id(&h.secret)
        .secret_string(json!({"webhook_url": rotated.url}).to_string())
        .send()
        .await
        .expect("rotate");
    h.slack.script([Scripted {
        status: 404,
        retry_after: None,
        body: "no_service",
    }]);
    let answer = h
        .invoke(sns_event(&[("m-2", alarm("jobwatch-prod-b", "ALARM"))]))
        .await
        .response();
    assert_eq!(answer["actions"]["posted"], 1, "{answer}");
    assert_eq!(
        h.proxy.take().get("GetSecretValue").copied(),
        Some(1),
        "one re-read after the 404"
    );
    let delivered = rotated.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        delivered.iter().map(header).collect::<Vec<_>>(),
        ["🚨 jobwatch-prod-b is in ALARM"],
        "posted with the rotated webhook"
    );
    assert_eq!(h.slack.messages().len(), 1);
    assert!(
        !h.process.stdout().iter().any(|l| l.contains(&h.slack.url))
            && !h.process.stdout().iter().any(|l| l.contains(&rotated.url)),
        "the webhook URL is never printed"
    );
}

/// A Slack that counts what it is sent.
#[derive(Default)]
struct Counting {
    sent: std::sync::Mutex<Vec<Value>>,
}

impl jobwatch_notify::Sender for Counting {
    async fn send(
        &self,
        _route: jobwatch_notify::Route,
        payload: &Value,
        _deadline: Instant,
    ) -> Result<(), jobwatch_notify::DeliveryError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.sent.lock().expect("lock").push(payload.clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_formatters_post_each_alert_once_and_count_every_occurrence() {
    use jobwatch_notify::{Incoming, Notifier, Policy};
    let table = unique_name("race");
    let client = dynamo_client(&RequestCounter::new());
    create_table(&client, &table).await.expect("table");
    // 'static for the spawned tasks.
    let store: &'static DynamoStore = Box::leak(Box::new(DynamoStore::new(client, table)));
    let slack: &'static Counting = Box::leak(Box::default());
    let policy: &'static Policy = Box::leak(Box::default());
    let notifier = move || Notifier {
        store,
        sender: slack,
        policy,
        environment: "prod",
    };
    let now = Timestamp::now();
    let job = conformance::job("nightly-backup", "1h", now);
    let failure = |run: u32| {
        let mut event = AlertEvent::new(AlertKind::Failed, &job.spec, "prod", now, now);
        event.run_id = Some(format!("r{run}"));
        event.with_id()
    };
    let deadline = Instant::now() + Duration::from_secs(20);

    // The same alert delivered eight times at once (SNS duplicates, a republish).
    let same = failure(0);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let incoming = Incoming::alert(same.clone());
        tasks.spawn(async move { notifier().handle(&incoming, now, deadline).await });
    }
    while let Some(result) = tasks.join_next().await {
        assert!(result.expect("task").expect("handled").is_settled());
    }
    assert_eq!(slack.sent.lock().expect("lock").len(), 1, "posted once");

    // Eight different failures of the job at once: one first message, one summary, the rest
    // held and flushed when the window closes; every occurrence counted exactly once.
    let mut tasks = tokio::task::JoinSet::new();
    for run in 1..=7 {
        let incoming = Incoming::alert(failure(run));
        tasks.spawn(async move { notifier().handle(&incoming, now, deadline).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("task").expect("handled");
    }
    let later = now + jiff::SignedDuration::from_mins(5);
    notifier()
        .flush_due(later, deadline)
        .await
        .expect("flushed");
    let headers: Vec<String> = slack
        .sent
        .lock()
        .expect("lock")
        .iter()
        .map(header)
        .collect();
    assert_eq!(
        headers,
        [
            "🔴 nightly-backup failed",
            "🔴 nightly-backup failed 3 times in 5 minutes",
            "🔴 nightly-backup failed 5 more times",
        ]
    );
}

/// A job going down and up again and again, each change in its own invocation (as SNS
/// delivers them): its first failure is posted, the rest are held in the stored state across
/// invocations and reported in one flapping message that counts every change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_job_is_damped_across_invocations() {
    // A short fatigue window makes the settle time short (it is at most that window).
    let h = Harness::start(&[("JOBWATCH_FATIGUE_WINDOW", "2s")]).await;
    let now = Timestamp::now();
    let job = conformance::job("flaky-sync", "1h", now);
    for cycle in 0..5 {
        for kind in [AlertKind::Failed, AlertKind::Recovered] {
            let mut event = AlertEvent::new(kind, &job.spec, "prod", now, now);
            event.run_id = Some(format!("r{cycle}"));
            let event = event.with_id();
            let id = format!("flap-{cycle}-{kind}");
            let answer = h
                .invoke(sns_event(&[(
                    id.as_str(),
                    serde_json::to_string(&event).expect("json"),
                )]))
                .await
                .response();
            assert_eq!(answer["records"], 1, "{answer}");
        }
    }
    let first = h.slack.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(header(&first[0]), "🔴 flaky-sync failed");
    // Past the settle time, the next invocation (here one with nothing new) flushes.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    h.invoke(json!({ "Records": [] })).await.response();
    let messages = h.slack.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let headers: Vec<String> = h.slack.messages().iter().map(header).collect();
    assert_eq!(
        headers,
        ["🔴 flaky-sync failed", "🔁 flaky-sync is flapping"]
    );
    let text = messages[1]["attachments"][0]["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        text.contains("4 outages and 5 recoveries"),
        "with the first failure, every change: {text}"
    );
    assert_eq!(h.slack.rejections(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_jobs_in_separate_invocations_become_one_message_after_a_later_flush() {
    // A short window keeps the test quick; the mechanism is the default 30 seconds'.
    let h = Harness::start(&[("JOBWATCH_GROUP_WINDOW", "3s")]).await;
    let now = Timestamp::now();
    let missed = |slug: &str| {
        let mut job = conformance::job(slug, "1h", now).spec;
        job.group = Some("db-hosts".into());
        AlertEvent::new(AlertKind::Missed, &job, "prod", now, now).with_id()
    };
    let alerts: Vec<AlertEvent> = ["pg-dump", "pg-vacuum", "pg-wal-check"]
        .iter()
        .map(|slug| missed(slug))
        .collect();
    let json = |alert: &AlertEvent| serde_json::to_string(alert).expect("json");

    // Two invocations (SNS delivers records in separate events), one of them delivered twice.
    let first = sns_event(&[("g-1", json(&alerts[0]))]);
    let answer = h.invoke(first.clone()).await.response();
    assert_eq!(answer["actions"]["grouped"], 1, "{answer}");
    let answer = h
        .invoke(sns_event(&[
            ("g-2", json(&alerts[1])),
            ("g-3", json(&alerts[2])),
        ]))
        .await
        .response();
    assert_eq!(answer["actions"]["grouped"], 2, "{answer}");
    let answer = h.invoke(first).await.response();
    assert_eq!(answer["actions"]["duplicate"], 1, "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        h.slack.messages().is_empty(),
        "held while the window is open: {:?}",
        h.slack.messages()
    );

    // After the window, the next invocation's flush posts the group (any event will do).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answer = h.invoke(json!({"Records": []})).await.response();
    assert_eq!(answer["flushed"]["delivered"], 1, "{answer}");
    let messages = h.slack.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        messages.iter().map(header).collect::<Vec<_>>(),
        ["🔴 3 jobs missed their runs (group db-hosts)"]
    );
    let text = messages[0].to_string();
    for alert in &alerts {
        assert!(
            text.contains(&alert.job.slug),
            "{} named: {text}",
            alert.job.slug
        );
    }
    assert_eq!(h.slack.rejections(), Vec::<String>::new());

    // Nothing more, ever: another flush, and the alerts delivered again.
    let again: Vec<(&str, String)> = vec![("g-2", json(&alerts[1])), ("g-3", json(&alerts[2]))];
    let answer = h.invoke(sns_event(&again)).await.response();
    assert_eq!(answer["actions"]["duplicate"], 2, "{answer}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.slack.messages().len(), 1);
}
