//! `template.yaml` read as data, for the tests that hold the deployment to the code and for
//! the end-to-end test that stands up the stack's resources on moto as the template declares
//! them. CloudFormation's short-form tags become their long form (`!Ref X` is
//! `{"Ref": "X"}`, `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` is
//! `{"Fn::Sub": s}`), so the template is plain JSON to look into.

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_json::{Map, Value};
use serde_norway::Value as Yaml;

/// The repository's root (the workspace root is this support library's package).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Template {
    pub doc: Value,
}

fn to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(tagged.value);
            let (key, value) = match (name, value) {
                ("Ref", v) => ("Ref".to_string(), v),
                ("Condition", v) => ("Condition".to_string(), v),
                ("GetAtt", Value::String(s)) => (
                    "Fn::GetAtt".to_string(),
                    Value::Array(
                        s.splitn(2, '.')
                            .map(|part| Value::String(part.to_string()))
                            .collect(),
                    ),
                ),
                (other, v) => (format!("Fn::{other}"), v),
            };
            Value::Object(Map::from_iter([(key, value)]))
        }
    }
}

impl Template {
    /// The logical ids of the topics an alarm's `actions` (`AlarmActions`, `OKActions`) name;
    /// panics on an action that is not a `!Ref` topic.
    pub fn alarm_topics(&self, alarm: &str, actions: &str) -> std::collections::BTreeSet<String> {
        self.resource(alarm)["Properties"][actions]
            .as_array()
            .into_iter()
            .flatten()
            .map(|action| {
                action["Ref"]
                    .as_str()
                    .unwrap_or_else(|| {
                        panic!("{alarm}: {actions} holds {action}, not a !Ref topic")
                    })
                    .to_string()
            })
            .collect()
    }

    /// Reads `template.yaml` at the repository's root; panics with the reason when it cannot.
    pub fn load() -> Template {
        let path = repo_root().join("template.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let yaml: Yaml = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        Template { doc: to_json(yaml) }
    }

    /// The resource with this logical id (panics, naming it, when the template lacks it).
    pub fn resource(&self, logical_id: &str) -> &Value {
        let resource = &self.doc["Resources"][logical_id];
        assert!(
            resource.is_object(),
            "template.yaml has no resource {logical_id}"
        );
        resource
    }

    /// Logical ids of the resources of this type, sorted.
    pub fn resources_of_type(&self, kind: &str) -> Vec<String> {
        let mut ids: Vec<String> = self.doc["Resources"]
            .as_object()
            .map(|resources| {
                resources
                    .iter()
                    .filter(|(_, r)| r["Type"] == kind)
                    .map(|(id, _)| id.clone())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// A property of a function, falling back to `Globals.Function` as SAM does.
    pub fn function_property(&self, logical_id: &str, name: &str) -> Value {
        let own = &self.resource(logical_id)["Properties"][name];
        if own.is_null() {
            self.doc["Globals"]["Function"][name].clone()
        } else {
            own.clone()
        }
    }

    /// The names of the environment variables the template sets on a function (its own and
    /// those of `Globals`).
    pub fn function_variables(&self, logical_id: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for variables in [
            &self.doc["Globals"]["Function"]["Environment"]["Variables"],
            &self.resource(logical_id)["Properties"]["Environment"]["Variables"],
        ] {
            if let Some(map) = variables.as_object() {
                names.extend(map.keys().cloned());
            }
        }
        names
    }

    /// Every action an `Allow` statement of the function's inline policies grants.
    pub fn function_actions(&self, logical_id: &str) -> BTreeSet<String> {
        let mut actions = BTreeSet::new();
        let policies = &self.resource(logical_id)["Properties"]["Policies"];
        for policy in policies.as_array().into_iter().flatten() {
            for statement in policy["Statement"].as_array().into_iter().flatten() {
                if statement["Effect"] != "Allow" {
                    continue;
                }
                match &statement["Action"] {
                    Value::String(action) => {
                        actions.insert(action.clone());
                    }
                    Value::Array(list) => {
                        actions.extend(list.iter().filter_map(Value::as_str).map(str::to_string))
                    }
                    _ => {}
                }
            }
        }
        actions
    }

    /// Creates a DynamoDB table on `client` from the template's `AWS::DynamoDB::Table`
    /// resource: its keys, attribute definitions, global secondary indexes and TTL, exactly
    /// as written there.
    pub async fn create_table(
        &self,
        logical_id: &str,
        client: &aws_sdk_dynamodb::Client,
        name: &str,
    ) {
        let properties = &self.resource(logical_id)["Properties"];
        let key_schema = |keys: &Value| -> Vec<KeySchemaElement> {
            keys.as_array()
                .into_iter()
                .flatten()
                .map(|k| {
                    KeySchemaElement::builder()
                        .attribute_name(k["AttributeName"].as_str().unwrap_or_default())
                        .key_type(KeyType::from(k["KeyType"].as_str().unwrap_or_default()))
                        .build()
                        .expect("key schema")
                })
                .collect()
        };
        let mut request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::from(
                properties["BillingMode"].as_str().unwrap_or("PROVISIONED"),
            ))
            .set_key_schema(Some(key_schema(&properties["KeySchema"])));
        for attribute in properties["AttributeDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attribute["AttributeName"].as_str().unwrap_or_default())
                    .attribute_type(ScalarAttributeType::from(
                        attribute["AttributeType"].as_str().unwrap_or_default(),
                    ))
                    .build()
                    .expect("attribute definition"),
            );
        }
        for index in properties["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index["IndexName"].as_str().unwrap_or_default())
                    .set_key_schema(Some(key_schema(&index["KeySchema"])))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(
                                index["Projection"]["ProjectionType"]
                                    .as_str()
                                    .unwrap_or_default(),
                            ))
                            .build(),
                    )
                    .build()
                    .expect("index"),
            );
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating {logical_id} as the template declares it: {e:?}"));
        let ttl = &properties["TimeToLiveSpecification"];
        if ttl["Enabled"] == true {
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(ttl["AttributeName"].as_str().unwrap_or_default())
                        .enabled(true)
                        .build()
                        .expect("ttl"),
                )
                .send()
                .await
                .expect("TTL as the template declares it");
        }
    }
}

