//! From wall-clock matches to instants in a time zone, with cronie's daylight-saving
//! behaviour: repeated wall times fire once (fixed-time jobs) or twice (wildcard jobs), skipped
//! ones fire right after the gap (fixed-time jobs) or not at all (wildcard jobs).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

use super::evaluate::{Cursor, Schedule};

/// How many years past the starting point `next_after` searches before giving up. The
/// Gregorian calendar repeats every 400 years, so a schedule that fires at all fires within
/// any window of this length (e.g. `0 0 29 2 */7`, Feb 29 on a Sunday, can wait 40 years).
const SEARCH_YEARS: i16 = 401;

/// The first fire instant of `s` strictly after `after`, in time zone `tz`.
pub(super) fn next_fire(s: &Schedule, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let local = tz.to_datetime(after);
    let mut start = local.with().second(0).subsec_nanosecond(0).build().ok()?;
    // Instants grow with wall-clock time except inside a repeated hour: if `after` is in
    // the first pass of a fold, wall times before `local` still have a second occurrence
    // ahead, so start from a wall time at least the fold's length earlier.
    if let AmbiguousOffset::Fold {
        before,
        after: later,
    } = tz.to_ambiguous_timestamp(local).offset()
    {
        start = start
            .checked_sub(before.duration_since(later))
            .unwrap_or(start);
    }
    let limit_year = start.year().saturating_add(SEARCH_YEARS).min(9999);

    let mut cursor = Cursor::at(start);
    // A fold's second occurrence (wildcard jobs only) may beat a later wall time's fire.
    let mut best: Option<Timestamp> = None;
    loop {
        let Some(wall) = s.next_wall_match(cursor, limit_year) else {
            return best;
        };
        // The earliest instant this wall time fires at; it never decreases as the wall
        // time grows, so the first one past `after` ends the search.
        let earliest = match tz.to_ambiguous_timestamp(wall).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(wall).ok(),
            AmbiguousOffset::Fold {
                before,
                after: later,
            } => {
                let second = later.to_timestamp(wall).ok();
                if let Some(second) = second.filter(|&t| s.wildcard_time && t > after) {
                    best = Some(earlier_of(best, second));
                }
                before.to_timestamp(wall).ok()
            }
            AmbiguousOffset::Gap {
                before,
                after: later,
            } => {
                if s.wildcard_time {
                    None
                } else {
                    gap_end(tz, wall, before, later)
                }
            }
        };
        if let Some(first) = earliest.filter(|&t| t > after) {
            return Some(earlier_of(best, first));
        }
        cursor = Cursor::after(wall);
    }
}

fn earlier_of(a: Option<Timestamp>, b: Timestamp) -> Timestamp {
    a.map_or(b, |a| a.min(b))
}

/// The instant clocks jumped forward across `wall`, a wall time inside a gap. The jump came
/// after `wall` read with the later offset and no later than `wall` read with the earlier.
fn gap_end(tz: &TimeZone, wall: DateTime, before: Offset, later: Offset) -> Option<Timestamp> {
    let lower = later.to_timestamp(wall).ok()?;
    let upper = before.to_timestamp(wall).ok()?;
    match tz.following(lower).next() {
        Some(t) if t.timestamp() <= upper => Some(t.timestamp()),
        // Not expected with real data; firing just after the gap is the next best thing.
        _ => Some(upper),
    }
}
