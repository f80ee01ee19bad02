//! Property tests for `jobwatch_core::cron`.
//!
//! Random expressions are built from field pieces together with a plain model of what they
//! mean (the values each field allows, the day-field extensions spelled out with jiff's
//! calendar functions). `next_after` is checked against that model and against a brute-force
//! reference that walks every real minute and applies the DST rules literally.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use jobwatch_core::cron::{CronError, CronExpr};
use proptest::prelude::*;
use proptest::sample::select;

const ZONES: [&str; 7] = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Seoul",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Chatham",
];

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const MINUTE: SignedDuration = SignedDuration::from_secs(60);

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("zone in the bundled database")
}

#[derive(Debug, Clone)]
enum DomItem {
    Days(Vec<i8>),
    Last,
    LastMinus(i8),
    NearestWeekday(i8),
    LastWeekday,
}

#[derive(Debug, Clone)]
enum DowItem {
    /// 0-7, where 0 and 7 are Sunday.
    Days(Vec<i8>),
    Last(i8),
    Nth(i8, i8),
}

/// A generated expression and what it means.
#[derive(Debug, Clone)]
struct Model {
    text: String,
    minutes: Vec<i8>,
    hours: Vec<i8>,
    months: Vec<i8>,
    dom: Vec<DomItem>,
    dow: Vec<DowItem>,
    dom_star: bool,
    dow_star: bool,
    /// Minute or hour field begins with `*`.
    wildcard: bool,
}

fn is_weekday(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn day(date: Date, d: i8) -> Date {
    date.with().day(d).build().expect("day within the month")
}

/// The Monday-Friday day of `date`'s month closest to day `n`.
fn nearest_weekday(date: Date, n: i8) -> i8 {
    (1..=date.days_in_month())
        .filter(|&d| is_weekday(day(date, d)))
        .min_by_key(|&d| (d - n).abs())
        .expect("every month has weekdays")
}

impl Model {
    fn day_of_month_matches(&self, date: Date) -> bool {
        let last = date.days_in_month();
        self.dom.iter().any(|item| match item {
            DomItem::Days(days) => days.contains(&date.day()),
            DomItem::Last => date.day() == last,
            DomItem::LastMinus(n) => date.day() == last - n,
            // Like a plain day, nW does not fire in a month without day n.
            DomItem::NearestWeekday(n) => *n <= last && nearest_weekday(date, *n) == date.day(),
            DomItem::LastWeekday => {
                let last_weekday = (1..=last).rev().find(|&d| is_weekday(day(date, d)));
                Some(date.day()) == last_weekday
            }
        })
    }

    fn day_of_week_matches(&self, date: Date) -> bool {
        let weekday = date.weekday().to_sunday_zero_offset();
        let next_week = date.checked_add(7.days()).expect("date in range");
        self.dow.iter().any(|item| match item {
            DowItem::Days(days) => days.iter().any(|d| d % 7 == weekday),
            DowItem::Last(n) => n % 7 == weekday && next_week.month() != date.month(),
            DowItem::Nth(n, k) => n % 7 == weekday && (date.day() - 1) / 7 + 1 == *k,
        })
    }

    fn date_matches(&self, date: Date) -> bool {
        let (dom, dow) = (
            self.day_of_month_matches(date),
            self.day_of_week_matches(date),
        );
        // Vixie: a star-led day field means both must match, otherwise either may.
        let day = if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        };
        day && self.months.contains(&date.month())
    }

    fn matches(&self, wall: DateTime) -> bool {
        self.date_matches(wall.date())
            && self.hours.contains(&wall.hour())
            && self.minutes.contains(&wall.minute())
    }
}

/// Text, values, and whether the text begins with `*`.
type Field = (String, Vec<i8>, bool);

fn stepped(low: i8, high: i8, step: i8) -> Vec<i8> {
    (low..=high).step_by(step as usize).collect()
}

