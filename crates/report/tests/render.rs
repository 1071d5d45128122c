//! Rendering the realistic fixture: structure, counts, escaping, determinism.

mod common;

use common::{fixture, inject, statuses, APPS, GAPS, PROVINCES, STORES};
use govlens_report::*;
use roxmltree::{Document, Node};

const XHTML: &str = "http://www.w3.org/1999/xhtml";
const SVG: &str = "http://www.w3.org/2000/svg";

fn parse(html: &str) -> Document<'_> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    Document::parse_with_options(html, opts)
        .unwrap_or_else(|e| panic!("HTML is not well-formed XML: {e}"))
}

fn has_class(n: &Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

fn elements<'a, 'i>(root: Node<'a, 'i>, ns: &str, name: &str) -> Vec<Node<'a, 'i>> {
    root.descendants()
        .filter(|n| {
            n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
        })
        .collect()
}

fn with_class<'a, 'i>(root: Node<'a, 'i>, ns: &str, name: &str, class: &str) -> Vec<Node<'a, 'i>> {
    elements(root, ns, name)
        .into_iter()
        .filter(|n| has_class(n, class))
        .collect()
}

/// All text below `n`, concatenated.
fn text_of(n: Node) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect()
}

fn by_id<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no element with id {id}"))
}

#[test]
fn html_is_well_formed_xhtml_with_all_sections() {
    let html = render_html(&fixture());
    assert!(html.starts_with("<!DOCTYPE html>\n"));
    let doc = parse(&html);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    assert_eq!(root.tag_name().namespace(), Some(XHTML));
    for id in [
        "summary",
        "toe-profile",
        "store-ratings",
        "platforms",
        "data-quality",
        "diagnosis",
        "recommendations",
    ] {
        let sec = by_id(&doc, id);
        assert_eq!(sec.tag_name().name(), "section", "#{id}");
        assert!(
            elements(sec, XHTML, "h2").len() == 1,
            "#{id} has one heading"
        );
    }
    // Self-contained: no scripts, no external resources, no event handlers.
    assert!(elements(root, XHTML, "script").is_empty());
    assert!(elements(root, XHTML, "link").is_empty());
    assert!(elements(root, XHTML, "img").is_empty());
    let without_ns = html.replace(XHTML, "").replace(SVG, "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    assert!(!html.contains("@import") && !html.contains("@font-face"));
    assert!(
        !html.contains("url(") || html.matches("url(").count() == html.matches("url(#").count()
    );
    for n in root.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            assert!(
                !a.name().starts_with("on"),
                "event handler {} on <{}>",
                a.name(),
                n.tag_name().name()
            );
        }
    }
}

#[test]
fn html_has_one_radar_and_one_store_chart_with_expected_marks() {
    let input = fixture();
    let html = render_html(&input);
    let doc = parse(&html);
    let svgs = elements(doc.root_element(), SVG, "svg");
    assert_eq!(svgs.len(), 2, "exactly two charts");
    let radar: Vec<_> = svgs.iter().filter(|n| has_class(n, "radar")).collect();
    let store: Vec<_> = svgs
        .iter()
        .filter(|n| has_class(n, "store-ratings"))
        .collect();
    assert_eq!(radar.len(), 1);
    assert_eq!(store.len(), 1);
    let radar = *radar[0];
    let store = *store[0];

    // Radar: one polygon per region, three axis labels, legend naming both.
    assert_eq!(with_class(radar, SVG, "polygon", "series").len(), 2);
    let axis_labels: Vec<String> = with_class(radar, SVG, "text", "axis-label")
        .into_iter()
        .map(text_of)
        .collect();
    assert_eq!(axis_labels, ["Technology", "Organization", "Environment"]);
    let legend = with_class(radar, SVG, "g", "legend");
    assert_eq!(legend.len(), 1);
    for p in PROVINCES {
        assert!(text_of(legend[0]).contains(p), "radar legend names {p}");
    }
    // Every series vertex is inside the chart (values 0..1 on radius 150 around 280,196).
    for poly in with_class(radar, SVG, "polygon", "series") {
        let pts = poly.attribute("points").unwrap();
        assert_eq!(pts.split(' ').count(), 3);
        for pair in pts.split(' ') {
            let (x, y) = pair.split_once(',').unwrap();
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!(((x - 280.0).powi(2) + (y - 196.0).powi(2)).sqrt() <= 150.1);
        }
    }

    // Store chart: 7 apps x 4 stores = 28 cells, 5 of them "/".
    let bars = with_class(store, SVG, "rect", "bar");
    let nodata = with_class(store, SVG, "g", "nodata");
    assert_eq!(bars.len(), 7 * 4 - GAPS);
    assert_eq!(nodata.len(), GAPS);
    for g in &nodata {
        let t = text_of(*g);
        assert!(
            t.contains("no data") && t.contains('/'),
            "visible no-data mark: {t}"
        );
    }
    // Bars are never zero-height and stay within the 0..5 axis.
    let heights: Vec<f64> = bars
        .iter()
        .map(|b| b.attribute("height").unwrap().parse().unwrap())
        .collect();
    assert!(heights.iter().all(|h| *h > 0.0));
    let max = heights.iter().cloned().fold(0.0, f64::max);
    let min = heights.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        (max / min - 4.9 / 1.0).abs() < 0.05,
        "heights proportional to ratings"
    );
    // Legend names the four stores; every app is named in the chart.
    let legend = text_of(with_class(store, SVG, "g", "legend")[0]);
    for st in STORES {
        assert!(legend.contains(st), "store legend names {st}");
    }
    let chart_text = text_of(store);
    for app in APPS {
        assert!(chart_text.contains(app), "store chart names {app}");
    }
    // Y axis 0..5.
    let y_text = text_of(with_class(store, SVG, "g", "y-axis")[0]);
    assert_eq!(y_text, "012345Rating (0–5)");
}

