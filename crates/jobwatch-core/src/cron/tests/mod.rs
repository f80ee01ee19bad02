//! Cron parsing and evaluation against hand-checked fire times, including DST transitions:
//! parsing here, fire times in [`evaluate`], daylight-saving transitions in [`dst`].

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::*;

fn tz(name: &str) -> TimeZone {
    TimeZone::get(name).expect("time zone in the bundled database")
}

fn ts(text: &str) -> Timestamp {
    text.parse().expect("valid test timestamp")
}

/// The first `n` fire instants strictly after `start`, as RFC 3339 UTC strings.
fn fires(expr: &str, zone: &str, start: &str, n: usize) -> Vec<String> {
    let cron = CronExpr::parse(expr).expect("valid test expression");
    let zone = tz(zone);
    let mut t = ts(start);
    let mut out = Vec::new();
    for _ in 0..n {
        t = cron.next_after(t, &zone).expect("schedule fires");
        out.push(t.to_string());
    }
    out
}

fn parse_err(expr: &str) -> String {
    match CronExpr::parse(expr) {
        Ok(_) => format!("accepted: {expr}"),
        Err(e) => e.to_string(),
    }
}

mod dst;
mod evaluate;

#[test]
fn accepts_valid_expressions() {
    let valid = [
        "* * * * *",
        "0 0 * * *",
        "  59 23 31 12 7  ",
        "0\t0\t*\t*\t*",
        "*/15 9-17 * * MON-FRI",
        "0-59/7 */3 1-31/2 */2 0-7/2",
        "5/10 3/4 2/5 2/3 1/2",
        "1,2,3-5,10-20/5 0 * * *",
        "0 0 1 jan,Mar,DEC sun,sat",
        "0 0 * JAN-JUN FRI-SAT",
        "0 0 L * *",
        "0 0 L-3 * *",
        "0 0 L-30 * *",
        "0 0 15W * *",
        "0 0 1w,lw * *",
        "0 0 1,15,L * *",
        "0 0 * * 5L",
        "0 0 * * FRIL",
        "0 0 * * 1#1,5#3,SUN#5",
        "0 0 * * 7#2",
        "0 0 29 2 *",
        "0 0 29 2 0",
        "0 0 30 1-3 *",
        "0 0 31 * *",
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
        "@DAILY",
        "00 007 01 01 00",
    ];
    for expr in valid {
        let cron = CronExpr::parse(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"));
        assert_eq!(cron.as_str(), expr.trim());
        assert_eq!(cron.to_string(), expr.trim());
        assert_eq!(expr.parse::<CronExpr>(), Ok(cron));
    }
}

#[test]
fn rejects_invalid_expressions_with_precise_messages() {
    let invalid = [
        ("", "cron expression is empty"),
        ("   ", "cron expression is empty"),
        (
            "* * * *",
            "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 4",
        ),
        (
            "0 * * * * *",
            "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 6",
        ),
        ("61 * * * *", "minute field: value 61 is out of range 0-59"),
        ("* 24 * * *", "hour field: value 24 is out of range 0-23"),
        (
            "* * 0 * *",
            "day-of-month field: value 0 is out of range 1-31",
        ),
        (
            "* * 32 * *",
            "day-of-month field: value 32 is out of range 1-31",
        ),
        ("* * * 13 *", "month field: value 13 is out of range 1-12"),
        (
            "* * * * 8",
            "day-of-week field: value 8 is out of range 0-7",
        ),
        (
            "99999999999999999999 * * * *",
            "minute field: value 99999999999999999999 is out of range 0-59",
        ),
        (
            "5-1 * * * *",
            "minute field: range 5-1 is reversed (start is after end)",
        ),
        (
            "* * * * FRI-MON",
            "day-of-week field: range FRI-MON is reversed (start is after end)",
        ),
        ("*/0 * * * *", "minute field: step 0 is out of range 1-59"),
        ("*/60 * * * *", "minute field: step 60 is out of range 1-59"),
        ("* 1-5/0 * * *", "hour field: step 0 is out of range 1-23"),
        ("1,,2 * * * *", "minute field: empty list item"),
        ("1, * * * *", "minute field: empty list item"),
        ("* * * * FOO", "day-of-week field: unknown name 'FOO'"),
        ("* * * JANUARY *", "month field: unknown name 'JANUARY'"),
        ("* MON * * *", "hour field: invalid item 'MON'"),
        ("1;2 * * * *", "minute field: invalid item '1;2'"),
        ("x * * * *", "minute field: invalid item 'x'"),
        ("*/ * * * *", "minute field: invalid item '*/'"),
        ("/5 * * * *", "minute field: invalid item '/5'"),
        ("1-2-3 * * * *", "minute field: invalid item '1-2-3'"),
        ("1/2/3 * * * *", "minute field: invalid item '1/2/3'"),
        ("-1 * * * *", "minute field: invalid item '-1'"),
        ("+1 * * * *", "minute field: invalid item '+1'"),
        ("* * ? * *", "day-of-month field: invalid item '?'"),
        ("* * * * 1#", "day-of-week field: invalid item '1#'"),
        ("L * * * *", "minute field: invalid item 'L'"),
        ("* * * L *", "month field: unknown name 'L'"),
        ("０ * * * *", "minute field: invalid item '０'"),
        (
            "* * L-31 * *",
            "day-of-month field: 'L-31': the offset after L- must be 1-30",
        ),
        (
            "* * L-0 * *",
            "day-of-month field: 'L-0': the offset after L- must be 1-30",
        ),
        (
            "* * 32W * *",
            "day-of-month field: value 32 is out of range 1-31",
        ),
        (
            "* * W * *",
            "day-of-month field: 'W': W needs a day before it (e.g. 15W)",
        ),
        (
            "* * 1-5W * *",
            "day-of-month field: '1-5W': L, W and # cannot be combined with a range or step",
        ),
        (
            "* * L/2 * *",
            "day-of-month field: 'L/2': L, W and # cannot be combined with a range or step",
        ),
        (
            "* * 1-L * *",
            "day-of-month field: '1-L': L, W and # cannot be combined with a range or step",
        ),
        (
            "* * * * L",
            "day-of-week field: 'L': L needs a day-of-week before it (e.g. 5L for the last Friday)",
        ),
        (
            "* * * * 1-5L",
            "day-of-week field: '1-5L': L, W and # cannot be combined with a range or step",
        ),
        (
            "* * * * 1#6",
            "day-of-week field: '1#6': the occurrence after # must be 1-5",
        ),
        (
            "* * * * 1#0",
            "day-of-week field: '1#0': the occurrence after # must be 1-5",
        ),
        (
            "* * * * 1-2#1",
            "day-of-week field: '1-2#1': L, W and # cannot be combined with a range or step",
        ),
        (
            "* * * * 8#1",
            "day-of-week field: value 8 is out of range 0-7",
        ),
        (
            "@reboot",
            "@reboot is not supported: it runs at boot, not on a schedule jobwatch can watch",
        ),
        (
            "@fortnightly",
            "unknown nickname '@fortnightly' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
        ),
        ("@daily 5", "nickname '@daily' must be the whole expression"),
        (
            "0 0 30 2 *",
            "schedule never fires (day 30 does not exist in February)",
        ),
        (
            "0 0 31 2 *",
            "schedule never fires (day 31 does not exist in February)",
        ),
        (
            "0 0 30,31 feb *",
            "schedule never fires (days 30 and 31 do not exist in February)",
        ),
        (
            "0 0 31 4,6,9,11 *",
            "schedule never fires (day 31 does not exist in April, June, September or November)",
        ),
        (
            "0 0 L-29 2 *",
            "schedule never fires (no day in February matches the day fields)",
        ),
        (
            "0 0 30W 2 *",
            "schedule never fires (no day in February matches the day fields)",
        ),
        // A star-led day field means AND: days 1, 16 and 31, but a 5th Monday in February is the 29th.
        (
            "0 0 */15 2 1#5",
            "schedule never fires (no day in February matches the day fields)",
        ),
    ];
    for (expr, message) in invalid {
        assert_eq!(parse_err(expr), message, "for {expr:?}");
    }
}

#[test]
fn nicknames_mean_their_five_field_forms() {
    let pairs = [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ];
    for (nick, long) in pairs {
        let nick = CronExpr::parse(nick).unwrap_or_else(|e| panic!("{nick}: {e}"));
        let long = CronExpr::parse(long).unwrap_or_else(|e| panic!("{long}: {e}"));
        assert_eq!(nick.schedule, long.schedule, "{nick}");
    }
}

#[test]
fn names_and_numbers_are_interchangeable() {
    let same = [
        ("0 0 * * MON-FRI", "0 0 * * 1-5"),
        ("0 0 * * sun", "0 0 * * 7"),
        ("0 0 * * 0", "0 0 * * 7"),
        ("0 0 * * 5-7", "0 0 * * 0,5,6"),
        ("0 0 1 jan-mar *", "0 0 1 1-3 *"),
        ("0 0 * * 1#1", "0 0 * * MON#1"),
        ("0 0 * * 0L", "0 0 * * 7L"),
        ("0 0 * * 5L", "0 0 * * fril"),
    ];
    for (a, b) in same {
        let pa = CronExpr::parse(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        let pb = CronExpr::parse(b).unwrap_or_else(|e| panic!("{b}: {e}"));
        assert_eq!(pa.schedule, pb.schedule, "{a} vs {b}");
    }
}

#[test]
fn wildcard_jobs_are_those_whose_minute_or_hour_begins_with_a_star() {
    for (expr, wildcard) in [
        ("*/15 * * * *", true),
        ("30 * * * *", true),
        ("* 2 * * *", true),
        ("0 */2 * * *", true),
        ("@hourly", true),
        ("30 2 * * *", false),
        ("0 9,17 * * 1-5", false),
        ("0-59 0-23 * * *", false),
        ("@daily", false),
    ] {
        let cron = CronExpr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(cron.is_wildcard_time(), wildcard, "{expr}");
    }
}

#[test]
fn serde_round_trips_as_the_original_text() {
    let cron = CronExpr::parse("*/5 * * * MON-FRI").expect("valid");
    let json = serde_json::to_string(&cron).expect("serialises");
    assert_eq!(json, r#""*/5 * * * MON-FRI""#);
    assert_eq!(serde_json::from_str::<CronExpr>(&json).ok(), Some(cron));
    let err = serde_json::from_str::<CronExpr>(r#""61 * * * *""#).unwrap_err();
    assert!(err.to_string().contains("minute field: value 61"), "{err}");
}
