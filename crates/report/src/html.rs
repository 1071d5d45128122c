//! The self-contained HTML page.

use std::fmt::Write as _;

use crate::model::{
    DilemmaRow, EvidenceRow, RecommendationRow, RegionDiagnosis, RegionRecommendations,
    RegionSummary, ReportInput, WhatIf,
};
use crate::svg::{radar_svg, store_chart_svg};
use crate::text::{delta, escape_xml as esc, fixed, rank, score};

const CSS: &str = r#"
:root { --ink: #1d2733; --muted: #5b6673; --line: #d5dbe3; --head: #eef2f7; --accent: #0b5394; }
* { box-sizing: border-box; }
html { background: #f2f4f7; }
body { margin: 0; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", Arial, sans-serif; }
.page { max-width: 1200px; margin: 0 auto; padding: 28px 36px 40px; background: #ffffff; }
header.report-header { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 14px; }
h1 { font-size: 28px; line-height: 1.2; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 20px 0 8px; }
h4 { font-size: 15px; margin: 14px 0 6px; }
p { margin: 6px 0; }
.subtitle { color: var(--muted); font-size: 16px; margin: 0 0 12px; }
dl.meta { display: flex; flex-wrap: wrap; gap: 6px 34px; margin: 0; }
dl.meta div { min-width: 120px; }
dl.meta dt { color: var(--muted); font-size: 11px; font-weight: 700; letter-spacing: .05em; text-transform: uppercase; }
dl.meta dd { margin: 0; font-size: 14px; }
nav.toc ol { display: flex; flex-wrap: wrap; gap: 4px 18px; list-style: none; margin: 0; padding: 0; font-size: 14px; }
nav.toc a { color: var(--accent); text-decoration: none; }
.cards { display: flex; flex-wrap: wrap; gap: 16px; }
.region-card { flex: 1 1 300px; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.region-card h3 { margin: 0 0 2px; }
.region-card .code { color: var(--muted); font-size: 13px; }
.headline { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin: 8px 0; }
.big { font-size: 32px; font-weight: 700; font-variant-numeric: tabular-nums; }
.dim { display: grid; grid-template-columns: 120px 1fr 52px; align-items: center; gap: 8px; font-size: 13px; margin: 3px 0; }
.meter { height: 10px; background: #e9edf2; border-radius: 5px; overflow: hidden; }
.meter span { display: block; height: 100%; background: var(--accent); }
.dim .v { text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 14px; }
caption { caption-side: top; text-align: left; color: var(--muted); font-size: 13px; padding-bottom: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--head); font-weight: 600; border-bottom: 2px solid #b9c3cf; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.na { color: var(--muted); font-style: italic; }
figure { margin: 10px 0 18px; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.radar-wrap { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.radar-wrap figure { flex: 0 1 560px; }
.radar-wrap table { flex: 1 1 300px; width: auto; }
.badge { display: inline-block; padding: 0 8px; border: 1px solid; border-radius: 10px; font-size: 12px; font-weight: 700; white-space: nowrap; }
.status-present { background: #fde9e5; color: #8a1c10; border-color: #d98b7a; }
.status-absent { background: #e5f3e9; color: #17552b; border-color: #86b995; }
.status-insufficient { background: #f1f2f4; color: #3f4955; border-color: #8a96a3; border-style: dashed; }
.sev-high { background: #fde9e5; color: #8a1c10; border-color: #d98b7a; }
.sev-medium { background: #fff3d6; color: #6b4a00; border-color: #d9b45c; }
.sev-low { background: #e8f1fb; color: #0b3d73; border-color: #8db2db; }
.sev-other { background: #f1f2f4; color: #3f4955; border-color: #8a96a3; }
ul.evidence { margin: 0; padding-left: 18px; font-size: 13px; }
ul.evidence li { margin: 2px 0; }
.src { color: var(--muted); }
article.region-block { margin-bottom: 18px; }
ol.recs { list-style: none; margin: 0; padding: 0; }
li.rec { border: 1px solid var(--line); border-left: 5px solid var(--accent); border-radius: 6px; padding: 12px 14px; margin: 0 0 14px; }
.rec-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.rank-badge { display: inline-block; min-width: 30px; padding: 1px 6px; border-radius: 6px; background: var(--accent); color: #ffffff; font-weight: 700; text-align: center; }
.rec-title { font-size: 16px; font-weight: 700; }
.muted { color: var(--muted); font-size: 13px; }
dl.metrics { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 6px 0; font-size: 13px; }
dl.metrics dt { display: inline; color: var(--muted); }
dl.metrics dd { display: inline; margin: 0 0 0 4px; font-weight: 600; font-variant-numeric: tabular-nums; }
.rec-cols { display: flex; flex-wrap: wrap; gap: 6px 28px; }
.rec-cols > div { flex: 1 1 260px; }
.rec-cols ul { margin: 2px 0; padding-left: 18px; }
.whatif { background: #f6f8fb; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin-top: 8px; }
.whatif table { margin: 4px 0 0; font-size: 13px; width: auto; min-width: 320px; }
.whatif th, .whatif td { padding: 3px 10px; }
footer { margin-top: 30px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 14mm; }
@media print {
  html { background: #ffffff; }
  .page { max-width: none; padding: 0; }
  nav.toc { display: none; }
  a { color: inherit; text-decoration: none; }
  figure, tr, li.rec, .region-card { break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; }
}
"#;

/// Class for a free-text severity label; fixed strings only, never input text.
fn sev_class(sev: &str) -> &'static str {
    match sev.trim().to_ascii_lowercase().as_str() {
        "error" | "critical" | "high" | "severe" => "sev-high",
        "warning" | "warn" | "medium" | "moderate" => "sev-medium",
        "info" | "low" | "minor" | "notice" => "sev-low",
        _ => "sev-other",
    }
}

fn sev_badge(sev: &str) -> String {
    if sev.trim().is_empty() {
        return r#"<span class="na">none</span>"#.to_string();
    }
    format!(
        r#"<span class="badge {}">{}</span>"#,
        sev_class(sev),
        esc(sev)
    )
}

fn opt_text(v: Option<&str>) -> String {
    match v {
        Some(t) if !t.trim().is_empty() => esc(t),
        _ => r#"<span class="na">n/a</span>"#.to_string(),
    }
}

fn score_cell(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(v) => format!(r#"<td class="num">{}</td>"#, fixed(v, 3)),
        None => r#"<td class="num"><span class="na">n/a</span></td>"#.to_string(),
    }
}

/// Renders the whole report as one self-contained HTML5 page: inline CSS and
/// SVG, no scripts, no external resources; XHTML-compatible (well-formed XML).
pub fn render_html(input: &ReportInput) -> String {
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("<!DOCTYPE html>\n");
    s.push_str(r#"<html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">"#);
    s.push_str("\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<meta name=\"generator\" content=\"GovLens report\"/>\n");
    let _ = writeln!(s, "<title>{}</title>", esc(&input.title));
    let _ = writeln!(s, "<style>{CSS}</style>\n</head>");
    s.push_str("<body>\n<div class=\"page\">\n");
    header(&mut s, input);
    s.push_str("<main>\n");
    summary(&mut s, &input.regions);
    radar(&mut s, &input.regions);
    store_chart(&mut s, input);
    platforms(&mut s, input);
    quality(&mut s, input);
    diagnosis(&mut s, &input.diagnoses);
    recommendations(&mut s, &input.recommendations);
    s.push_str("</main>\n");
    let _ = writeln!(
        s,
        "<footer>Generated by GovLens at {} from data revision {}, model {}, rulebook {}. Scores are on a 0–1 scale; store ratings on a 0–5 scale; “/” and “n/a” mean no data.</footer>",
        esc(&input.generated_at),
        input.data_revision,
        esc(&input.model),
        esc(&input.rulebook)
    );
    s.push_str("</div>\n</body>\n</html>\n");
    s
}

fn header(s: &mut String, input: &ReportInput) {
    s.push_str("<header class=\"report-header\">\n");
    let _ = writeln!(s, "<h1>{}</h1>", esc(&input.title));
    if !input.subtitle.trim().is_empty() {
        let _ = writeln!(s, "<p class=\"subtitle\">{}</p>", esc(&input.subtitle));
    }
    s.push_str("<dl class=\"meta\">");
    for (k, v) in [
        ("Generated at", esc(&input.generated_at)),
        ("Data revision", input.data_revision.to_string()),
        ("Model", esc(&input.model)),
        ("Rulebook", esc(&input.rulebook)),
        ("Regions", input.regions.len().to_string()),
        ("Platforms", input.platforms.len().to_string()),
    ] {
        let _ = write!(s, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    }
    s.push_str("</dl>\n</header>\n");
    s.push_str("<nav class=\"toc\" aria-label=\"Contents\"><ol>");
    for (id, label) in SECTIONS {
        let _ = write!(s, "<li><a href=\"#{id}\">{label}</a></li>");
    }
    s.push_str("</ol></nav>\n");
}

const SECTIONS: [(&str, &str); 7] = [
    ("summary", "1. Regional summary"),
    ("toe-profile", "2. TOE profile"),
    ("store-ratings", "3. Ratings per store"),
    ("platforms", "4. Platforms"),
    ("data-quality", "5. Data quality"),
    ("diagnosis", "6. Diagnosis"),
    ("recommendations", "7. Recommendations"),
];

fn section_open(s: &mut String, index: usize) {
    let (id, label) = SECTIONS[index];
    let _ = writeln!(s, "<section id=\"{id}\">\n<h2>{label}</h2>");
}

fn summary(s: &mut String, regions: &[RegionSummary]) {
    section_open(s, 0);
    if regions.is_empty() {
        s.push_str("<p class=\"na\">No regions.</p>\n</section>\n");
        return;
    }
    s.push_str("<div class=\"cards\">\n");
    for r in regions {
        s.push_str("<div class=\"region-card\">");
        let _ = write!(
            s,
            "<h3>{}</h3><div class=\"code\">{}</div>",
            esc(&r.name),
            esc(&r.code)
        );
        let _ = write!(
            s,
            "<div class=\"headline\"><span class=\"big\">{}</span><span>TOE index</span><span class=\"badge sev-other\">Rank {}</span><span class=\"badge sev-low\">Band: {}</span></div>",
            score(r.score),
            rank(r.rank),
            opt_text(r.band.as_deref())
        );
        for d in &r.dimensions {
            let width = d
                .score
                .filter(|v| v.is_finite())
                .map_or(0.0, |v| v.clamp(0.0, 1.0) * 100.0);
            let _ = write!(
                s,
                "<div class=\"dim\"><span>{}</span><span class=\"meter\"><span style=\"width: {}%\"></span></span><span class=\"v\">{}</span></div>",
                esc(&d.label),
                fixed(width, 1),
                score(d.score)
            );
        }
        let _ = write!(
            s,
            "<p class=\"muted\">Population: {}</p>",
            opt_text(r.population.as_deref())
        );
        s.push_str("</div>\n");
    }
    s.push_str("</div>\n</section>\n");
}

fn radar(s: &mut String, regions: &[RegionSummary]) {
    section_open(s, 1);
    s.push_str("<div class=\"radar-wrap\">\n<figure>");
    s.push_str(&radar_svg(regions));
    s.push_str("<figcaption>Technology, organization and environment scores (0 = worst, 1 = best) per region. Each region has its own line style and marker; see the legend and the table.</figcaption></figure>\n");
    // The same numbers as a table.
    let mut dims: Vec<(&str, &str)> = Vec::new();
    for r in regions {
        for d in &r.dimensions {
            if !dims.iter().any(|(c, _)| *c == d.code) {
                dims.push((&d.code, &d.label));
            }
        }
    }
    s.push_str("<table class=\"toe-table\"><caption>TOE dimension scores</caption><thead><tr><th scope=\"col\">Region</th>");
    for (_, label) in &dims {
        let _ = write!(s, "<th scope=\"col\" class=\"num\">{}</th>", esc(label));
    }
    s.push_str("<th scope=\"col\" class=\"num\">Index</th></tr></thead><tbody>");
    for r in regions {
        let _ = write!(s, "<tr><th scope=\"row\">{}</th>", esc(&r.name));
        for (code, _) in &dims {
            let v = r
                .dimensions
                .iter()
                .find(|d| d.code == *code)
                .and_then(|d| d.score);
            s.push_str(&score_cell(v));
        }
        s.push_str(&score_cell(r.score));
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n</div>\n</section>\n");
}

fn store_chart(s: &mut String, input: &ReportInput) {
    section_open(s, 2);
    s.push_str("<figure>");
    s.push_str(&store_chart_svg(&input.stores, &input.platforms));
    s.push_str("<figcaption>User rating of each app in each store (0–5). A dashed box marked “no data” (“/” in the source) means the store showed no rating; it is not a zero.</figcaption></figure>\n</section>\n");
}

fn platforms(s: &mut String, input: &ReportInput) {
    section_open(s, 3);
    if input.platforms.is_empty() {
        s.push_str("<p class=\"na\">No platforms.</p>\n</section>\n");
        return;
    }
    s.push_str("<table class=\"platforms\"><caption>Ratings as printed by the source; “/” means no rating in that store.</caption><thead><tr><th scope=\"col\">Platform</th><th scope=\"col\">Code</th><th scope=\"col\">Region</th>");
    for store in &input.stores {
        let _ = write!(s, "<th scope=\"col\" class=\"num\">{}</th>", esc(store));
    }
    s.push_str("<th scope=\"col\" class=\"num\">Average (printed)</th><th scope=\"col\" class=\"num\">Score</th><th scope=\"col\" class=\"num\">Rank</th></tr></thead><tbody>\n");
    for p in &input.platforms {
        let _ = write!(
            s,
            "<tr class=\"platform\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td>",
            esc(&p.name),
            esc(&p.code),
            esc(&p.region)
        );
        for i in 0..input.stores.len() {
            match p.ratings.get(i).and_then(Option::as_ref) {
                Some(c) => {
                    let _ = write!(s, "<td class=\"num\">{}</td>", esc(&c.printed));
                }
                None => s.push_str(
                    "<td class=\"num\"><span class=\"na\" title=\"no data\">/ (no data)</span></td>",
                ),
            }
        }
        let _ = write!(
            s,
            "<td class=\"num\">{}</td>",
            opt_text(p.average_printed.as_deref())
        );
        s.push_str(&score_cell(p.score));
        let _ = writeln!(
            s,
            "<td class=\"num\">{}</td></tr>",
            p.rank.map_or_else(
                || "<span class=\"na\">unranked</span>".to_string(),
                |r| format!("#{r}")
            )
        );
    }
    s.push_str("</tbody></table>\n</section>\n");
}

fn quality(s: &mut String, input: &ReportInput) {
    section_open(s, 4);
    if input.quality.is_empty() {
        s.push_str("<p>No data-quality findings.</p>\n</section>\n");
        return;
    }
    let _ = write!(
        s,
        "<p>{} finding(s) from checking the data against itself (e.g. printed averages against the ratings they average).</p>",
        input.quality.len()
    );
    s.push_str("<table class=\"quality\"><thead><tr><th scope=\"col\">Severity</th><th scope=\"col\">Check</th><th scope=\"col\">Subject</th><th scope=\"col\">Finding</th><th scope=\"col\" class=\"num\">Reported</th><th scope=\"col\" class=\"num\">Recomputed</th></tr></thead><tbody>\n");
    for q in &input.quality {
        let _ = writeln!(
            s,
            "<tr class=\"finding\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            sev_badge(&q.severity),
            esc(&q.kind),
            esc(&q.subject),
            esc(&q.message),
            opt_text(q.reported.as_deref()),
            opt_text(q.recomputed.as_deref())
        );
    }
    s.push_str("</tbody></table>\n</section>\n");
}

fn evidence_item(e: &EvidenceRow) -> String {
    let mut li = format!("<li><span class=\"fact\">{}</span>: ", esc(&e.fact));
    match e.value.as_deref() {
        Some(v) if !v.trim().is_empty() => {
            let _ = write!(li, "<strong>{}</strong>", esc(v));
        }
        _ => li.push_str("<span class=\"na\">no data</span>"),
    }
    if let Some(c) = e.comparison.as_deref().filter(|c| !c.trim().is_empty()) {
        let _ = write!(li, " <span class=\"cmp\">({})</span>", esc(c));
    }
    let _ = write!(
        li,
        " <span class=\"src\">\u{2014} source: {}</span></li>",
        if e.source.trim().is_empty() {
            "<span class=\"na\">unknown</span>".to_string()
        } else {
            esc(&e.source)
        }
    );
    li
}

fn dilemma_row(d: &DilemmaRow) -> String {
    let mut tr = format!(
        "<tr class=\"dilemma status-row-{}\"><td>{}</td><td><strong>{}</strong><br/><span class=\"muted\">§ {}</span></td><td><span class=\"badge status-{}\">{} {}</span></td><td>{}</td><td>",
        d.status.css(),
        esc(&d.code),
        esc(&d.title),
        esc(&d.section),
        d.status.css(),
        d.status.symbol(),
        d.status.label(),
        d.severity
            .as_deref()
            .map_or_else(|| "<span class=\"na\">none</span>".to_string(), sev_badge)
    );
    if d.evidence.is_empty() {
        tr.push_str("<span class=\"na\">no evidence recorded</span>");
    } else {
        tr.push_str("<ul class=\"evidence\">");
        for e in &d.evidence {
            tr.push_str(&evidence_item(e));
        }
        tr.push_str("</ul>");
    }
    tr.push_str("</td></tr>\n");
    tr
}

fn diagnosis(s: &mut String, diagnoses: &[RegionDiagnosis]) {
    section_open(s, 5);
    if diagnoses.is_empty() {
        s.push_str("<p class=\"na\">No diagnosis.</p>\n</section>\n");
        return;
    }
    for (i, d) in diagnoses.iter().enumerate() {
        let present = d
            .dilemmas
            .iter()
            .filter(|x| x.status == crate::model::DilemmaStatus::Present)
            .count();
        let _ = writeln!(
            s,
            "<article class=\"region-block diagnosis-region\" id=\"diagnosis-{}\">\n<h3>{} <span class=\"muted\">{}</span></h3>\n<p>{} of {} dilemmas present.</p>",
            i + 1,
            esc(&d.region),
            esc(&d.code),
            present,
            d.dilemmas.len()
        );
        s.push_str("<table class=\"dilemmas\"><thead><tr><th scope=\"col\">Code</th><th scope=\"col\">Dilemma</th><th scope=\"col\">Status</th><th scope=\"col\">Severity</th><th scope=\"col\">Evidence</th></tr></thead><tbody>\n");
        for row in &d.dilemmas {
            s.push_str(&dilemma_row(row));
        }
        s.push_str("</tbody></table>\n");
        s.push_str("<h4>Platform findings</h4>\n");
        if d.platform_findings.is_empty() {
            s.push_str("<p class=\"na\">No platform findings.</p>\n");
        } else {
            s.push_str("<table class=\"platform-findings\"><thead><tr><th scope=\"col\">Platform</th><th scope=\"col\">Kind</th><th scope=\"col\">Severity</th><th scope=\"col\">Finding</th></tr></thead><tbody>\n");
            for f in &d.platform_findings {
                let _ = writeln!(
                    s,
                    "<tr class=\"platform-finding\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&f.subject),
                    esc(&f.kind),
                    sev_badge(&f.severity),
                    esc(&f.message)
                );
            }
            s.push_str("</tbody></table>\n");
        }
        s.push_str("</article>\n");
    }
    s.push_str("</section>\n");
}

fn what_if(s: &mut String, w: &WhatIf) {
    s.push_str("<div class=\"whatif\">");
    let _ = write!(
        s,
        "<strong>What-if projection:</strong> index {} \u{2192} {} ({}); rank {} \u{2192} {}",
        score(w.score_before),
        score(w.score_after),
        delta(w.score_before, w.score_after),
        rank(w.rank_before),
        rank(w.rank_after)
    );
    if !w.dimensions.is_empty() {
        s.push_str("<table class=\"whatif-dims\"><thead><tr><th scope=\"col\">Dimension</th><th scope=\"col\" class=\"num\">Before</th><th scope=\"col\" class=\"num\">After</th><th scope=\"col\" class=\"num\">Change</th></tr></thead><tbody>");
        for d in &w.dimensions {
            let _ = write!(
                s,
                "<tr><th scope=\"row\">{}</th>{}{}<td class=\"num\">{}</td></tr>",
                esc(&d.label),
                score_cell(d.before),
                score_cell(d.after),
                delta(d.before, d.after)
            );
        }
        s.push_str("</tbody></table>");
    }
    s.push_str("</div>");
}

fn recommendation(s: &mut String, r: &RecommendationRow) {
    s.push_str("<li class=\"rec\">");
    let _ = write!(
        s,
        "<div class=\"rec-head\"><span class=\"rank-badge\" title=\"rank\">#{}</span><span class=\"rec-title\">{}</span><span class=\"muted\">{} \u{00B7} § {}</span>",
        r.rank,
        esc(&r.title),
        esc(&r.code),
        esc(&r.section)
    );
    if let Some(q) = r.quadrant.as_deref().filter(|q| !q.trim().is_empty()) {
        let _ = write!(s, "<span class=\"badge sev-other\">{}</span>", esc(q));
    }
    s.push_str("</div>");
    let _ = write!(
        s,
        "<dl class=\"metrics\"><div><dt>Priority</dt><dd>{}</dd></div><div><dt>Importance</dt><dd>{}</dd></div><div><dt>Performance</dt><dd>{}</dd></div><div><dt>Peer to learn from</dt><dd>{}</dd></div></dl>",
        score(r.priority),
        score(r.importance),
        score(r.performance),
        opt_text(r.peer.as_deref())
    );
    if !r.rationale.trim().is_empty() {
        let _ = write!(s, "<p class=\"rationale\">{}</p>", esc(&r.rationale));
    }
    s.push_str("<div class=\"rec-cols\"><div><h4>Actions</h4>");
    list(s, &r.actions, "actions");
    s.push_str("</div><div><h4>Actors</h4>");
    list(s, &r.actors, "actors");
    s.push_str("</div></div>");
    match &r.what_if {
        Some(w) => what_if(s, w),
        None => s.push_str(
            "<div class=\"whatif\"><span class=\"na\">No what-if projection.</span></div>",
        ),
    }
    s.push_str("</li>\n");
}

fn list(s: &mut String, items: &[String], class: &str) {
    if items.is_empty() {
        s.push_str("<p class=\"na\">none listed</p>");
        return;
    }
    let _ = write!(s, "<ul class=\"{class}\">");
    for item in items {
        let _ = write!(s, "<li>{}</li>", esc(item));
    }
    s.push_str("</ul>");
}

fn recommendations(s: &mut String, recs: &[RegionRecommendations]) {
    section_open(s, 6);
    if recs.is_empty() {
        s.push_str("<p class=\"na\">No recommendations.</p>\n</section>\n");
        return;
    }
    for (i, region) in recs.iter().enumerate() {
        let _ = writeln!(
            s,
            "<article class=\"region-block recommendations-region\" id=\"recommendations-{}\">\n<h3>{} <span class=\"muted\">{}</span></h3>",
            i + 1,
            esc(&region.region),
            esc(&region.code)
        );
        if region.items.is_empty() {
            s.push_str("<p class=\"na\">No recommendations for this region.</p>\n");
        } else {
            s.push_str("<ol class=\"recs\">\n");
            for r in &region.items {
                recommendation(s, r);
            }
            s.push_str("</ol>\n");
        }
        s.push_str("</article>\n");
    }
    s.push_str("</section>\n");
}