/// One list item of a numeric field whose values end at `max`: `n`, `a-b`, `a-b/s` or `a/s`
/// with `lo <= a, b <= hi` (`a/s` runs to `max`).
fn number_piece(lo: i8, hi: i8, max: i8) -> impl Strategy<Value = (String, Vec<i8>)> {
    prop_oneof![
        (lo..=hi).prop_map(|n| (n.to_string(), vec![n])),
        (lo..=hi, lo..=hi).prop_map(|(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            (format!("{a}-{b}"), stepped(a, b, 1))
        }),
        (lo..=hi, lo..=hi, 1..=max).prop_map(|(a, b, s)| {
            let (a, b) = (a.min(b), a.max(b));
            (format!("{a}-{b}/{s}"), stepped(a, b, s))
        }),
        (lo..=hi, 1..=max).prop_map(move |(a, s)| (format!("{a}/{s}"), stepped(a, max, s))),
    ]
}

/// A single name or a range of names, in random case.
fn name_piece(
    names: &'static [&'static str],
    first: i8,
) -> impl Strategy<Value = (String, Vec<i8>)> {
    let last = first + names.len() as i8 - 1;
    (first..=last, first..=last, any::<bool>(), any::<bool>()).prop_map(
        move |(a, b, range, lower)| {
            let (a, b) = (a.min(b), a.max(b));
            let name = |v: i8| {
                let n = names[(v - first) as usize];
                if lower {
                    n.to_ascii_lowercase()
                } else {
                    n.to_string()
                }
            };
            if range {
                (format!("{}-{}", name(a), name(b)), stepped(a, b, 1))
            } else {
                (name(a), vec![a])
            }
        },
    )
}

fn star_field(lo: i8, hi: i8) -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(("*".to_string(), stepped(lo, hi, 1), true)),
        (1..=hi).prop_map(move |s| (format!("*/{s}"), stepped(lo, hi, s), true)),
    ]
}

fn list<T: std::fmt::Debug + Clone>(
    item: impl Strategy<Value = (String, T)>,
) -> impl Strategy<Value = (String, Vec<T>)> {
    prop::collection::vec(item, 1..=3).prop_map(|items| {
        let text = items
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(",");
        (text, items.into_iter().map(|(_, v)| v).collect())
    })
}

fn numeric_field(lo: i8, hi: i8) -> impl Strategy<Value = Field> {
    prop_oneof![
        star_field(lo, hi),
        list(number_piece(lo, hi, hi)).prop_map(|(t, v)| (t, v.concat(), false)),
    ]
}

fn month_field() -> impl Strategy<Value = Field> {
    let piece = prop_oneof![number_piece(1, 12, 12), name_piece(&MONTHS, 1)];
    prop_oneof![
        star_field(1, 12),
        list(piece).prop_map(|(t, v)| (t, v.concat(), false)),
    ]
}

fn dom_item() -> impl Strategy<Value = (String, DomItem)> {
    prop_oneof![
        3 => number_piece(1, 31, 31).prop_map(|(t, v)| (t, DomItem::Days(v))),
        1 => Just(("L".to_string(), DomItem::Last)),
        1 => (1i8..=30).prop_map(|n| (format!("L-{n}"), DomItem::LastMinus(n))),
        1 => (1i8..=31).prop_map(|n| (format!("{n}W"), DomItem::NearestWeekday(n))),
        1 => Just(("LW".to_string(), DomItem::LastWeekday)),
    ]
}

fn dom_field() -> impl Strategy<Value = (String, Vec<DomItem>, bool)> {
    prop_oneof![
        star_field(1, 31).prop_map(|(t, v, s)| (t, vec![DomItem::Days(v)], s)),
        list(dom_item()).prop_map(|(t, items)| (t, items, false)),
    ]
}

fn dow_item() -> impl Strategy<Value = (String, DowItem)> {
    prop_oneof![
        3 => number_piece(0, 7, 7).prop_map(|(t, v)| (t, DowItem::Days(v))),
        2 => name_piece(&DAYS, 0).prop_map(|(t, v)| (t, DowItem::Days(v))),
        1 => (0i8..=7).prop_map(|n| (format!("{n}L"), DowItem::Last(n))),
        1 => (0i8..=7, 1i8..=5).prop_map(|(n, k)| (format!("{n}#{k}"), DowItem::Nth(n, k))),
    ]
}

