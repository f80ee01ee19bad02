//! Fire times across daylight-saving transitions, and the ends of the calendar.

use super::*;

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