#[test]
fn html_names_apps_provinces_and_printed_ratings() {
    let input = fixture();
    let html = render_html(&input);
    let doc = parse(&html);
    let table = with_class(doc.root_element(), XHTML, "table", "platforms");
    assert_eq!(table.len(), 1);
    let rows = with_class(table[0], XHTML, "tr", "platform");
    assert_eq!(rows.len(), 7);
    for (row, p) in rows.iter().zip(&input.platforms) {
        let cells: Vec<String> = row
            .children()
            .filter(|c| c.is_element())
            .map(text_of)
            .collect();
        assert_eq!(cells[0], p.name);
        assert_eq!(cells[2], p.region);
        for (i, r) in p.ratings.iter().enumerate() {
            match r {
                Some(c) => assert_eq!(cells[3 + i], c.printed),
                None => assert_eq!(cells[3 + i], "/ (no data)"),
            }
        }
        assert_eq!(&cells[7], p.average_printed.as_ref().unwrap());
    }
    let summary = text_of(by_id(&doc, "summary"));
    for p in PROVINCES {
        assert!(summary.contains(p));
    }
    assert!(
        summary.contains("0.612")
            && summary.contains("Rank #1")
            && summary.contains("Band: leading")
    );
    assert!(
        summary.contains("0.547")
            && summary.contains("Rank #2")
            && summary.contains("Band: developing")
    );
    // Quality findings with severity text.
    let quality = with_class(doc.root_element(), XHTML, "tr", "finding");
    assert_eq!(quality.len(), 4);
    assert!(text_of(quality[0]).starts_with("error"));
}

#[test]
fn html_diagnosis_has_six_dilemmas_per_region_with_status_text_and_sources() {
    let input = fixture();
    let html = render_html(&input);
    let doc = parse(&html);
    let regions = with_class(doc.root_element(), XHTML, "article", "diagnosis-region");
    assert_eq!(regions.len(), 2);
    for (ri, region) in regions.iter().enumerate() {
        assert!(text_of(elements(*region, XHTML, "h3")[0]).contains(PROVINCES[ri]));
        let rows = with_class(*region, XHTML, "tr", "dilemma");
        assert_eq!(rows.len(), 6, "six dilemma rows in {}", PROVINCES[ri]);
        for (row, status) in rows.iter().zip(statuses(ri)) {
            let badge = row
                .descendants()
                .find(|n| {
                    has_class(n, "badge") && n.attribute("class").unwrap().contains("status-")
                })
                .expect("status badge");
            assert!(
                text_of(badge).ends_with(status.label()),
                "badge text {:?} carries the status {:?}",
                text_of(badge),
                status.label()
            );
            let evidence = with_class(*row, XHTML, "ul", "evidence");
            assert_eq!(evidence.len(), 1);
            assert!(text_of(evidence[0]).contains("source: "));
        }
        assert!(!with_class(*region, XHTML, "tr", "platform-finding").is_empty());
    }
}

