//! The price table of the cost model: AWS list prices in us-east-1, dated, with the pages
//! they come from. Update the date and the figures together, from the same pages.

/// Prices in US dollars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    /// The day the figures were read.
    pub date: &'static str,
    pub region: &'static str,
    // https://aws.amazon.com/lambda/pricing/
    pub lambda_per_million_requests: f64,
    /// Arm (Graviton) functions, first tier.
    pub lambda_arm_per_gb_second: f64,
    // https://aws.amazon.com/dynamodb/pricing/on-demand/
    pub dynamo_per_million_wru: f64,
    pub dynamo_per_million_rru: f64,
    /// Standard table class, per GB-month (beyond the 25 GB of the free tier, not counted).
    pub dynamo_storage_per_gb_month: f64,
    // https://aws.amazon.com/cloudwatch/pricing/
    /// Per metric-month, first 10,000 metrics; prorated by the hour.
    pub metric_per_month: f64,
    pub put_metric_data_per_thousand: f64,
    /// Standard resolution alarm, per alarm-month.
    pub alarm_per_month: f64,
    /// Standard log class ingestion, per GB.
    pub logs_ingestion_per_gb: f64,
    /// Archived logs, per GB-month.
    pub logs_storage_per_gb_month: f64,
    /// Dashboards beyond the free ones, per dashboard-month.
    pub dashboard_per_month: f64,
    pub free_dashboards: f64,
    // https://aws.amazon.com/secrets-manager/pricing/
    pub secret_per_month: f64,
    pub secrets_per_ten_thousand_calls: f64,
    // https://aws.amazon.com/kms/pricing/
    /// Customer managed key, per key-month.
    pub kms_key_per_month: f64,
    pub kms_per_ten_thousand_requests: f64,
    // https://aws.amazon.com/sns/pricing/
    /// Standard topic publishes (API requests) beyond the free ones; deliveries to Lambda
    /// are free.
    pub sns_per_million_requests: f64,
    pub sns_free_requests: f64,
}

pub const PRICES: Prices = Prices {
    date: "2026-12-02",
    region: "us-east-1",
    lambda_per_million_requests: 0.20,
    lambda_arm_per_gb_second: 0.000_013_333_4,
    dynamo_per_million_wru: 0.625,
    dynamo_per_million_rru: 0.125,
    dynamo_storage_per_gb_month: 0.25,
    metric_per_month: 0.30,
    put_metric_data_per_thousand: 0.01,
    alarm_per_month: 0.10,
    logs_ingestion_per_gb: 0.50,
    logs_storage_per_gb_month: 0.03,
    dashboard_per_month: 3.00,
    free_dashboards: 3.0,
    secret_per_month: 0.40,
    secrets_per_ten_thousand_calls: 0.05,
    kms_key_per_month: 1.00,
    kms_per_ten_thousand_requests: 0.03,
    sns_per_million_requests: 0.50,
    sns_free_requests: 1_000_000.0,
};

/// `$0.20`, `$0.625`, `$0.0000133334`: whole cents with two decimals, others in full.
fn usd(amount: f64) -> String {
    if ((amount * 100.0) - (amount * 100.0).round()).abs() < 1e-9 {
        format!("${amount:.2}")
    } else {
        format!("${amount}")
    }
}

/// The table as markdown rows (`| item | price | page |`).
pub fn markdown(prices: &Prices) -> String {
    let rows = [
        (
            "Lambda requests",
            format!("{} per 1M", usd(prices.lambda_per_million_requests)),
            "aws.amazon.com/lambda/pricing",
        ),
        (
            "Lambda compute, arm64",
            format!("{} per GB-second", usd(prices.lambda_arm_per_gb_second)),
            "aws.amazon.com/lambda/pricing",
        ),
        (
            "DynamoDB on-demand writes",
            format!("{} per 1M WRU", usd(prices.dynamo_per_million_wru)),
            "aws.amazon.com/dynamodb/pricing/on-demand",
        ),
        (
            "DynamoDB on-demand reads",
            format!("{} per 1M RRU", usd(prices.dynamo_per_million_rru)),
            "aws.amazon.com/dynamodb/pricing/on-demand",
        ),
        (
            "DynamoDB storage",
            format!("{} per GB-month", usd(prices.dynamo_storage_per_gb_month)),
            "aws.amazon.com/dynamodb/pricing/on-demand",
        ),
        (
            "CloudWatch custom metric",
            format!(
                "{} per metric-month, prorated hourly",
                usd(prices.metric_per_month)
            ),
            "aws.amazon.com/cloudwatch/pricing",
        ),
        (
            "CloudWatch PutMetricData",
            format!(
                "{} per 1,000 requests",
                usd(prices.put_metric_data_per_thousand)
            ),
            "aws.amazon.com/cloudwatch/pricing",
        ),
        (
            "CloudWatch standard alarm",
            format!("{} per alarm-month", usd(prices.alarm_per_month)),
            "aws.amazon.com/cloudwatch/pricing",
        ),
        (
            "CloudWatch Logs ingestion",
            format!("{} per GB", usd(prices.logs_ingestion_per_gb)),
            "aws.amazon.com/cloudwatch/pricing",
        ),
        (
            "CloudWatch Logs storage",
            format!("{} per GB-month", usd(prices.logs_storage_per_gb_month)),
            "aws.amazon.com/cloudwatch/pricing",
        ),
        (
            "CloudWatch dashboard",
            format!(
                "{} per month after the first {}",
                usd(prices.dashboard_per_month),
                prices.free_dashboards
            ),
            "aws.amazon.com/cloudwatch/pricing",
        ),
        (
            "Secrets Manager secret",
            format!("{} per secret-month", usd(prices.secret_per_month)),
            "aws.amazon.com/secrets-manager/pricing",
        ),
        (
            "Secrets Manager API calls",
            format!("{} per 10,000", usd(prices.secrets_per_ten_thousand_calls)),
            "aws.amazon.com/secrets-manager/pricing",
        ),
        (
            "KMS customer managed key",
            format!("{} per key-month", usd(prices.kms_key_per_month)),
            "aws.amazon.com/kms/pricing",
        ),
        (
            "KMS requests",
            format!("{} per 10,000", usd(prices.kms_per_ten_thousand_requests)),
            "aws.amazon.com/kms/pricing",
        ),
        (
            "SNS publishes",
            format!(
                "first {}M free, then {} per 1M; deliveries to Lambda free",
                prices.sns_free_requests / 1e6,
                usd(prices.sns_per_million_requests)
            ),
            "aws.amazon.com/sns/pricing",
        ),
    ];
    let mut out = String::from("| item | price | source |\n| --- | --- | --- |\n");
    for (item, price, page) in rows {
        out.push_str(&format!("| {item} | {price} | {page} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_print_as_written() {
        assert_eq!(usd(0.625), "$0.625");
        assert_eq!(usd(0.2), "$0.20");
        assert_eq!(usd(3.0), "$3.00");
        assert_eq!(usd(0.000_013_333_4), "$0.0000133334");
        assert!(markdown(&PRICES).contains("| DynamoDB on-demand writes | $0.625 per 1M WRU |"));
    }
}
