//! The three Lambda functions as a deployment must set them up, in one place: the binary, the
//! environment variables it reads and the AWS actions it calls. `template.yaml` is checked
//! against these lists (`tests/template.rs`), the binaries' sources are checked against the
//! variables, and the end-to-end test checks every AWS request a binary makes against its
//! actions, so the template's IAM policies stay exactly what the code needs.

use jobwatch_notify::POLICY_VARIABLES;

/// How a deployment must treat an environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The binary refuses to start without it.
    Required,
    /// Optional to the binary, but a deployment without it loses something (alerts, run
    /// output, the webhook), so the template must set it.
    Deployed,
    /// A tuning knob with a sensible default; the template may set it.
    Optional,
}

#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub need: Need,
}

const fn var(name: &'static str, need: Need) -> Variable {
    Variable { name, need }
}

/// One Lambda function of the stack.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    /// The workspace binary, also the crate's name.
    pub binary: &'static str,
    /// Its resource in `template.yaml`.
    pub logical_id: &'static str,
    pub variables: &'static [Variable],
    /// IAM actions (`service:Action`) of the AWS requests it makes. `kms:*` on the alert
    /// topic's key are not requests of its own: SNS makes them on its behalf when it
    /// publishes to the encrypted topic. A DynamoDB transaction is no IAM action: AWS
    /// authorises each of its items as the operation it stands for (a `Put` as
    /// `dynamodb:PutItem`, an `Update` as `dynamodb:UpdateItem`, a `ConditionCheck` as
    /// `dynamodb:ConditionCheckItem`...), so those are listed instead.
    pub actions: &'static [&'static str],
}

impl Function {
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }
}

use Need::{Deployed, Optional, Required};

const LOG: Variable = var(crate::lambda::LOG_VARIABLE, Optional);

/// The policy variables of `jobwatch-notify`, in the order it lists them.
const fn policy_variables() -> [Variable; POLICY_VARIABLES.len()] {
    let mut out = [var("", Optional); POLICY_VARIABLES.len()];
    let mut i = 0;
    while i < POLICY_VARIABLES.len() {
        out[i] = var(POLICY_VARIABLES[i], Optional);
        i += 1;
    }
    out
}
const POLICY: [Variable; POLICY_VARIABLES.len()] = policy_variables();

pub const INGEST: Function = Function {
    binary: "jobwatch-ingest",
    logical_id: "IngestFunction",
    variables: &[
        var("JOBWATCH_TABLE", Required),
        var("JOBWATCH_ENV", Required),
        var("JOBWATCH_KEYS_SECRET", Required),
        // Without it, logins use a secret derived from the API key and links are unsigned.
        var("JOBWATCH_WEB_SECRET", Deployed),
        var("JOBWATCH_ALERT_TOPIC_ARN", Deployed),
        var("JOBWATCH_RUN_LOG_GROUP", Deployed),
        var("JOBWATCH_RUN_RETENTION_DAYS", Deployed),
        var("JOBWATCH_REPORT_TIME", Deployed),
        var("JOBWATCH_REPORT_TIMEZONE", Deployed),
        var("JOBWATCH_PER_JOB_METRICS", Deployed),
        // Taken from the Function URL event when unset.
        var("JOBWATCH_PUBLIC_URL", Optional),
        LOG,
    ],
    actions: &[
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
    ],
};

pub const SWEEPER: Function = Function {
    binary: "jobwatch-sweeper",
    logical_id: "SweeperFunction",
    variables: &[
        var("JOBWATCH_TABLE", Required),
        var("JOBWATCH_ENV", Required),
        var("JOBWATCH_ALERT_TOPIC_ARN", Deployed),
        var("JOBWATCH_RUN_LOG_GROUP", Deployed),
        // It flushes held Slack summaries too, so it reads the formatter's webhook and policy.
        var(crate::slack::SECRET_VARIABLE, Deployed),
        var("JOBWATCH_REPEAT_INTERVAL", Optional),
        // How old an unacknowledged alert must be to be published again (default 30s: the
        // next sweep or the one after; `sweeper::DEFAULT_REPUBLISH_AFTER`).
        var("JOBWATCH_REPUBLISH_AFTER", Optional),
        // The base of the run links in alerts (the ingest function's URL): none without it.
        var("JOBWATCH_PUBLIC_URL", Deployed),
        // Signs those links so they open without a login (read once per container).
        var("JOBWATCH_WEB_SECRET", Deployed),
        var("JOBWATCH_REPORT_TIME", Deployed),
        var("JOBWATCH_REPORT_TIMEZONE", Deployed),
        var("JOBWATCH_PER_JOB_METRICS", Deployed),
        POLICY[0],
        POLICY[1],
        POLICY[2],
        POLICY[3],
        POLICY[4],
        POLICY[5],
        POLICY[6],
        POLICY[7],
        POLICY[8],
        POLICY[9],
        LOG,
    ],
    actions: &[
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        // Once, for tables written by earlier versions (jobwatch_dynamo's upgrade module).
        "dynamodb:Scan",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
    ],
};

pub const FORMATTER: Function = Function {
    binary: "jobwatch-formatter",
    logical_id: "FormatterFunction",
    variables: &[
        var("JOBWATCH_TABLE", Required),
        var("JOBWATCH_ENV", Required),
        var(crate::slack::SECRET_VARIABLE, Deployed),
        var("JOBWATCH_SLACK_TIMEOUT", Optional),
        POLICY[0],
        POLICY[1],
        POLICY[2],
        POLICY[3],
        POLICY[4],
        POLICY[5],
        POLICY[6],
        POLICY[7],
        POLICY[8],
        POLICY[9],
        LOG,
    ],
    actions: &[
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "secretsmanager:GetSecretValue",
    ],
};

pub const ALL: [Function; 3] = [INGEST, SWEEPER, FORMATTER];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_variable_is_read_where_the_policy_is() {
        assert_eq!(
            POLICY_VARIABLES.len(),
            10,
            "list the new policy variables above"
        );
        for function in [SWEEPER, FORMATTER] {
            for name in POLICY_VARIABLES {
                assert!(
                    function.variable(name).is_some(),
                    "{name} in {}",
                    function.binary
                );
            }
        }
    }

    #[test]
    fn no_variable_or_action_is_listed_twice() {
        for function in ALL {
            let mut names: Vec<_> = function.variables.iter().map(|v| v.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), function.variables.len(), "{}", function.binary);
            let mut actions = function.actions.to_vec();
            actions.sort_unstable();
            actions.dedup();
            assert_eq!(actions.len(), function.actions.len(), "{}", function.binary);
        }
    }
}