#[test]
fn html_recommendations_show_actions_actors_peer_and_what_if() {
    let input = fixture();
    let html = render_html(&input);
    let doc = parse(&html);
    let regions = with_class(
        doc.root_element(),
        XHTML,
        "article",
        "recommendations-region",
    );
    assert_eq!(regions.len(), 2);
    for (region, recs) in regions.iter().zip(&input.recommendations) {
        let items = with_class(*region, XHTML, "li", "rec");
        assert_eq!(items.len(), 6);
        for (li, r) in items.iter().zip(&recs.items) {
            let t = text_of(*li);
            assert!(t.starts_with(&format!("#{}", r.rank)));
            assert!(t.contains(&r.title) && t.contains(&r.code));
            assert_eq!(
                with_class(*li, XHTML, "ul", "actions")[0]
                    .children()
                    .count(),
                r.actions.len()
            );
            assert_eq!(
                with_class(*li, XHTML, "ul", "actors")[0].children().count(),
                r.actors.len()
            );
            if let Some(peer) = &r.peer {
                assert!(t.contains(peer.as_str()));
            }
            let w = r.what_if.as_ref().unwrap();
            let wi = text_of(with_class(*li, XHTML, "div", "whatif")[0]);
            let expect = format!(
                "index {:.3} → {:.3}",
                w.score_before.unwrap(),
                w.score_after.unwrap()
            );
            assert!(wi.contains(&expect), "{wi} contains {expect}");
            assert!(wi.contains(&format!(
                "rank #{} → #{}",
                w.rank_before.unwrap(),
                w.rank_after.unwrap()
            )));
        }
    }
}

#[test]
fn output_is_deterministic() {
    let a = fixture();
    assert_eq!(render_html(&a), render_html(&a.clone()));
    assert_eq!(render_markdown(&a), render_markdown(&a.clone()));
}

/// Counts `|` not preceded by a backslash.
fn unescaped_pipes(line: &str) -> usize {
    let b = line.as_bytes();
    (0..b.len())
        .filter(|&i| b[i] == b'|' && (i == 0 || b[i - 1] != b'\\'))
        .count()
}

/// Every Markdown table keeps its column count on every line.
fn assert_tables_consistent(md: &str) {
    let mut current: Option<usize> = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let n = unescaped_pipes(line);
            match current {
                None => current = Some(n),
                Some(c) => assert_eq!(c, n, "table row has a different column count: {line}"),
            }
        } else {
            current = None;
        }
    }
}

#[test]
fn markdown_has_same_content() {
    let input = fixture();
    let md = render_markdown(&input);
    assert!(md.starts_with("# Digital governance platforms: Guizhou and Sichuan\n"));
    for app in APPS {
        assert!(md.contains(app), "markdown names {app}");
    }
    for p in PROVINCES {
        assert!(
            md.contains(&format!("### {p} (")),
            "markdown sections for {p}"
        );
    }
    for st in STORES {
        assert!(md.contains(st));
    }
    for h in [
        "## 1. Regional summary",
        "## 2. TOE profile",
        "## 3. Ratings per store",
        "## 4. Platforms",
        "## 5. Data quality",
        "## 6. Diagnosis",
        "## 7. Recommendations",
    ] {
        assert!(md.contains(h), "{h}");
    }
    // Charts as tables: TOE values and per-store values with no-data marks.
    assert!(md.contains("| Guizhou Province | 0.684 | 0.571 | 0.583 |"));
    assert!(md.contains("| Emergency earthquake information | Sichuan Province | / (no data) | 2.5 | 2.8 | / (no data) |"));
    assert_eq!(md.matches("/ (no data)").count(), 2 * GAPS);
    // Six dilemma rows with status text per region.
    let diag = &md[md.find("## 6. Diagnosis").unwrap()..md.find("## 7. Recommendations").unwrap()];
    for (ri, p) in PROVINCES.iter().enumerate() {
        let start = diag.find(&format!("### {p}")).unwrap();
        let block = &diag[start..];
        let block = &block[..block[4..].find("### ").map_or(block.len(), |i| i + 4)];
        let rows: Vec<&str> = block
            .lines()
            .filter(|l| l.starts_with("| T") || l.starts_with("| O") || l.starts_with("| E"))
            .collect();
        assert_eq!(rows.len(), 6, "{p}: {rows:?}");
        for (row, st) in rows.iter().zip(statuses(ri)) {
            let expect = match st {
                DilemmaStatus::Present => "| **PRESENT** |",
                DilemmaStatus::Absent => "| absent |",
                DilemmaStatus::InsufficientData => "| _insufficient data_ |",
            };
            assert!(row.contains(expect), "{row} has {expect}");
        }
        assert!(block.contains("source: Table 2"));
    }
    assert!(md.contains("- What-if projection: index 0.547 → 0.595 (+0.048); rank #2 → #2"));
    assert!(md.contains("- Peer to learn from: Guizhou Province"));
    assert_tables_consistent(&md);
}