fn dow_field() -> impl Strategy<Value = (String, Vec<DowItem>, bool)> {
    prop_oneof![
        star_field(0, 7).prop_map(|(t, v, s)| (t, vec![DowItem::Days(v)], s)),
        list(dow_item()).prop_map(|(t, items)| (t, items, false)),
    ]
}

fn model(
    minute: impl Strategy<Value = Field>,
    hour: impl Strategy<Value = Field>,
    dom: impl Strategy<Value = (String, Vec<DomItem>, bool)>,
    month: impl Strategy<Value = Field>,
    dow: impl Strategy<Value = (String, Vec<DowItem>, bool)>,
) -> impl Strategy<Value = Model> {
    (minute, hour, dom, month, dow).prop_map(|(mi, h, d, mo, w)| Model {
        text: format!("{} {} {} {} {}", mi.0, h.0, d.0, mo.0, w.0),
        wildcard: mi.2 || h.2,
        minutes: mi.1,
        hours: h.1,
        months: mo.1,
        dom: d.1,
        dom_star: d.2,
        dow: w.1,
        dow_star: w.2,
    })
}

/// Any expression the generators can build, including sparse ones.
fn any_model() -> impl Strategy<Value = Model> {
    model(
        numeric_field(0, 59),
        numeric_field(0, 23),
        dom_field(),
        month_field(),
        dow_field(),
    )
}

/// Expressions that usually fire within a few days, for the brute-force comparison. Hours
/// 0-4 are favoured because that is where DST transitions happen.
fn dense_model() -> impl Strategy<Value = Model> {
    let star = |lo, hi| Just(("*".to_string(), stepped(lo, hi, 1), true));
    let fixed =
        |lo, hi, max| list(number_piece(lo, hi, max)).prop_map(|(t, v)| (t, v.concat(), false));
    model(
        prop_oneof![numeric_field(0, 59), fixed(0, 59, 59)],
        prop_oneof![star(0, 23), numeric_field(0, 23), fixed(0, 4, 23)],
        prop_oneof![
            2 => Just(("*".to_string(), vec![DomItem::Days(stepped(1, 31, 1))], true)),
            1 => dom_field(),
        ],
        prop_oneof![3 => star(1, 12), 1 => month_field()],
        prop_oneof![
            2 => Just(("*".to_string(), vec![DowItem::Days(stepped(0, 7, 1))], true)),
            1 => dow_field(),
        ],
    )
}

/// A zone and a start instant in 2020-2035, usually less than 3 days before a DST transition.
fn zone_and_start() -> impl Strategy<Value = (&'static str, Timestamp)> {
    (
        select(&ZONES[..]),
        2020i16..=2035,
        0i64..366 * 86_400,
        prop::bool::weighted(0.75),
        0usize..2,
        0i64..3 * 86_400,
    )
        .prop_map(|(name, year, offset, near_dst, nth, before)| {
            let year_start = Date::new(year, 1, 1)
                .expect("valid year")
                .to_zoned(TimeZone::UTC)
                .expect("in range")
                .timestamp();
            let tz = zone(name);
            let transition = tz.following(year_start).nth(nth).map(|t| t.timestamp());
            let start = match transition {
                Some(t) if near_dst => t - SignedDuration::from_secs(before),
                _ => year_start + SignedDuration::from_secs(offset),
            };
            (name, start)
        })
}

fn parse(m: &Model) -> Option<CronExpr> {
    match CronExpr::parse(&m.text) {
        Ok(cron) => Some(cron),
        Err(CronError::NeverFires(_)) => None,
        Err(e) => panic!("generated expression {:?} rejected: {e}", m.text),
    }
}

