//! The GitHub-flavoured Markdown report: the same content as the HTML page,
//! with the charts replaced by tables.

use std::fmt::Write as _;

use crate::model::{DilemmaStatus, RecommendationRow, ReportInput};
use crate::text::{delta, escape_md as md, rank, score};

/// Text or "n/a" for an optional value, escaped for Markdown.
fn opt(v: Option<&str>) -> String {
    match v {
        Some(t) if !t.trim().is_empty() => md(t),
        _ => "n/a".to_string(),
    }
}

/// Escaped text, or `fallback` when blank.
fn or(v: &str, fallback: &str) -> String {
    if v.trim().is_empty() {
        fallback.to_string()
    } else {
        md(v)
    }
}

fn table(s: &mut String, head: &[String], right: &[bool], rows: &[Vec<String>]) {
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let align: Vec<&str> = (0..head.len())
        .map(|i| {
            if right.get(i).copied().unwrap_or(false) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(s, "| {} |", align.join(" | "));
    for row in rows {
        let cells: Vec<&str> = row
            .iter()
            .map(|c| if c.is_empty() { " " } else { c.as_str() })
            .collect();
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s.push('\n');
}

fn status_text(st: DilemmaStatus) -> String {
    match st {
        DilemmaStatus::Present => "**PRESENT**".to_string(),
        DilemmaStatus::Absent => "absent".to_string(),
        DilemmaStatus::InsufficientData => "_insufficient data_".to_string(),
    }
}

/// Renders the whole report as GitHub-flavoured Markdown. All input text is
/// escaped (HTML-significant characters become character references, Markdown
/// metacharacters and pipes are backslash-escaped, line breaks become spaces).
pub fn render_markdown(input: &ReportInput) -> String {
    let mut s = String::with_capacity(32 * 1024);
    let _ = writeln!(s, "# {}\n", or(&input.title, "GovLens report"));
    if !input.subtitle.trim().is_empty() {
        let _ = writeln!(s, "_{}_\n", md(&input.subtitle));
    }
    table(
        &mut s,
        &[
            "Generated at".into(),
            "Data revision".into(),
            "Model".into(),
            "Rulebook".into(),
        ],
        &[false, true],
        &[vec![
            or(&input.generated_at, "n/a"),
            input.data_revision.to_string(),
            or(&input.model, "n/a"),
            or(&input.rulebook, "n/a"),
        ]],
    );
    s.push_str(
        "Scores are on a 0–1 scale; store ratings on a 0–5 scale; “/” and “n/a” mean no data.\n\n",
    );

    // 1. Summary.
    s.push_str("## 1. Regional summary\n\n");
    let mut dims: Vec<(&str, &str)> = Vec::new();
    for r in &input.regions {
        for d in &r.dimensions {
            if !dims.iter().any(|(c, _)| *c == d.code) {
                dims.push((&d.code, &d.label));
            }
        }
    }
    if input.regions.is_empty() {
        s.push_str("No regions.\n\n");
    } else {
        let rows: Vec<Vec<String>> = input
            .regions
            .iter()
            .map(|r| {
                vec![
                    md(&r.name),
                    md(&r.code),
                    score(r.score),
                    rank(r.rank),
                    opt(r.band.as_deref()),
                    opt(r.population.as_deref()),
                ]
            })
            .collect();
        table(
            &mut s,
            &[
                "Region".into(),
                "Code".into(),
                "TOE index".into(),
                "Rank".into(),
                "Band".into(),
                "Population".into(),
            ],
            &[false, false, true, true],
            &rows,
        );
    }

    // 2. TOE profile (radar as a table).
    s.push_str("## 2. TOE profile\n\n");
    if dims.is_empty() {
        s.push_str("No TOE dimension scores.\n\n");
    } else {
        let mut head = vec!["Region".to_string()];
        head.extend(dims.iter().map(|(_, l)| md(l)));
        let right: Vec<bool> = (0..head.len()).map(|i| i > 0).collect();
        let rows: Vec<Vec<String>> = input
            .regions
            .iter()
            .map(|r| {
                let mut row = vec![md(&r.name)];
                row.extend(dims.iter().map(|(code, _)| {
                    score(
                        r.dimensions
                            .iter()
                            .find(|d| d.code == *code)
                            .and_then(|d| d.score),
                    )
                }));
                row
            })
            .collect();
        table(&mut s, &head, &right, &rows);
    }

    // 3. Ratings per store (bar chart as a table).
    s.push_str("## 3. Ratings per store\n\n");
    if input.platforms.is_empty() {
        s.push_str("No platform ratings.\n\n");
    } else {
        let mut head = vec!["App".to_string(), "Region".to_string()];
        head.extend(input.stores.iter().map(|st| md(st)));
        let right: Vec<bool> = (0..head.len()).map(|i| i > 1).collect();
        let rows: Vec<Vec<String>> = input
            .platforms
            .iter()
            .map(|p| {
                let mut row = vec![md(&p.name), md(&p.region)];
                row.extend((0..input.stores.len()).map(|i| {
                    match p
                        .ratings
                        .get(i)
                        .and_then(Option::as_ref)
                        .filter(|c| c.value.is_finite())
                    {
                        Some(c) => crate::text::fixed(c.value, 1),
                        None => "/ (no data)".to_string(),
                    }
                }));
                row
            })
            .collect();
        table(&mut s, &head, &right, &rows);
    }

    // 4. Platforms.
    s.push_str("## 4. Platforms\n\n");
    if input.platforms.is_empty() {
        s.push_str("No platforms.\n\n");
    } else {
        s.push_str("Ratings as printed by the source; “/” means no rating in that store.\n\n");
        let mut head = vec!["Platform".to_string(), "Code".into(), "Region".into()];
        head.extend(input.stores.iter().map(|st| md(st)));
        head.extend([
            "Average (printed)".to_string(),
            "Score".into(),
            "Rank".into(),
        ]);
        let right: Vec<bool> = (0..head.len()).map(|i| i > 2).collect();
        let rows: Vec<Vec<String>> = input
            .platforms
            .iter()
            .map(|p| {
                let mut row = vec![md(&p.name), md(&p.code), md(&p.region)];
                row.extend((0..input.stores.len()).map(|i| {
                    match p.ratings.get(i).and_then(Option::as_ref) {
                        Some(c) => or(&c.printed, "n/a"),
                        None => "/ (no data)".to_string(),
                    }
                }));
                row.push(opt(p.average_printed.as_deref()));
                row.push(score(p.score));
                row.push(
                    p.rank
                        .map_or_else(|| "unranked".to_string(), |r| format!("#{r}")),
                );
                row
            })
            .collect();
        table(&mut s, &head, &right, &rows);
    }

    // 5. Data quality.
    s.push_str("## 5. Data quality\n\n");
    if input.quality.is_empty() {
        s.push_str("No data-quality findings.\n\n");
    } else {
        let rows: Vec<Vec<String>> = input
            .quality
            .iter()
            .map(|q| {
                vec![
                    or(&q.severity, "none"),
                    md(&q.kind),
                    md(&q.subject),
                    md(&q.message),
                    opt(q.reported.as_deref()),
                    opt(q.recomputed.as_deref()),
                ]
            })
            .collect();
        table(
            &mut s,
            &[
                "Severity".into(),
                "Check".into(),
                "Subject".into(),
                "Finding".into(),
                "Reported".into(),
                "Recomputed".into(),
            ],
            &[false, false, false, false, true, true],
            &rows,
        );
    }

    // 6. Diagnosis.
    s.push_str("## 6. Diagnosis\n\n");
    if input.diagnoses.is_empty() {
        s.push_str("No diagnosis.\n\n");
    }
    for d in &input.diagnoses {
        let present = d
            .dilemmas
            .iter()
            .filter(|x| x.status == DilemmaStatus::Present)
            .count();
        let _ = writeln!(
            s,
            "### {} ({})\n\n{} of {} dilemmas present.\n",
            md(&d.region),
            md(&d.code),
            present,
            d.dilemmas.len()
        );
        let rows: Vec<Vec<String>> = d
            .dilemmas
            .iter()
            .map(|x| {
                vec![
                    md(&x.code),
                    md(&x.title),
                    md(&x.section),
                    status_text(x.status),
                    x.severity
                        .as_deref()
                        .map_or_else(|| "none".to_string(), |v| or(v, "none")),
                ]
            })
            .collect();
        table(
            &mut s,
            &[
                "Code".into(),
                "Dilemma".into(),
                "Section".into(),
                "Status".into(),
                "Severity".into(),
            ],
            &[],
            &rows,
        );
        s.push_str("Evidence:\n\n");
        for x in &d.dilemmas {
            let _ = writeln!(
                s,
                "- **{}** {} ({}):",
                md(&x.code),
                md(&x.title),
                x.status.label()
            );
            if x.evidence.is_empty() {
                s.push_str("  - no evidence recorded\n");
            }
            for e in &x.evidence {
                let mut line = format!("  - {}: ", md(&e.fact));
                match e.value.as_deref().filter(|v| !v.trim().is_empty()) {
                    Some(v) => {
                        let _ = write!(line, "**{}**", md(v));
                    }
                    None => line.push_str("no data"),
                }
                if let Some(c) = e.comparison.as_deref().filter(|c| !c.trim().is_empty()) {
                    let _ = write!(line, " ({})", md(c));
                }
                let _ = write!(line, " — source: {}", or(&e.source, "unknown"));
                s.push_str(&line);
                s.push('\n');
            }
        }
        s.push('\n');
        s.push_str("#### Platform findings\n\n");
        if d.platform_findings.is_empty() {
            s.push_str("No platform findings.\n\n");
        } else {
            let rows: Vec<Vec<String>> = d
                .platform_findings
                .iter()
                .map(|f| {
                    vec![
                        md(&f.subject),
                        md(&f.kind),
                        or(&f.severity, "none"),
                        md(&f.message),
                    ]
                })
                .collect();
            table(
                &mut s,
                &[
                    "Platform".into(),
                    "Kind".into(),
                    "Severity".into(),
                    "Finding".into(),
                ],
                &[],
                &rows,
            );
        }
    }

    // 7. Recommendations.
    s.push_str("## 7. Recommendations\n\n");
    if input.recommendations.is_empty() {
        s.push_str("No recommendations.\n\n");
    }
    for region in &input.recommendations {
        let _ = writeln!(s, "### {} ({})\n", md(&region.region), md(&region.code));
        if region.items.is_empty() {
            s.push_str("No recommendations for this region.\n\n");
        }
        for r in &region.items {
            recommendation(&mut s, r);
        }
    }
    let _ = writeln!(
        s,
        "---\n\nGenerated by GovLens at {} from data revision {}.",
        or(&input.generated_at, "n/a"),
        input.data_revision
    );
    s
}

fn recommendation(s: &mut String, r: &RecommendationRow) {
    let _ = writeln!(
        s,
        "#### #{} {} ({}, § {})\n",
        r.rank,
        md(&r.title),
        md(&r.code),
        md(&r.section)
    );
    let _ = writeln!(
        s,
        "- Priority: {} · Importance: {} · Performance: {} · Quadrant: {}",
        score(r.priority),
        score(r.importance),
        score(r.performance),
        opt(r.quadrant.as_deref())
    );
    let _ = writeln!(s, "- Rationale: {}", or(&r.rationale, "n/a"));
    let _ = writeln!(s, "- Peer to learn from: {}", opt(r.peer.as_deref()));
    if r.actions.is_empty() {
        s.push_str("- Actions: none listed\n");
    } else {
        s.push_str("- Actions:\n");
        for a in &r.actions {
            let _ = writeln!(s, "  - {}", md(a));
        }
    }
    if r.actors.is_empty() {
        s.push_str("- Actors: none listed\n");
    } else {
        let actors: Vec<String> = r.actors.iter().map(|a| md(a)).collect();
        let _ = writeln!(s, "- Actors: {}", actors.join("; "));
    }
    match &r.what_if {
        None => s.push_str("- What-if projection: none\n\n"),
        Some(w) => {
            let _ = writeln!(
                s,
                "- What-if projection: index {} → {} ({}); rank {} → {}\n",
                score(w.score_before),
                score(w.score_after),
                delta(w.score_before, w.score_after),
                rank(w.rank_before),
                rank(w.rank_after)
            );
            if !w.dimensions.is_empty() {
                let rows: Vec<Vec<String>> = w
                    .dimensions
                    .iter()
                    .map(|d| {
                        vec![
                            md(&d.label),
                            score(d.before),
                            score(d.after),
                            delta(d.before, d.after),
                        ]
                    })
                    .collect();
                table(
                    s,
                    &[
                        "Dimension".into(),
                        "Before".into(),
                        "After".into(),
                        "Change".into(),
                    ],
                    &[false, true, true, true],
                    &rows,
                );
            }
        }
    }
}
