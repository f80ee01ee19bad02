//! `template.yaml` is held to the code: the functions it builds are the workspace's Lambda
//! binaries, it sets the environment variables each binary needs and none it does not read,
//! each function's IAM policy grants exactly the AWS actions that binary calls, and the table
//! has the keys, indexes and TTL attribute the DynamoDB store expects. When one side changes
//! without the other, these tests say which and how.

use std::collections::{BTreeMap, BTreeSet};

use jobwatch_aws::functions::{self, Function, Need};
use jobwatch_dynamo::{AttributeKind, IndexProjection, TABLE};
use jobwatch_tests::template::{Template, repo_root};
use serde_json::{Value, json};

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_string).collect()
}

/// `[[bin]]` names of every crate of the workspace.
fn workspace_binaries() -> BTreeMap<String, String> {
    let mut binaries = BTreeMap::new();
    let crates = repo_root().join("crates");
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let dir = entry.expect("entry").path();
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let manifest: toml::Table = toml::from_str(&text).expect("Cargo.toml parses");
        for bin in manifest
            .get("bin")
            .and_then(|b| b.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(name) = bin.get("name").and_then(|n| n.as_str()) {
                binaries.insert(name.to_string(), dir.display().to_string());
            }
        }
    }
    binaries
}

/// The Rust sources of a binary's crate, concatenated.
fn sources(binary: &str) -> String {
    let dir = repo_root().join("crates").join(binary).join("src");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).expect("src/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&path).expect("source"));
        }
    }
    text
}

/// Every `JOBWATCH_...` string literal in `text`.
fn variable_literals(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with("JOBWATCH_")
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        })
        .map(str::to_string)
        .collect()
}

/// Names passed to `required("...")` in `text`.
fn required_calls(text: &str) -> BTreeSet<String> {
    text.split("required(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_template_builds_exactly_the_workspace_lambda_binaries_for_arm64() {
    let template = Template::load();
    let binaries = workspace_binaries();
    assert_eq!(
        set(template
            .resources_of_type("AWS::Serverless::Function")
            .iter()
            .map(String::as_str)),
        set(functions::ALL.iter().map(|f| f.logical_id)),
        "the template's functions are not the three jobwatch Lambdas"
    );
    for function in functions::ALL {
        let resource = template.resource(function.logical_id);
        assert!(
            binaries.contains_key(function.binary),
            "{} is not a binary of the workspace",
            function.binary
        );
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{}: built with cargo lambda",
            function.logical_id
        );
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"], function.binary,
            "{}: BuildProperties.Binary",
            function.logical_id
        );
        for (property, expected) in [
            ("Runtime", json!("provided.al2023")),
            ("Architectures", json!(["arm64"])),
            ("Handler", json!("bootstrap")),
        ] {
            assert_eq!(
                template.function_property(function.logical_id, property),
                expected,
                "{}: {property}",
                function.logical_id
            );
        }
    }
}

#[test]
fn the_template_sets_the_variables_each_binary_needs_and_no_others() {
    let template = Template::load();
    for function in functions::ALL {
        let set_by_template = template.function_variables(function.logical_id);
        for variable in function.variables {
            if variable.need != Need::Optional {
                assert!(
                    set_by_template.contains(variable.name),
                    "{} needs {} ({:?}) but template.yaml does not set it",
                    function.logical_id,
                    variable.name,
                    variable.need
                );
            }
        }
        for name in &set_by_template {
            assert!(
                function.variable(name).is_some(),
                "template.yaml sets {name} on {}, which {} never reads",
                function.logical_id,
                function.binary
            );
        }
    }
}

