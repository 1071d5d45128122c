//! Inline SVG charts: the TOE radar and the per-store rating bars.
//!
//! Both functions return one standalone `<svg>` element (with its own `xmlns`),
//! usable inline in HTML/XHTML or saved as an `.svg` file. Colours come from the
//! Okabe–Ito palette (distinguishable with common colour-vision deficiencies) and
//! are never the only cue: radar series also differ by line dash and marker
//! shape and are named in a legend; store bars also differ by fill pattern and
//! carry their value as text.
//!
//! Elements that tests (and other tools) may count carry fixed classes:
//! radar series `polygon.series`, radar grid rings `polygon.grid`, rating bars
//! `rect.bar`, missing ratings `g.nodata`.

use std::fmt::Write as _;

use crate::model::{PlatformRow, RegionSummary};
use crate::text::{coord, escape_xml as esc, fixed, score, wrap};

/// Okabe–Ito colours, most distinct first.
const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];
/// Line dash per radar series (after the solid first one).
const DASHES: [&str; 4] = ["", "8 4", "3 3", "10 3 3 3"];
/// Marker shape per radar series.
#[derive(Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
}
const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
];

const FONT: &str = "system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, &quot;Noto Sans&quot;, &quot;Liberation Sans&quot;, Arial, sans-serif";

fn marker(kind: Marker, x: f64, y: f64, colour: &str) -> String {
    let (xs, ys) = (coord(x), coord(y));
    match kind {
        Marker::Circle => {
            format!(
                r##"<circle class="marker" cx="{xs}" cy="{ys}" r="4.5" fill="{colour}" stroke="#ffffff" stroke-width="1.2"/>"##
            )
        }
        Marker::Square => format!(
            r##"<rect class="marker" x="{}" y="{}" width="8.5" height="8.5" fill="{colour}" stroke="#ffffff" stroke-width="1.2"/>"##,
            coord(x - 4.25),
            coord(y - 4.25)
        ),
        Marker::Triangle => format!(
            r##"<path class="marker" d="M{},{} L{},{} L{},{} Z" fill="{colour}" stroke="#ffffff" stroke-width="1.2"/>"##,
            xs,
            coord(y - 5.5),
            coord(x + 5.2),
            coord(y + 4.0),
            coord(x - 5.2),
            coord(y + 4.0)
        ),
        Marker::Diamond => format!(
            r##"<path class="marker" d="M{},{} L{},{} L{},{} L{},{} Z" fill="{colour}" stroke="#ffffff" stroke-width="1.2"/>"##,
            xs,
            coord(y - 5.5),
            coord(x + 5.5),
            ys,
            xs,
            coord(y + 5.5),
            coord(x - 5.5),
            ys
        ),
    }
}

fn dash_attr(i: usize) -> String {
    let d = DASHES[i % DASHES.len()];
    if d.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{d}""#)
    }
}

/// The radar axes: dimension codes in first-seen order across regions, each with
/// the first label seen for it.
fn radar_axes(regions: &[RegionSummary]) -> Vec<(&str, &str)> {
    let mut axes: Vec<(&str, &str)> = Vec::new();
    for r in regions {
        for d in &r.dimensions {
            if !axes.iter().any(|(c, _)| *c == d.code) {
                axes.push((d.code.as_str(), d.label.as_str()));
            }
        }
    }
    axes
}

