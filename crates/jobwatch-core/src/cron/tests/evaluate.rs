//! Fire times of ordinary schedules: days of month and week, L, W, #, leap years.

use super::*;

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