#[test]
fn each_binary_reads_only_the_variables_listed_for_it() {
    for function in functions::ALL {
        let source = sources(function.binary);
        for name in variable_literals(&source) {
            assert!(
                function.variable(&name).is_some(),
                "{} reads {name}: add it to jobwatch_aws::functions",
                function.binary
            );
        }
        let required = required_calls(&source);
        let listed: BTreeSet<String> = function
            .variables
            .iter()
            .filter(|v| v.need == Need::Required)
            .map(|v| v.name.to_string())
            .collect();
        assert_eq!(
            required, listed,
            "{}: the variables main requires vs. those listed as Required",
            function.binary
        );
    }
    // Read by the shared libraries on behalf of the binaries that use them.
    for (function, name) in [
        (functions::SWEEPER, jobwatch_aws::slack::SECRET_VARIABLE),
        (functions::FORMATTER, jobwatch_aws::slack::SECRET_VARIABLE),
    ] {
        assert!(function.variable(name).is_some(), "{name}");
    }
}

#[test]
fn each_iam_policy_grants_exactly_the_actions_its_binary_calls() {
    let template = Template::load();
    for Function {
        logical_id,
        actions,
        binary,
        ..
    } in functions::ALL
    {
        let granted = template.function_actions(logical_id);
        let needed = set(actions.iter().copied());
        let missing: Vec<_> = needed.difference(&granted).collect();
        let extra: Vec<_> = granted.difference(&needed).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{logical_id} ({binary}): template.yaml grants {extra:?} it does not need and lacks {missing:?}"
        );
        assert!(
            granted.iter().all(|a| !a.contains('*')),
            "{logical_id}: no wildcard actions"
        );
    }
}

#[test]
fn no_iam_statement_grants_on_every_resource_but_put_metric_data() {
    // PutMetricData has no resource-level permissions: "*" narrowed by a namespace condition.
    let template = Template::load();
    for function in functions::ALL {
        let policies = &template.resource(function.logical_id)["Properties"]["Policies"];
        for statement in policies
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_array().into_iter().flatten())
        {
            if statement["Resource"] == "*" {
                assert_eq!(
                    statement["Action"],
                    json!(["cloudwatch:PutMetricData"]),
                    "{}: only PutMetricData may use Resource \"*\"",
                    function.logical_id
                );
                assert_eq!(
                    statement["Condition"]["StringEquals"]["cloudwatch:namespace"],
                    jobwatch_aws::emf::NAMESPACE,
                    "{}: PutMetricData limited to the jobwatch namespace",
                    function.logical_id
                );
            }
        }
    }
}

fn key_schema(keys: &Value) -> Vec<(String, String)> {
    keys.as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or_default().to_string(),
                k["KeyType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn expected_keys(hash: &str, range: Option<&str>) -> Vec<(String, String)> {
    let mut keys = vec![(hash.to_string(), "HASH".to_string())];
    keys.extend(range.map(|r| (r.to_string(), "RANGE".to_string())));
    keys
}

#[test]
fn the_table_has_the_keys_indexes_and_ttl_the_store_expects() {
    let template = Template::load();
    let table = &template.resource("JobsTable")["Properties"];
    assert_eq!(
        key_schema(&table["KeySchema"]),
        expected_keys(TABLE.hash, Some(TABLE.range))
    );
    let attributes: BTreeMap<String, String> = table["AttributeDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap_or_default().to_string(),
                a["AttributeType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected_attributes: BTreeMap<String, String> = TABLE
        .attributes
        .iter()
        .map(|(name, kind)| {
            let kind = match kind {
                AttributeKind::String => "S",
                AttributeKind::Number => "N",
            };
            (name.to_string(), kind.to_string())
        })
        .collect();
    assert_eq!(attributes, expected_attributes, "AttributeDefinitions");

    let indexes: BTreeMap<String, (Vec<(String, String)>, String)> =
        table["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    i["IndexName"].as_str().unwrap_or_default().to_string(),
                    (
                        key_schema(&i["KeySchema"]),
                        i["Projection"]["ProjectionType"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    ),
                )
            })
            .collect();
    let expected_indexes: BTreeMap<String, (Vec<(String, String)>, String)> = TABLE
        .indexes
        .iter()
        .map(|i| {
            let projection = match i.projection {
                IndexProjection::All => "ALL",
                IndexProjection::KeysOnly => "KEYS_ONLY",
            };
            (
                i.name.to_string(),
                (expected_keys(i.hash, i.range), projection.to_string()),
            )
        })
        .collect();
    assert_eq!(indexes, expected_indexes, "GlobalSecondaryIndexes");

    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": TABLE.ttl_attribute, "Enabled": true}),
        "TTL"
    );
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
        "point-in-time recovery"
    );
}