fn clamp01(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// TOE radar chart: one axis per dimension (matched by code across regions),
/// one closed polygon (`polygon.series`) per region that has at least one
/// dimension score, values clamped to 0..=1; a missing score is drawn at the
/// centre and named in the legend. Grid rings at 0.25, 0.5, 0.75 and 1, axis
/// labels, and a legend with each region's colour, dash, marker and index.
pub fn radar_svg(regions: &[RegionSummary]) -> String {
    let axes = radar_axes(regions);
    let width = 560.0_f64;
    let (cx, cy, radius) = (280.0_f64, 196.0_f64, 150.0_f64);
    let n = axes.len().max(1);
    let angle =
        |i: usize| -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
    let point = |i: usize, v: f64| {
        let a = angle(i);
        (cx + radius * v * a.cos(), cy + radius * v * a.sin())
    };
    // The legend starts below the lowest axis label.
    let lowest = (0..n)
        .map(|i| point(i, 1.0 + 22.0 / radius).1 + 12.0)
        .fold(cy, f64::max);
    let legend_top = lowest + 24.0;
    let row_h = 24.0;
    let height = legend_top + row_h * regions.len().max(1) as f64 + 8.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart radar" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="gl-radar-title gl-radar-desc" font-family="{FONT}" font-size="13">"##,
        w = coord(width),
        h = coord(height),
    );
    s.push_str(
        r#"<title id="gl-radar-title">TOE radar: dimension scores per region (0 to 1)</title>"#,
    );
    let desc: Vec<String> = regions
        .iter()
        .map(|r| {
            let dims: Vec<String> = r
                .dimensions
                .iter()
                .map(|d| format!("{} {}", d.label, score(d.score)))
                .collect();
            format!("{}: {}", r.name, dims.join(", "))
        })
        .collect();
    let _ = write!(
        s,
        r#"<desc id="gl-radar-desc">{}</desc>"#,
        esc(&desc.join("; "))
    );
    s.push_str(r##"<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>"##);

    if axes.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#5b6673">No TOE dimension scores to chart</text></svg>"##,
            coord(cx),
            coord(cy)
        );
        return s;
    }

    // Grid rings; their tick labels are drawn last, over the series.
    let mut ticks = String::from(r#"<g class="ticks">"#);
    s.push_str(r#"<g class="grid-rings">"#);
    for step in [0.25, 0.5, 0.75, 1.0] {
        let pts: Vec<String> = (0..n)
            .map(|i| {
                let (x, y) = point(i, step);
                format!("{},{}", coord(x), coord(y))
            })
            .collect();
        let _ = write!(
            s,
            r##"<polygon class="grid" points="{}" fill="none" stroke="#c9d1db" stroke-width="1"/>"##,
            pts.join(" ")
        );
        let (tx, ty) = point(0, step);
        let _ = write!(
            ticks,
            r##"<text class="tick" x="{}" y="{}" text-anchor="end" font-size="10" fill="#5b6673" stroke="#ffffff" stroke-width="3" paint-order="stroke">{}</text>"##,
            coord(tx - 5.0),
            coord(ty + 4.0),
            fixed(step, 2)
        );
    }
    s.push_str("</g>");

    // Axes and labels.
    s.push_str(r#"<g class="axes">"#);
    for (i, (_, label)) in axes.iter().enumerate() {
        let (x, y) = point(i, 1.0);
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8a96a3" stroke-width="1"/>"##,
            coord(cx),
            coord(cy),
            coord(x),
            coord(y)
        );
        let (lx, ly) = point(i, 1.0 + 22.0 / radius);
        let a = angle(i);
        let anchor = if a.cos() > 0.2 {
            "start"
        } else if a.cos() < -0.2 {
            "end"
        } else {
            "middle"
        };
        let dy = if a.sin() > 0.2 {
            12.0
        } else if a.sin() < -0.2 {
            -2.0
        } else {
            4.0
        };
        let _ = write!(
            s,
            r##"<text class="axis-label" x="{}" y="{}" text-anchor="{anchor}" font-weight="600" fill="#1d2733">{}</text>"##,
            coord(lx),
            coord(ly + dy),
            esc(label)
        );
    }
    s.push_str("</g>");

    // Series.
    for (ri, region) in regions.iter().enumerate() {
        let values: Vec<Option<f64>> = axes
            .iter()
            .map(|(code, _)| {
                region
                    .dimensions
                    .iter()
                    .find(|d| d.code == *code)
                    .and_then(|d| d.score)
                    .filter(|v| v.is_finite())
            })
            .collect();
        if values.iter().all(Option::is_none) {
            continue;
        }
        let colour = PALETTE[ri % PALETTE.len()];
        let pts: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| point(i, clamp01(v.unwrap_or(0.0))))
            .collect();
        let points: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{},{}", coord(*x), coord(*y)))
            .collect();
        let tooltip: Vec<String> = axes
            .iter()
            .zip(&values)
            .map(|((_, label), v)| format!("{label} {}", score(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<g class="region-series"><polygon class="series" points="{}" fill="{colour}" fill-opacity="0.12" stroke="{colour}" stroke-width="2.5" stroke-linejoin="round"{}><title>{}</title></polygon>"#,
            points.join(" "),
            dash_attr(ri),
            esc(&format!("{}: {}", region.name, tooltip.join(", ")))
        );
        for ((x, y), v) in pts.iter().zip(&values) {
            if v.is_some() {
                s.push_str(&marker(MARKERS[ri % MARKERS.len()], *x, *y, colour));
            }
        }
        s.push_str("</g>");
    }

    ticks.push_str("</g>");
    s.push_str(&ticks);

    // Legend.
    s.push_str(r#"<g class="legend">"#);
    for (ri, region) in regions.iter().enumerate() {
        let colour = PALETTE[ri % PALETTE.len()];
        let y = legend_top + row_h * ri as f64 + row_h / 2.0;
        let missing: Vec<&str> = axes
            .iter()
            .filter(|(code, _)| {
                !region
                    .dimensions
                    .iter()
                    .any(|d| d.code == *code && d.score.is_some_and(f64::is_finite))
            })
            .map(|(_, label)| *label)
            .collect();
        let mut text = format!(
            "{} \u{2014} index {}, {}",
            region.name,
            score(region.score),
            crate::text::rank(region.rank)
        );
        if missing.len() == axes.len() {
            text.push_str(" (no TOE data, not drawn)");
        } else if !missing.is_empty() {
            text.push_str(&format!(" (no data: {})", missing.join(", ")));
        }
        let _ = write!(
            s,
            r#"<line x1="40" y1="{y}" x2="86" y2="{y}" stroke="{colour}" stroke-width="2.5"{}/>"#,
            dash_attr(ri),
            y = coord(y)
        );
        s.push_str(&marker(MARKERS[ri % MARKERS.len()], 63.0, y, colour));
        let _ = write!(
            s,
            r##"<text x="96" y="{}" fill="#1d2733">{}</text>"##,
            coord(y + 4.5),
            esc(&text)
        );
    }
    s.push_str("</g></svg>");
    s
}

/// The fill pattern of store `i`: its colour plus a white texture, so that
/// stores differ by more than colour.
fn store_pattern(i: usize) -> String {
    let colour = PALETTE[i % PALETTE.len()];
    let texture = match i % 6 {
        0 => "",
        1 => r##"<path d="M-1,1 L1,-1 M0,6 L6,0 M5,7 L7,5" stroke="#ffffff" stroke-width="1.4"/>"##,
        2 => r##"<circle cx="3" cy="3" r="1.2" fill="#ffffff"/>"##,
        3 => r##"<path d="M0,3 L6,3" stroke="#ffffff" stroke-width="1.4"/>"##,
        4 => r##"<path d="M0,0 L6,6 M6,0 L0,6" stroke="#ffffff" stroke-width="1"/>"##,
        _ => r##"<path d="M3,0 L3,6" stroke="#ffffff" stroke-width="1.4"/>"##,
    };
    format!(
        r#"<pattern id="gl-store-pat-{i}" patternUnits="userSpaceOnUse" width="6" height="6"><rect width="6" height="6" fill="{colour}"/>{texture}</pattern>"#
    )
}

/// Approximate rendered width of `s` at `font_px`, for layout only.
fn text_width(s: &str, font_px: f64) -> f64 {
    s.chars().count() as f64 * font_px * 0.58
}

/// Grouped bar chart of ratings: one group per platform (in the given order),
/// one bar (`rect.bar`) per store with a rating, the y axis fixed at 0..=5.
/// A missing rating ("/" in the source) is drawn as a dashed "no data" box
/// (`g.nodata`) topped by "/", never as a zero-height bar. Bars carry their value
/// as text and differ by pattern as well as colour; a legend names the stores.
pub fn store_chart_svg(stores: &[String], platforms: &[PlatformRow]) -> String {
    let n_stores = stores.len().max(1);
    let left = 64.0_f64;
    let right = 24.0_f64;
    let group_w = (n_stores as f64 * 28.0 + 36.0).max(132.0);
    let bar_w = ((group_w - 32.0) / n_stores as f64).min(30.0);
    let plot_w = group_w * platforms.len().max(1) as f64;
    let width = (left + plot_w + right).max(480.0);

    // Legend layout (wrapping rows across the top).
    let mut legend: Vec<(f64, f64, usize)> = Vec::new();
    let (mut lx, mut ly) = (left, 14.0_f64);
    // Store entries, then the "no data" entry (index `stores.len()`).
    let no_data_label = "/ = no data";
    for i in 0..=stores.len() {
        let label = stores.get(i).map_or(no_data_label, String::as_str);
        let w = 18.0 + 6.0 + text_width(label, 13.0) + 22.0;
        if lx + w > width - right && lx > left {
            lx = left;
            ly += 22.0;
        }
        legend.push((lx, ly, i));
        lx += w;
    }
    let plot_top = ly + 44.0;
    let plot_h = 260.0;
    let base = plot_top + plot_h;
    let y_of = |v: f64| base - plot_h * (v.clamp(0.0, 5.0) / 5.0);

    let label_chars = ((group_w - 10.0) / (11.0 * 0.58)).floor().max(6.0) as usize;
    let labels: Vec<Vec<String>> = platforms
        .iter()
        .map(|p| wrap(&p.name, label_chars, 3))
        .collect();
    let max_lines = labels.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let height = base + 18.0 + 14.0 * max_lines as f64 + 16.0 + 12.0;

    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart store-ratings" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-labelledby="gl-store-title" font-family="{FONT}" font-size="13">"##,
        w = coord(width),
        h = coord(height),
    );
    s.push_str(r#"<title id="gl-store-title">App ratings per store (0 to 5); a dashed box marked "no data" means the store showed no rating</title>"#);
    s.push_str("<defs>");
    for i in 0..stores.len() {
        s.push_str(&store_pattern(i));
    }
    s.push_str("</defs>");
    s.push_str(r##"<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>"##);

    // Legend.
    s.push_str(r#"<g class="legend">"#);
    for &(x, y, i) in &legend {
        if i == stores.len() {
            let _ = write!(
                s,
                r##"<g class="legend-nodata"><rect x="{}" y="{}" width="18" height="14" fill="#ffffff" stroke="#5b6673" stroke-dasharray="3 2"/><text x="{}" y="{}" fill="#1d2733">{no_data_label}</text></g>"##,
                coord(x),
                coord(y),
                coord(x + 24.0),
                coord(y + 12.0)
            );
            continue;
        }
        let _ = write!(
            s,
            r##"<rect x="{}" y="{}" width="18" height="14" fill="url(#gl-store-pat-{i})" stroke="{}" stroke-width="1"/><text x="{}" y="{}" fill="#1d2733">{}</text>"##,
            coord(x),
            coord(y),
            PALETTE[i % PALETTE.len()],
            coord(x + 24.0),
            coord(y + 12.0),
            esc(&stores[i])
        );
    }
    s.push_str("</g>");

    // Y axis: grid lines at every whole rating.
    s.push_str(r#"<g class="y-axis">"#);
    for v in 0..=5 {
        let y = y_of(v as f64);
        let stroke = if v == 0 { "#5b6673" } else { "#e1e6ec" };
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{stroke}" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" font-size="11" fill="#5b6673">{v}</text>"##,
            coord(left),
            coord(left + plot_w),
            coord(left - 8.0),
            coord(y + 4.0),
            y = coord(y),
        );
    }
    let mid = plot_top + plot_h / 2.0;
    let _ = write!(
        s,
        r##"<text x="18" y="{m}" transform="rotate(-90 18 {m})" text-anchor="middle" font-size="12" fill="#5b6673">Rating (0–5)</text>"##,
        m = coord(mid)
    );
    s.push_str("</g>");

    if platforms.is_empty() {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#5b6673">No platform ratings</text>"##,
            coord(left + plot_w / 2.0),
            coord(mid)
        );
    }

    // Groups.
    for (pi, p) in platforms.iter().enumerate() {
        let gx = left + group_w * pi as f64;
        let inner = bar_w * stores.len() as f64;
        let x0 = gx + (group_w - inner) / 2.0;
        let _ = write!(s, r#"<g class="platform-group">"#);
        if pi > 0 {
            let _ = write!(
                s,
                r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#eef1f5" stroke-width="1"/>"##,
                coord(plot_top),
                coord(base),
                x = coord(gx)
            );
        }
        for (si, store) in stores.iter().enumerate() {
            let x = x0 + bar_w * si as f64 + 1.0;
            let w = bar_w - 2.0;
            let cx = x + w / 2.0;
            let cell = p
                .ratings
                .get(si)
                .and_then(Option::as_ref)
                .filter(|c| c.value.is_finite());
            match cell {
                Some(c) => {
                    let y = y_of(c.value);
                    let _ = write!(
                        s,
                        r#"<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="url(#gl-store-pat-{si})" stroke="{}" stroke-width="1"><title>{}</title></rect>"#,
                        coord(x),
                        coord(y),
                        coord(w),
                        coord(base - y),
                        PALETTE[si % PALETTE.len()],
                        esc(&format!("{} \u{2014} {}: {}", p.name, store, c.printed))
                    );
                    let _ = write!(
                        s,
                        r##"<text class="val" x="{}" y="{}" text-anchor="middle" font-size="10" fill="#1d2733">{}</text>"##,
                        coord(cx),
                        coord(y - 4.0),
                        fixed(c.value, 1)
                    );
                }
                None => {
                    let h = 52.0;
                    let _ = write!(
                        s,
                        r##"<g class="nodata"><title>{}</title><rect x="{}" y="{}" width="{}" height="{h}" fill="#ffffff" stroke="#5b6673" stroke-width="1" stroke-dasharray="3 2"/><text x="{cx}" y="{ty}" transform="rotate(-90 {cx} {ty})" text-anchor="middle" font-size="9" fill="#5b6673">no data</text><text x="{cx}" y="{}" text-anchor="middle" font-size="11" font-weight="700" fill="#5b6673">/</text></g>"##,
                        esc(&format!("{} \u{2014} {}: no data (/)", p.name, store)),
                        coord(x),
                        coord(base - h),
                        coord(w),
                        coord(base - h - 4.0),
                        cx = coord(cx),
                        ty = coord(base - h / 2.0 + 3.0),
                    );
                }
            }
        }
        // Platform name (wrapped) and region under the group.
        let lx = gx + group_w / 2.0;
        let _ = write!(
            s,
            r##"<text class="group-label" x="{}" y="{}" text-anchor="middle" font-size="11" fill="#1d2733">"##,
            coord(lx),
            coord(base + 16.0)
        );
        for (li, line) in labels[pi].iter().enumerate() {
            let _ = write!(
                s,
                r#"<tspan x="{}" dy="{}">{}</tspan>"#,
                coord(lx),
                if li == 0 { "0" } else { "14" },
                esc(line)
            );
        }
        s.push_str("</text>");
        let _ = write!(
            s,
            r##"<text class="group-region" x="{}" y="{}" text-anchor="middle" font-size="10" font-style="italic" fill="#5b6673">{}</text>"##,
            coord(lx),
            coord(base + 16.0 + 14.0 * max_lines as f64 + 2.0),
            esc(&p.region)
        );
        s.push_str("</g>");
    }
    s.push_str("</svg>");
    s
}
