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