#[test]
fn every_function_reads_the_table_the_template_declares() {
    let template = Template::load();
    for function in functions::ALL {
        let variables =
            &template.resource(function.logical_id)["Properties"]["Environment"]["Variables"];
        assert_eq!(
            variables["JOBWATCH_TABLE"],
            json!({"Ref": "JobsTable"}),
            "{}",
            function.logical_id
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The monitor's own alarms, on a path that does not depend on the formatter.

/// The alarm about the jobs rather than about the monitor.
const JOBS_ALARM: &str = "JobsDownAlarm";

#[test]
fn the_monitors_own_alarms_notify_the_ops_topic_and_the_alert_topic() {
    let template = Template::load();
    let alarms = template.resources_of_type("AWS::CloudWatch::Alarm");
    assert!(alarms.iter().any(|a| a == JOBS_ALARM), "{alarms:?}");
    let monitor: Vec<&String> = alarms.iter().filter(|a| *a != JOBS_ALARM).collect();
    for expected in [
        "SweeperHeartbeatAlarm",
        "IngestErrorsAlarm",
        "IngestThrottlesAlarm",
        "SweeperErrorsAlarm",
        "SweeperThrottlesAlarm",
        "FormatterErrorsAlarm",
        "FormatterThrottlesAlarm",
        "DeadLetterQueueAlarm",
    ] {
        assert!(monitor.iter().any(|a| *a == expected), "no {expected}");
    }
    for alarm in monitor {
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(
                template.alarm_topics(alarm, actions),
                set(["OpsTopic", "AlertTopic"]),
                "{alarm}: {actions} must reach a person without the formatter (OpsTopic) and \
                 Slack when the formatter works (AlertTopic)"
            );
        }
    }
    for actions in ["AlarmActions", "OKActions"] {
        assert_eq!(
            template.alarm_topics(JOBS_ALARM, actions),
            set(["AlertTopic"]),
            "{JOBS_ALARM}: the jobs' state is the formatter's business, like their own alerts"
        );
    }
}

#[test]
fn the_ops_topic_is_encrypted_publishable_by_alarms_and_optionally_subscribed() {
    let template = Template::load();
    let topic = &template.resource("OpsTopic")["Properties"];
    assert_eq!(topic["KmsMasterKeyId"], json!({"Ref": "AlertTopicKey"}));
    let statement =
        &template.resource("OpsTopicPolicy")["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Principal"]["Service"],
        "cloudwatch.amazonaws.com"
    );
    assert_eq!(statement["Action"], "sns:Publish");
    assert_eq!(statement["Resource"], json!({"Ref": "OpsTopic"}));
    for (subscription, condition, protocol, parameter) in [
        ("OpsEmailSubscription", "HasOpsEmail", "email", "OpsEmail"),
        (
            "OpsHttpsSubscription",
            "HasOpsHttpsEndpoint",
            "https",
            "OpsHttpsEndpoint",
        ),
    ] {
        let resource = template.resource(subscription);
        assert_eq!(resource["Condition"], condition, "{subscription}");
        assert_eq!(resource["Properties"]["Protocol"], protocol);
        assert_eq!(
            resource["Properties"]["Endpoint"],
            json!({"Ref": parameter})
        );
        assert_eq!(
            resource["Properties"]["TopicArn"],
            json!({"Ref": "OpsTopic"})
        );
        assert_eq!(
            template.doc["Parameters"][parameter]["Default"], "",
            "{parameter} is optional"
        );
    }
    assert_eq!(
        template.doc["Outputs"]["OpsTopicArn"]["Value"],
        json!({"Ref": "OpsTopic"})
    );
}

#[test]
fn the_ops_parameters_take_an_email_or_an_https_url_or_nothing() {
    let template = Template::load();
    let email = parameter_pattern(&template, "OpsEmail");
    for good in ["", "oncall@example.com", "team+jobwatch@ops.example.co.uk"] {
        assert!(email.is_match(good), "OpsEmail refuses {good:?}");
    }
    for bad in [
        "oncall",
        "oncall@example",
        "on call@example.com",
        "a@b@c.com",
    ] {
        assert!(!email.is_match(bad), "OpsEmail accepts {bad:?}");
    }
    let https = parameter_pattern(&template, "OpsHttpsEndpoint");
    for good in [
        "",
        "https://events.pagerduty.com/integration/0123abcd/enqueue",
        "https://api.opsgenie.com/v1/json/cloudwatch?apiKey=abc",
    ] {
        assert!(https.is_match(good), "OpsHttpsEndpoint refuses {good:?}");
    }
    for bad in [
        "http://example.com/sns",
        "example.com",
        "https://",
        "https://a b",
    ] {
        assert!(!https.is_match(bad), "OpsHttpsEndpoint accepts {bad:?}");
    }
}

#[test]
fn the_sweeper_heartbeat_is_quiet_on_a_fresh_stack_and_loud_when_the_sweeper_stops() {
    let template = Template::load();
    let alarm = &template.resource("SweeperHeartbeatAlarm")["Properties"];
    // No invocation in a minute is no data: missing minutes must count against the sweeper,
    // so one that stops alarms after 5 of them.
    assert_eq!(alarm["TreatMissingData"], "breaching");
    assert_eq!(alarm["Period"], 60);
    assert_eq!(alarm["EvaluationPeriods"], 5);
    assert_eq!(alarm["DatapointsToAlarm"], 5);
    assert_eq!(alarm["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(alarm["Threshold"], 1);
    // A fresh stack has no data yet: the warm-up keeps the alarm in INSUFFICIENT_DATA, with no
    // action, until the window is full of sweeps (it ends early then) or, for a sweeper that
    // never runs, for 10 minutes, after which the missing minutes make it alarm.
    let warm_up = &alarm["WarmUpConfiguration"];
    assert_eq!(warm_up["OnlyStartEvaluatingAfterWarmUpPeriodEnds"], false);
    let minutes = warm_up["WarmUpPeriodDurationInMinutes"]
        .as_u64()
        .expect("a warm-up period");
    let window = 5 * 60 / 60;
    assert!(
        minutes > window && minutes <= 10,
        "the warm-up ({minutes} min) outlasts the first window ({window} min) and ends within \
         10 minutes"
    );
    // The heartbeat's INSUFFICIENT_DATA is only its warm-up: no action is taken on it.
    assert!(alarm["InsufficientDataActions"].is_null());
}

// ---------------------------------------------------------------------------------------------
// IAM as AWS authorises it.

#[test]
fn no_policy_grants_an_action_iam_does_not_have() {
    // DynamoDB authorises a transaction item by item (Put as PutItem, Update as UpdateItem,
    // ConditionCheck as ConditionCheckItem...): there is no transaction action to grant.
    let template = Template::load();
    for function in functions::ALL {
        let granted = template.function_actions(function.logical_id);
        for fake in ["dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"] {
            assert!(
                !granted.contains(fake),
                "{}: {fake} is not an IAM action",
                function.logical_id
            );
            assert!(
                !function.actions.contains(&fake),
                "{}: list the IAM actions of its items instead of {fake}",
                function.binary
            );
        }
    }
}

#[test]
fn the_slack_secret_is_granted_by_its_exact_arn_pattern() {
    // Secrets Manager's ARN is the name, a hyphen and 6 random characters: `-??????` matches
    // exactly that, where `-*` would also match slack-webhook-prod-old and the like.
    let template = Template::load();
    let mut checked = 0;
    for function in functions::ALL {
        let policies = &template.resource(function.logical_id)["Properties"]["Policies"];
        for statement in policies
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_array().into_iter().flatten())
            .filter(|s| s["Sid"] == "SlackWebhook")
        {
            let pattern = statement["Resource"]["Fn::Sub"][0]
                .as_str()
                .unwrap_or_default();
            assert!(
                pattern.ends_with(":secret:${Name}-??????"),
                "{}: {pattern}",
                function.logical_id
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "the sweeper and the formatter read the webhook");
    assert!(
        !template_text().contains("}-*"),
        "no ARN pattern ends in -*"
    );
}

// ---------------------------------------------------------------------------------------------
// ReportTimeZone: checked at deploy time, and every example is a real zone.

fn template_text() -> String {
    std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml")
}

/// A parameter's `AllowedPattern`, compiled (CloudFormation matches it against the whole value;
/// the template's patterns are anchored).
fn parameter_pattern(template: &Template, parameter: &str) -> regex_lite::Regex {
    let pattern = template.doc["Parameters"][parameter]["AllowedPattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{parameter} has no AllowedPattern"));
    assert!(
        pattern.starts_with('^') && pattern.ends_with('$'),
        "{parameter}: anchor the pattern"
    );
    regex_lite::Regex::new(pattern).unwrap_or_else(|e| panic!("{parameter}: {e}"))
}

/// Every IANA zone name `text` mentions, and every value given to `ReportTimeZone=`.
fn zones_mentioned(text: &str) -> BTreeSet<String> {
    let areas =
        "Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc";
    let named = regex_lite::Regex::new(&format!(
        r"\b(?:{areas})/[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)?"
    ))
    .expect("zone regex");
    let assigned = regex_lite::Regex::new(r#"ReportTimeZone=\\?"?([^\s"\\]+)"#).expect("regex");
    named
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .chain(assigned.captures_iter(text).map(|c| c[1].to_string()))
        .collect()
}

#[test]
fn report_time_zone_is_checked_at_deploy_time_against_iana_names() {
    let template = Template::load();
    let pattern = parameter_pattern(&template, "ReportTimeZone");
    let default = template.doc["Parameters"]["ReportTimeZone"]["Default"]
        .as_str()
        .expect("a default")
        .to_string();
    let mut zones = BTreeSet::from([default]);
    for file in ["README.md", "samconfig.toml"] {
        let text = std::fs::read_to_string(repo_root().join(file)).expect(file);
        zones.extend(zones_mentioned(&text));
    }
    assert!(
        zones.contains("Europe/Berlin") && zones.len() >= 3,
        "the README's examples were found: {zones:?}"
    );
    for zone in &zones {
        assert!(
            jiff::tz::TimeZone::get(zone).is_ok(),
            "{zone} is not in the IANA time zone database"
        );
        assert!(
            pattern.is_match(zone),
            "{zone}: a real zone the parameter's pattern refuses"
        );
    }
    // What the pattern stops before anything is created.
    for wrong in [
        "",
        "CET",
        "EST",
        "utc",
        "+02:00",
        "UTC+2",
        "Europe/",
        "europe/berlin",
        "Europe/Berlin ",
        "Europe//Berlin",
    ] {
        assert!(!pattern.is_match(wrong), "ReportTimeZone accepts {wrong:?}");
    }
    // What it cannot: a misspelt city has the right shape, and fails at the Scheduler (the
    // parameter's description says so).
    assert!(pattern.is_match("Europe/Berln"));
    assert!(jiff::tz::TimeZone::get("Europe/Berln").is_err());
    let description = template.doc["Parameters"]["ReportTimeZone"]["Description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        description.contains("misspelt"),
        "the description warns about misspelt names: {description}"
    );
}
