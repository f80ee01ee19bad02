//! Cron parsing and evaluation against hand-checked fire times, including DST transitions.

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

#[test]
fn daily_in_seoul_fires_at_midnight_utc() {
    // 09:00 KST = 00:00Z; the start instant itself is a fire and is excluded.
    assert_eq!(
        fires("0 9 * * *", "Asia/Seoul", "2026-01-01T00:00:00Z", 3),
        [
            "2026-01-02T00:00:00Z",
            "2026-01-03T00:00:00Z",
            "2026-01-04T00:00:00Z"
        ]
    );
}

#[test]
fn monthly_on_the_first() {
    assert_eq!(
        fires("0 10 1 * *", "UTC", "2026-01-15T00:00:00Z", 3),
        [
            "2026-02-01T10:00:00Z",
            "2026-03-01T10:00:00Z",
            "2026-04-01T10:00:00Z"
        ]
    );
}

#[test]
fn every_quarter_hour_in_business_hours_skips_the_weekend() {
    // 2026-01-16 is a Friday.
    assert_eq!(
        fires("*/15 9-17 * * MON-FRI", "UTC", "2026-01-16T17:40:00Z", 4),
        [
            "2026-01-16T17:45:00Z",
            "2026-01-19T09:00:00Z",
            "2026-01-19T09:15:00Z",
            "2026-01-19T09:30:00Z"
        ]
    );
}

#[test]
fn both_day_fields_restricted_means_either_matches() {
    // Every 13th and every Friday; April 2026 has Fridays 3, 10, 17, 24 and a Monday 13th.
    assert_eq!(
        fires("0 0 13 * 5", "UTC", "2026-04-01T00:00:00Z", 6),
        [
            "2026-04-03T00:00:00Z",
            "2026-04-10T00:00:00Z",
            "2026-04-13T00:00:00Z",
            "2026-04-17T00:00:00Z",
            "2026-04-24T00:00:00Z",
            "2026-05-01T00:00:00Z"
        ]
    );
}

#[test]
fn a_star_led_day_field_means_both_must_match() {
    // `*/2` is odd days; Mondays of Jan-Mar 2026: 5 12 19 26, 2 9 16 23, 2 9 16 23 30.
    assert_eq!(
        fires("0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z", 6),
        [
            "2026-01-05T00:00:00Z",
            "2026-01-19T00:00:00Z",
            "2026-02-09T00:00:00Z",
            "2026-02-23T00:00:00Z",
            "2026-03-09T00:00:00Z",
            "2026-03-23T00:00:00Z"
        ]
    );
}

#[test]
fn last_day_of_month_in_leap_and_common_years() {
    assert_eq!(
        fires("0 0 L * *", "UTC", "2024-01-15T00:00:00Z", 3),
        [
            "2024-01-31T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2024-03-31T00:00:00Z"
        ]
    );
    assert_eq!(
        fires("0 0 L * *", "UTC", "2026-01-15T00:00:00Z", 4),
        [
            "2026-01-31T00:00:00Z",
            "2026-02-28T00:00:00Z",
            "2026-03-31T00:00:00Z",
            "2026-04-30T00:00:00Z"
        ]
    );
    // Three days before the last day.
    assert_eq!(
        fires("0 0 L-3 * *", "UTC", "2026-02-01T00:00:00Z", 2),
        ["2026-02-25T00:00:00Z", "2026-03-28T00:00:00Z"]
    );
}

#[test]
fn nearest_weekday_moves_off_weekends_within_the_month() {
    // 15 Feb and 15 Mar 2026 are Sundays (-> Monday 16th), 15 Apr is a Wednesday.
    assert_eq!(
        fires("0 0 15W * *", "UTC", "2026-02-01T00:00:00Z", 3),
        [
            "2026-02-16T00:00:00Z",
            "2026-03-16T00:00:00Z",
            "2026-04-15T00:00:00Z"
        ]
    );
    // 15 Aug 2026 is a Saturday -> Friday 14th.
    assert_eq!(
        fires("0 0 15W * *", "UTC", "2026-08-01T00:00:00Z", 1),
        ["2026-08-14T00:00:00Z"]
    );
    // 1 Aug 2026 is a Saturday: Friday would be in July, so Monday 3rd.
    assert_eq!(
        fires("0 0 1W * *", "UTC", "2026-07-02T00:00:00Z", 2),
        ["2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z"]
    );
    // 31 May 2026 is a Sunday: Monday would be in June, so Friday 29th.
    assert_eq!(
        fires("0 0 31W * *", "UTC", "2026-05-01T00:00:00Z", 1),
        ["2026-05-29T00:00:00Z"]
    );
}

