//! Inline SVG charts: a sparkline of recent durations (overview) and a duration chart of a
//! job's runs with its `max_runtime` and `min_runtime` lines (job page). Numbers only go in,
//! so nothing here needs escaping beyond what the template engine does anyway.

use maud::{Markup, html};

/// A polyline of `durations_ms` (oldest first) scaled to a 90×22 box; nothing for fewer
/// than two points.
pub fn sparkline(durations_ms: &[u64]) -> Markup {
    if durations_ms.len() < 2 {
        return html! {};
    }
    let max = durations_ms.iter().copied().max().unwrap_or(1).max(1) as f64;
    let step = 88.0 / (durations_ms.len() - 1) as f64;
    let mut points = String::with_capacity(durations_ms.len() * 9);
    for (i, d) in durations_ms.iter().enumerate() {
        let x = 1.0 + step * i as f64;
        let y = 21.0 - (*d as f64 / max) * 20.0;
        if !points.is_empty() {
            points.push(' ');
        }
        points.push_str(&format!("{x:.0},{y:.0}"));
    }
    let label = format!(
        "durations of the last {} successful runs, longest {}",
        durations_ms.len(),
        jobwatch_core::timefmt::duration(max as u64)
    );
    html! {
        svg.spark viewBox="0 0 90 22" role="img" aria-label=(label) {
            polyline points=(points);
        }
    }
}

/// One bar of the duration chart.
pub struct Bar {
    pub duration_ms: u64,
    pub bad: bool,
    pub label: String,
}

/// Bars of run durations (oldest on the left) with dashed lines at the limits.
pub fn durations(bars: &[Bar], max_runtime_ms: u64, min_runtime_ms: Option<u64>) -> Markup {
    const W: f64 = 600.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 48.0;
    if bars.is_empty() {
        return html! { p.muted { "No finished runs yet." } };
    }
    let longest = bars.iter().map(|b| b.duration_ms).max().unwrap_or(1).max(1);
    // The limit is drawn when it is within reach of the runs, else the chart would be flat.
    let show_limit = max_runtime_ms <= longest.saturating_mul(3);
    let top = if show_limit {
        longest.max(max_runtime_ms)
    } else {
        longest
    } as f64
        * 1.1;
    let y = |ms: u64| H - 14.0 - (ms as f64 / top) * (H - 24.0);
    let slot = (W - LEFT - 4.0) / bars.len() as f64;
    let width = (slot * 0.8).max(1.0);
    html! {
        svg.chart viewBox={"0 0 " (W) " " (H)} role="img" aria-label="durations of the latest runs" {
            text.axis x="2" y=(y(top as u64 * 10 / 11) + 4.0) { (jobwatch_core::timefmt::duration(top as u64 * 10 / 11)) }
            text.axis x="2" y=(H - 10.0) { "0" }
            @for (i, bar) in bars.iter().enumerate() {
                @let x = LEFT + slot * i as f64;
                @let h = (H - 14.0 - y(bar.duration_ms)).max(1.0);
                rect class=(if bar.bad { "bad" } else { "bar" }) x=(format!("{x:.1}")) y=(format!("{:.1}", H - 14.0 - h)) width=(format!("{width:.1}")) height=(format!("{h:.1}")) {
                    title { (bar.label) }
                }
            }
            @if show_limit {
                line.limit x1=(LEFT) x2=(W) y1=(format!("{:.1}", y(max_runtime_ms))) y2=(format!("{:.1}", y(max_runtime_ms))) {}
                text.axis x=(W - 110.0) y=(y(max_runtime_ms) - 3.0) { "max_runtime " (jobwatch_core::timefmt::duration(max_runtime_ms)) }
            }
            @if let Some(min) = min_runtime_ms {
                line.min x1=(LEFT) x2=(W) y1=(format!("{:.1}", y(min))) y2=(format!("{:.1}", y(min))) {}
                text.axis x=(W - 110.0) y=(y(min) - 3.0) { "min_runtime " (jobwatch_core::timefmt::duration(min)) }
            }
        }
        @if !show_limit {
            p.muted { "max_runtime (" (jobwatch_core::timefmt::duration(max_runtime_ms)) ") is far above every run shown, so it is not drawn." }
        }
    }
}