/// What `Ref`s and `Fn::GetAtt`s stand for in one deployment: parameter values (the
/// template's defaults unless given), pseudo parameters and the resources a test created.
pub struct Deployment<'t> {
    template: &'t Template,
    values: std::collections::BTreeMap<String, String>,
}

impl<'t> Deployment<'t> {
    /// A deployment with the template's parameter defaults and the pseudo parameters of a
    /// `us-east-1` account; `set` overrides and adds (`"JobsTable"`, `"AlertTopic.Arn"`...).
    pub fn new(template: &'t Template) -> Deployment<'t> {
        let mut values = std::collections::BTreeMap::new();
        if let Some(parameters) = template.doc["Parameters"].as_object() {
            for (name, parameter) in parameters {
                let default = match &parameter["Default"] {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                values.insert(name.clone(), default);
            }
        }
        for (name, value) in [
            ("AWS::Region", "us-east-1"),
            ("AWS::AccountId", "123456789012"),
            ("AWS::Partition", "aws"),
            ("AWS::StackName", "jobwatch-test"),
            ("AWS::URLSuffix", "amazonaws.com"),
        ] {
            values.insert(name.to_string(), value.to_string());
        }
        Deployment { template, values }
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.values.insert(name.to_string(), value.into());
        self
    }

    fn lookup(&self, name: &str) -> Result<String, String> {
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("the test did not say what {name} is"))
    }

    fn condition(&self, name: &str) -> Result<bool, String> {
        let condition = &self.template.doc["Conditions"][name];
        if condition.is_null() {
            return Err(format!("no condition {name}"));
        }
        self.truth(condition)
    }

    fn truth(&self, value: &Value) -> Result<bool, String> {
        let (function, args) = value
            .as_object()
            .and_then(|o| o.iter().next())
            .ok_or_else(|| format!("not a condition: {value}"))?;
        let list = || args.as_array().cloned().unwrap_or_default();
        match function.as_str() {
            "Fn::Equals" => {
                let items = list();
                Ok(items.len() == 2 && self.resolve(&items[0])? == self.resolve(&items[1])?)
            }
            "Fn::Not" => Ok(!self.truth(list().first().ok_or("Fn::Not without argument")?)?),
            "Fn::And" => list()
                .iter()
                .try_fold(true, |all, c| Ok(all && self.truth(c)?)),
            "Fn::Or" => list()
                .iter()
                .try_fold(false, |any, c| Ok(any || self.truth(c)?)),
            "Condition" => self.condition(args.as_str().unwrap_or_default()),
            other => Err(format!("condition function {other} is not supported")),
        }
    }

    fn substitute(&self, text: &str, locals: &Map<String, Value>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text}"))?;
            let name = &after[..end];
            let value = match locals.get(name) {
                Some(local) => self.resolve(local)?,
                None => self.lookup(name)?,
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The value an intrinsic-function expression of the template takes in this deployment.
    pub fn resolve(&self, value: &Value) -> Result<String, String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Object(object) if object.len() == 1 => {
                let (function, args) = object.iter().next().ok_or("empty")?;
                match function.as_str() {
                    "Ref" => self.lookup(args.as_str().unwrap_or_default()),
                    "Fn::GetAtt" => {
                        let parts: Vec<&str> = args
                            .as_array()
                            .map(|a| a.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        self.lookup(&parts.join("."))
                    }
                    "Fn::Sub" => match args {
                        Value::String(text) => self.substitute(text, &Map::new()),
                        Value::Array(items) if items.len() == 2 => self.substitute(
                            items[0].as_str().unwrap_or_default(),
                            items[1].as_object().unwrap_or(&Map::new()),
                        ),
                        other => Err(format!("Fn::Sub with {other}")),
                    },
                    "Fn::If" => {
                        let items = args.as_array().cloned().unwrap_or_default();
                        if items.len() != 3 {
                            return Err(format!("Fn::If with {args}"));
                        }
                        let chosen = if self.condition(items[0].as_str().unwrap_or_default())? {
                            &items[1]
                        } else {
                            &items[2]
                        };
                        self.resolve(chosen)
                    }
                    "Fn::Join" => {
                        let items = args.as_array().cloned().unwrap_or_default();
                        let separator = items.first().and_then(Value::as_str).unwrap_or("");
                        let parts = items
                            .get(1)
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default();
                        Ok(parts
                            .iter()
                            .map(|p| self.resolve(p))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(separator))
                    }
                    other => Err(format!("{other} is not supported here")),
                }
            }
            other => Err(format!("cannot resolve {other}")),
        }
    }

    /// The environment variables the template gives a function, resolved.
    pub fn function_environment(&self, logical_id: &str) -> Vec<(String, String)> {
        let variables =
            &self.template.resource(logical_id)["Properties"]["Environment"]["Variables"];
        variables
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let value = self
                    .resolve(value)
                    .unwrap_or_else(|e| panic!("{logical_id}: {name}: {e}"));
                (name.clone(), value)
            })
            .collect()
    }
}