#[test]
fn last_weekday_of_month() {
    // 31 Jan 2026 is a Saturday, 28 Feb a Saturday, 31 Mar a Tuesday.
    assert_eq!(
        fires("0 0 LW * *", "UTC", "2026-01-01T00:00:00Z", 3),
        [
            "2026-01-30T00:00:00Z",
            "2026-02-27T00:00:00Z",
            "2026-03-31T00:00:00Z"
        ]
    );
}

#[test]
fn last_friday_of_month() {
    assert_eq!(
        fires("0 0 * * 5L", "UTC", "2026-01-01T00:00:00Z", 3),
        [
            "2026-01-30T00:00:00Z",
            "2026-02-27T00:00:00Z",
            "2026-03-27T00:00:00Z"
        ]
    );
}

#[test]
fn first_monday_of_month() {
    assert_eq!(
        fires("0 0 * * 1#1", "UTC", "2026-01-01T00:00:00Z", 3),
        [
            "2026-01-05T00:00:00Z",
            "2026-02-02T00:00:00Z",
            "2026-03-02T00:00:00Z"
        ]
    );
}

#[test]
fn fifth_monday_skips_months_without_one() {
    assert_eq!(
        fires("0 0 * * 1#5", "UTC", "2026-01-01T00:00:00Z", 4),
        [
            "2026-03-30T00:00:00Z",
            "2026-06-29T00:00:00Z",
            "2026-08-31T00:00:00Z",
            "2026-11-30T00:00:00Z"
        ]
    );
}

#[test]
fn weekly_is_sunday_midnight() {
    assert_eq!(
        fires("@weekly", "UTC", "2026-01-01T00:00:00Z", 2),
        ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]
    );
}

#[test]
fn february_29th_waits_for_a_leap_year() {
    assert_eq!(
        fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3),
        [
            "2028-02-29T00:00:00Z",
            "2032-02-29T00:00:00Z",
            "2036-02-29T00:00:00Z"
        ]
    );
    // Feb 29 that is also a Sunday (`*/7` is 0 and 7, and star-led, so AND): 2100 is not
    // a leap year, which stretches the usual 28-year wait.
    assert_eq!(
        fires("0 0 29 2 */7", "UTC", "2089-01-01T00:00:00Z", 1),
        ["2128-02-29T00:00:00Z"]
    );
}

#[test]
fn fixed_time_in_the_spring_gap_fires_once_right_after_it() {
    // New York skips 02:00-02:59 on 2026-03-08: 02:30 fires at 03:00 EDT.
    assert_eq!(
        fires("30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", 3),
        [
            "2026-03-07T07:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-09T06:30:00Z"
        ]
    );
    // Two skipped slots collapse into one fire, which also covers 03:00 itself.
    assert_eq!(
        fires(
            "0,30 2,3 * * *",
            "America/New_York",
            "2026-03-08T06:00:00Z",
            3
        ),
        [
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:30:00Z",
            "2026-03-09T06:00:00Z"
        ]
    );
}