const PAYLOAD: &str = "<script>alert(1)</script> \" onmouseover=\"alert(2)\" ' &amp; | *b* _i_ [x](javascript:alert(3)) # \u{1}";

#[test]
fn injected_text_is_escaped_in_html() {
    let input = inject(&fixture(), PAYLOAD);
    assert!(input.platforms[0].ratings[0]
        .as_ref()
        .unwrap()
        .printed
        .contains("<script>"));
    let html = render_html(&input);
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "raw <script in HTML"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&amp;amp;"), "& of &amp; is escaped");
    assert!(html.contains("&quot; onmouseover=&quot;"));
    assert!(!html.contains('\u{1}'));
    let doc = parse(&html);
    let root = doc.root_element();
    assert!(root
        .descendants()
        .all(|n| !n.is_element() || n.tag_name().name() != "script"));
    for n in root.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            assert!(
                !a.name().starts_with("on"),
                "injected attribute {}",
                a.name()
            );
        }
    }
    // The text survives intact as text.
    let title = elements(root, XHTML, "h1")[0];
    assert_eq!(
        text_of(title),
        format!(
            "{} {}",
            fixture().title,
            PAYLOAD.replace('\u{1}', "\u{FFFD}")
        )
    );
    // Structure is unchanged: same charts and counts.
    let svgs = elements(root, SVG, "svg");
    assert_eq!(svgs.len(), 2);
    assert_eq!(with_class(root, SVG, "polygon", "series").len(), 2);
    assert_eq!(with_class(root, SVG, "rect", "bar").len(), 28 - GAPS);
    assert_eq!(with_class(root, SVG, "g", "nodata").len(), GAPS);
    for region in with_class(root, XHTML, "article", "diagnosis-region") {
        assert_eq!(with_class(region, XHTML, "tr", "dilemma").len(), 6);
    }
    assert_eq!(with_class(root, XHTML, "li", "rec").len(), 12);
}

#[test]
fn injected_text_is_escaped_in_markdown() {
    let input = inject(&fixture(), PAYLOAD);
    let md = render_markdown(&input);
    assert!(
        !md.to_ascii_lowercase().contains("<script"),
        "raw <script in Markdown"
    );
    assert!(!md.contains('<'), "no raw HTML at all");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(md.contains("&amp;amp;"));
    assert!(md.contains("\\| \\*b\\* \\_i\\_ \\[x\\](javascript:alert(3)) \\#"));
    assert!(!md.contains("| *b*"));
    assert_tables_consistent(&md);
    // Statuses are not input text and stay readable.
    assert!(md.contains("| **PRESENT** |"));
}

#[test]
fn charts_render_standalone_and_handle_missing_data() {
    let mut input = fixture();
    // A third region without any TOE data and one with a missing dimension.
    let mut empty = input.regions[1].clone();
    empty.name = "Chongqing".into();
    empty.dimensions.iter_mut().for_each(|d| d.score = None);
    input.regions[0].dimensions[1].score = None;
    input.regions.push(empty);
    let radar = radar_svg(&input.regions);
    let doc = Document::parse(&radar).expect("radar SVG is well-formed");
    let root = doc.root_element();
    assert_eq!(root.tag_name().namespace(), Some(SVG));
    assert_eq!(with_class(root, SVG, "polygon", "series").len(), 2);
    let legend = text_of(with_class(root, SVG, "g", "legend")[0]);
    assert!(legend.contains("Chongqing") && legend.contains("no TOE data"));
    assert!(legend.contains("no data: Organization"));

    // Store chart with no platforms, and with ratings shorter than the store list.
    let empty = store_chart_svg(&input.stores, &[]);
    let doc = Document::parse(&empty).unwrap();
    assert!(text_of(doc.root_element()).contains("No platform ratings"));
    let mut short = input.platforms[0].clone();
    short.ratings.truncate(2);
    let chart = store_chart_svg(&input.stores, &[short]);
    let doc = Document::parse(&chart).unwrap();
    assert_eq!(with_class(doc.root_element(), SVG, "rect", "bar").len(), 2);
    assert_eq!(with_class(doc.root_element(), SVG, "g", "nodata").len(), 2);

    // An empty report still renders well-formed output.
    let html = render_html(&ReportInput::default());
    parse(&html);
    assert!(render_markdown(&ReportInput::default()).contains("No regions."));
}