/// Fires in (from, until], by walking every real minute. Offsets in the test zones are
/// whole minutes, so every fire is on a UTC minute boundary.
fn brute_force(m: &Model, tz: &TimeZone, from: Timestamp, until: Timestamp) -> Vec<Timestamp> {
    let first = from.as_second().div_euclid(60) * 60 + 60;
    let mut t = Timestamp::from_second(first).expect("in range");
    let mut out = Vec::new();
    while t <= until {
        let wall = tz.to_datetime(t);
        let fires = if m.wildcard {
            // Wildcard jobs run whenever the clock shows a matching minute.
            m.matches(wall)
        } else {
            // Fixed-time jobs run the first time the clock shows a matching minute...
            let first_time = tz.to_ambiguous_timestamp(wall).earlier().ok() == Some(t);
            // ...and, right after clocks jump forward, for any matching minute skipped.
            let previous = tz.to_datetime(t - MINUTE);
            let mut skipped = previous + MINUTE;
            let mut skipped_match = false;
            while skipped < wall {
                skipped_match |= m.matches(skipped);
                skipped += MINUTE;
            }
            (first_time && m.matches(wall)) || skipped_match
        };
        if fires {
            out.push(t);
        }
        t += MINUTE;
    }
    out
}

fn fires_until(
    cron: &CronExpr,
    tz: &TimeZone,
    from: Timestamp,
    until: Timestamp,
) -> Vec<Timestamp> {
    let mut out = Vec::new();
    let mut t = from;
    while let Some(next) = cron.next_after(t, tz) {
        if next > until {
            break;
        }
        out.push(next);
        t = next;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,40}") {
        let _ = CronExpr::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_cron_like_text(text in "[0-9A-Za-z*/,#@ \t-]{0,30}") {
        if let Ok(cron) = CronExpr::parse(&text) {
            prop_assert_eq!(cron.as_str(), text.trim());
        }
    }

    #[test]
    fn generated_expressions_parse_and_round_trip(m in any_model()) {
        if let Some(cron) = parse(&m) {
            prop_assert_eq!(cron.to_string(), m.text.clone());
            prop_assert_eq!(cron.to_string().parse::<CronExpr>(), Ok(cron.clone()));
            prop_assert_eq!(cron.is_wildcard_time(), m.wildcard);
        }
    }

    #[test]
    fn only_schedules_that_match_no_day_are_rejected_as_never_firing(m in any_model()) {
        if parse(&m).is_none() {
            // 2001-2028 holds every combination of month length and first weekday.
            let first = Date::new(2001, 1, 1).expect("valid date");
            let days = first.series(1.day()).take_while(|d| d.year() <= 2028);
            let matching = days.filter(|&d| m.date_matches(d)).collect::<Vec<_>>();
            prop_assert!(matching.is_empty(), "{} rejected but matches {:?}", m.text, matching);
        }
    }

    #[test]
    fn fires_are_strictly_later_and_increasing(m in any_model(), (name, start) in zone_and_start()) {
        let Some(cron) = parse(&m) else { return Ok(()) };
        let tz = zone(name);
        let mut t = start;
        for _ in 0..50 {
            let next = cron.next_after(t, &tz);
            prop_assert!(next.is_some(), "{} stopped firing after {}", m.text, t);
            let next = next.unwrap_or(t);
            prop_assert!(next > t, "{} in {}: {} is not after {}", m.text, name, next, t);
            t = next;
        }
    }

    #[test]
    fn utc_fires_match_every_field(m in any_model(), (_, start) in zone_and_start()) {
        let Some(cron) = parse(&m) else { return Ok(()) };
        let mut t = start;
        for _ in 0..50 {
            let Some(next) = cron.next_after(t, &TimeZone::UTC) else { break };
            let wall = TimeZone::UTC.to_datetime(next);
            prop_assert_eq!(wall.second(), 0);
            prop_assert_eq!(wall.subsec_nanosecond(), 0);
            prop_assert!(m.matches(wall), "{} fired at {}", m.text, wall);
            prop_assert!(cron.matches(wall));
            t = next;
        }
    }
}

proptest! {
    // Each case walks 4,320 minutes, so fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn agrees_with_minute_by_minute_brute_force(
        m in dense_model(),
        (name, start) in zone_and_start(),
    ) {
        let Some(cron) = parse(&m) else { return Ok(()) };
        let tz = zone(name);
        let until = start + SignedDuration::from_hours(72);
        let expected = brute_force(&m, &tz, start, until);
        let actual = fires_until(&cron, &tz, start, until);
        prop_assert_eq!(actual, expected, "{} in {} from {}", m.text, name, start);
    }
}