#[test]
fn fixed_time_in_the_autumn_fold_fires_once_at_the_first_occurrence() {
    // New York repeats 01:00-01:59 on 2026-11-01 (EDT, then EST).
    assert_eq!(
        fires("30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", 3),
        [
            "2026-10-31T05:30:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-02T06:30:00Z"
        ]
    );
    // 02:30 exists once that night.
    assert_eq!(
        fires("30 2 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
        ["2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"]
    );
    // Starting between the two occurrences does not fire the second one.
    assert_eq!(
        fires("45 1 * * *", "America/New_York", "2026-11-01T05:50:00Z", 1),
        ["2026-11-02T06:45:00Z"]
    );
}

#[test]
fn wildcard_jobs_follow_real_time_across_dst() {
    let ny = "America/New_York";
    // Autumn: 01:30 happens twice, and both fire.
    assert_eq!(
        fires("30 * * * *", ny, "2026-11-01T03:00:00Z", 5),
        [
            "2026-11-01T03:30:00Z",
            "2026-11-01T04:30:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-01T07:30:00Z"
        ]
    );
    // Starting inside the first pass of the repeated hour (01:40 EDT).
    assert_eq!(
        fires("30 * * * *", ny, "2026-11-01T05:40:00Z", 2),
        ["2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"]
    );
    // Spring: 02:30 does not exist, and nothing stands in for it.
    assert_eq!(
        fires("30 * * * *", ny, "2026-03-08T05:00:00Z", 4),
        [
            "2026-03-08T05:30:00Z",
            "2026-03-08T06:30:00Z",
            "2026-03-08T07:30:00Z",
            "2026-03-08T08:30:00Z"
        ]
    );
    // A job for every minute of 02:xx does not run at all on the day 02:xx is skipped.
    assert_eq!(
        fires("* 2 * * *", ny, "2026-03-08T06:59:00Z", 1),
        ["2026-03-09T06:00:00Z"]
    );
}

#[test]
fn every_half_hour_stays_evenly_spaced_in_real_time_across_dst() {
    let ny = "America/New_York";
    // Spring: 01:00 EST, 01:30 EST, (02:00 and 02:30 skipped), 03:00 EDT, 03:30 EDT.
    assert_eq!(
        fires("*/30 * * * *", ny, "2026-03-08T05:45:00Z", 5),
        [
            "2026-03-08T06:00:00Z",
            "2026-03-08T06:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:30:00Z",
            "2026-03-08T08:00:00Z"
        ]
    );
    // Autumn: 01:00 EDT, 01:30 EDT, 01:00 EST, 01:30 EST, 02:00 EST.
    assert_eq!(
        fires("*/30 * * * *", ny, "2026-11-01T04:45:00Z", 6),
        [
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-01T07:00:00Z",
            "2026-11-01T07:30:00Z"
        ]
    );
}

#[test]
fn london_fixed_time_across_both_transitions() {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST, so 01:30 fires at 02:00 BST = 01:00Z.
    assert_eq!(
        fires("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", 2),
        ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
    );
    // 2026-10-25: 01:00-01:59 happens in BST then GMT; the fixed job fires once, in BST.
    assert_eq!(
        fires("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", 2),
        ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    );
}

#[test]
fn lord_howe_half_hour_dst_shift() {
    let zone = "Australia/Lord_Howe";
    // 2026-10-04: 02:00 (+10:30) jumps to 02:30 (+11). 02:15 fires at the jump, 15:30Z.
    assert_eq!(
        fires("15 2 * * *", zone, "2026-10-03T00:00:00Z", 2),
        ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]
    );
    // 2026-04-05: 02:00 (+11) goes back to 01:30 (+10:30). 01:45 fires once, at +11.
    assert_eq!(
        fires("45 1 * * *", zone, "2026-04-04T00:00:00Z", 2),
        ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
    );
    // A wildcard job sees 01:45 twice that night, then 02:45 (+10:30).
    assert_eq!(
        fires("45 * * * *", zone, "2026-04-04T14:00:00Z", 3),
        [
            "2026-04-04T14:45:00Z",
            "2026-04-04T15:15:00Z",
            "2026-04-04T16:15:00Z"
        ]
    );
}

#[test]
fn matches_checks_wall_clock_fields() {
    let cron = CronExpr::parse("*/15 9-17 * * MON-FRI").expect("valid");
    let at = |s: &str| s.parse::<DateTime>().expect("valid datetime");
    assert!(cron.matches(at("2026-01-16T17:45")));
    assert!(!cron.matches(at("2026-01-16T17:50")));
    assert!(!cron.matches(at("2026-01-17T10:00")));
}

#[test]
fn gives_up_at_the_end_of_the_calendar() {
    let cron = CronExpr::parse("0 0 1 1 *").expect("valid");
    assert_eq!(cron.next_after(Timestamp::MAX, &TimeZone::UTC), None);
    assert_eq!(
        cron.next_after(ts("9999-06-01T00:00:00Z"), &TimeZone::UTC),
        None
    );
    assert!(cron.next_after(Timestamp::MIN, &TimeZone::UTC).is_some());
}
