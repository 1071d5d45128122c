//! A fact sheet shaped like the paper's two provinces (Pan et al. 2023).
//!
//! FIXTURE VALUES: the indicator values are those of the table "Values on the paper's
//! data" in crates/assess/TOE_MODEL.md; the platform metrics are recomputed from
//! Table 2; the scores were derived by hand from those indicators with the goalposts
//! of models/toe-default.toml (arithmetic means, missing indicators left out). They are
//! the fixture of a pure unit test, not engine output and not data of record.

use super::support::book;
use crate::{
    diagnose, recommend, Basis, Diagnosis, FactSheet, Quadrant, Recommendation, Severity, Status,
    UnitFacts, UnitKind,
};

const T2: &str = "pan2023-toe Table 2";

/// A platform from its Table 2 row: (store, rating) for stores with a rating, and the
/// number of surveyed stores marked "/".
fn app(code: &str, name: &str, region: &str, ratings: &[(&str, f64)], slashes: f64) -> UnitFacts {
    let cite = |store: &str| format!("{T2} / \"{name}\" App / {store}");
    let mut sorted: Vec<(&str, f64)> = ratings.to_vec();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (min_store, min) = sorted[0];
    let (max_store, max) = sorted[sorted.len() - 1];
    let avg = ratings.iter().map(|r| r.1).sum::<f64>() / ratings.len() as f64;
    UnitFacts::new(code, name, UnitKind::Platform, region)
        .with(
            "metric.average_rating",
            avg,
            format!("computed: mean of {} store ratings, {T2}", ratings.len()),
        )
        .with(
            "metric.rating_spread",
            max - min,
            format!("computed: {max_store} {max} - {min_store} {min}, {T2}"),
        )
        .with("metric.rating_min", min, cite(min_store))
        .with("metric.rating_max", max, cite(max_store))
        .with(
            "metric.stores_without_data",
            slashes,
            format!("{T2}: \"/\" cells of \"{name}\""),
        )
}

const HW: &str = "Huawei App Store";
const VIVO: &str = "VIVO App Store";
const OPPO: &str = "OPPO App Store";
const IPH: &str = "iPhone store";

fn region(code: &str, name: &str, facts: &[(&str, f64)]) -> UnitFacts {
    let mut u = UnitFacts::new(code, name, UnitKind::Region, "cn");
    for (k, v) in facts {
        let src = if k.starts_with("score.") {
            "fixture: hand-derived from TOE_MODEL.md values and toe-default.toml goalposts"
        } else {
            "fixture: crates/assess/TOE_MODEL.md, values on the paper's data"
        };
        u = u.with(*k, *v, src);
    }
    u
}

/// The paper-shaped fact sheet.
pub fn paper_sheet() -> FactSheet {
    let sichuan = region(
        "cn-sc",
        "Sichuan",
        &[
            ("indicator.toe.t.avg_rating", 2.8646),
            ("indicator.toe.t.store_coverage", 0.8125),
            ("indicator.toe.t.rating_spread", 1.675),
            ("indicator.toe.t.function_breadth", 6.0),
            ("indicator.toe.t.basic_service_coverage", 1.0 / 3.0),
            ("indicator.toe.o.policy_count", 5.0),
            ("indicator.toe.o.app_fragmentation", 4.0),
            ("indicator.toe.o.policy_org_share", 0.8),
            ("indicator.toe.e.downloads_per_inhabitant", 215.72),
            ("region.app_count", 4.0),
            ("region.basic_services_missing", 2.0),
            ("score.technology.perceived_quality", 0.5729),
            ("score.technology.infrastructure", 0.73875),
            ("score.technology.service_functions", 0.36667),
            ("score.technology", 0.5594),
            ("score.organization.top_level_design", 0.5),
            ("score.organization.coordination", 0.525),
            ("score.organization", 0.5125),
            ("score.environment.digital_divide", 1.0),
            ("score.environment", 1.0),
            ("score.TOE", 0.6906),
        ],
    );
    let guizhou = region(
        "cn-gz",
        "Guizhou",
        &[
            ("indicator.toe.t.avg_rating", 3.4583),
            ("indicator.toe.t.store_coverage", 0.8333),
            ("indicator.toe.t.rating_spread", 1.8667),
            ("indicator.toe.t.function_breadth", 9.0),
            ("indicator.toe.t.basic_service_coverage", 0.0),
            ("indicator.toe.o.policy_count", 4.0),
            ("indicator.toe.o.app_fragmentation", 3.0),
            ("indicator.toe.o.policy_org_share", 0.75),
            ("indicator.toe.e.downloads_per_inhabitant", 112.56),
            ("indicator.toe.e.flagship_user_share", 0.413),
            ("region.app_count", 3.0),
            ("region.basic_services_missing", 3.0),
            ("score.technology.perceived_quality", 0.69167),
            ("score.technology.infrastructure", 0.73),
            ("score.technology.service_functions", 0.3),
            ("score.technology", 0.5739),
            ("score.organization.top_level_design", 0.4),
            ("score.organization.coordination", 0.625),
            ("score.organization", 0.5125),
            ("score.environment.digital_divide", 0.7065),
            ("score.environment", 0.7065),
            ("score.TOE", 0.5976),
        ],
    );
    FactSheet::new(vec![
        sichuan,
        guizhou,
        app(
            "gz-duocaibao",
            "Duocaibao",
            "cn-gz",
            &[(HW, 4.5), (VIVO, 4.7), (OPPO, 4.9), (IPH, 4.6)],
            0.0,
        ),
        app(
            "gz-gui-ren-service",
            "Gui Ren Service",
            "cn-gz",
            &[(HW, 4.0), (VIVO, 3.7), (OPPO, 1.7)],
            1.0,
        ),
        app(
            "gz-guizhou-tong",
            "Guizhou Tong",
            "cn-gz",
            &[(HW, 1.0), (VIVO, 2.8), (OPPO, 3.9)],
            1.0,
        ),
        app(
            "sc-tianfu-tongban",
            "Tianfu Tongban",
            "cn-sc",
            &[(HW, 2.4), (VIVO, 1.7), (OPPO, 1.4), (IPH, 4.1)],
            0.0,
        ),
        app(
            "sc-tianfu-citizen-cloud",
            "Tianfu Citizen Cloud",
            "cn-sc",
            &[(HW, 1.9), (VIVO, 4.5), (OPPO, 3.9), (IPH, 4.0)],
            0.0,
        ),
        app(
            "sc-earthquake-warning",
            "Sichuan earthquake early warning",
            "cn-sc",
            &[(HW, 2.3), (VIVO, 3.4), (OPPO, 2.8)],
            1.0,
        ),
        app(
            "sc-emergency-info",
            "Emergency earthquake information",
            "cn-sc",
            &[(VIVO, 2.5), (OPPO, 2.8)],
            2.0,
        ),
    ])
}

fn statuses(d: &Diagnosis) -> Vec<(&str, Status, Option<Severity>)> {
    d.findings
        .iter()
        .map(|f| (f.code.as_str(), f.status, f.severity))
        .collect()
}

use Severity::{High, Medium};
use Status::{Absent, InsufficientData, Present};

#[test]
fn guizhou_tong_store_gap_is_a_present_platform_finding_naming_both_stores() {
    let sheet = paper_sheet();
    let d = diagnose(&book(), &sheet, "cn-gz").unwrap();
    let f = d
        .platform_finding("gz-guizhou-tong", "3.1.1-store-gap")
        .unwrap();
    assert_eq!(f.status, Present);
    assert_eq!(f.severity, Some(Medium)); // 2.9 points: >= 2.0, < 3.0
    assert_eq!(f.unit.name, "Guizhou Tong");
    let e = &f.evidence[0];
    assert_eq!(e.fact, "metric.rating_spread");
    assert!((e.value.unwrap() - 2.9).abs() < 1e-9);
    assert!(e.fired);
    let ctx: Vec<(&str, f64, &str)> = f
        .context
        .iter()
        .map(|c| {
            (
                c.fact.as_str(),
                c.value.unwrap(),
                c.source.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ctx,
        vec![
            (
                "metric.rating_min",
                1.0,
                "pan2023-toe Table 2 / \"Guizhou Tong\" App / Huawei App Store"
            ),
            (
                "metric.rating_max",
                3.9,
                "pan2023-toe Table 2 / \"Guizhou Tong\" App / OPPO App Store"
            ),
        ]
    );
    assert!(f.explanation.contains("Huawei App Store") && f.explanation.contains("OPPO App Store"));
    // The other Guizhou platforms.
    let p = |code: &str, rule: &str| d.platform_finding(code, rule).unwrap().status;
    assert_eq!(p("gz-duocaibao", "3.1.1-store-gap"), Absent);
    assert_eq!(p("gz-gui-ren-service", "3.1.1-store-gap"), Present); // 4.0 vs 1.7
    assert_eq!(p("gz-guizhou-tong", "3.1.1-store-absence"), Present); // no iPhone rating
    assert_eq!(p("gz-duocaibao", "3.1.1-store-absence"), Absent);
    assert_eq!(p("gz-guizhou-tong", "3.1.2-low-rating"), Present); // 2.57 average
    assert_eq!(p("gz-gui-ren-service", "3.1.2-low-rating"), Absent); // 3.13 average
    assert_eq!(d.platform_findings.len(), 3);
}

#[test]
fn paper_provinces_diagnosis() {
    let b = book();
    let sheet = paper_sheet();
    let sc = diagnose(&b, &sheet, "cn-sc").unwrap();
    assert_eq!(
        statuses(&sc),
        vec![
            ("3.1.1", Present, Some(Medium)),
            ("3.1.2", Present, Some(Medium)),
            ("3.2.1", Present, Some(Medium)),
            ("3.2.2", InsufficientData, None),
            // Sichuan leads on downloads and the environment score, and reports no
            // flagship share: the divide cannot be ruled out.
            ("3.3.1", InsufficientData, None),
            ("3.3.2", InsufficientData, None),
        ]
    );
    let gz = diagnose(&b, &sheet, "cn-gz").unwrap();
    assert_eq!(
        statuses(&gz),
        vec![
            ("3.1.1", Present, Some(Medium)),
            // No basic public service offered at all.
            ("3.1.2", Present, Some(High)),
            ("3.2.1", Present, Some(Medium)),
            ("3.2.2", InsufficientData, None),
            // 41.3% flagship share, and behind Sichuan on uptake.
            ("3.3.1", Present, Some(Medium)),
            ("3.3.2", InsufficientData, None),
        ]
    );
    let fired = |d: &Diagnosis, code: &str| -> Vec<bool> {
        d.finding(code)
            .unwrap()
            .evidence
            .iter()
            .map(|e| e.fired)
            .collect()
    };
    assert_eq!(fired(&sc, "3.1.1"), [true, true, false]);
    assert_eq!(fired(&sc, "3.1.2"), [true, false, true, true, false]);
    assert_eq!(fired(&gz, "3.1.2"), [true, true, false, false, true]);
    assert_eq!(fired(&sc, "3.2.1"), [true, false, true]);
    assert_eq!(fired(&gz, "3.3.1"), [true, true, true]);
    // The coordination gap names Guizhou as the best region, with its value.
    let e = &sc.finding("3.2.1").unwrap().evidence[2];
    let r = e.reference.as_ref().unwrap();
    assert_eq!(
        (r.code.as_str(), r.name.as_str(), r.value),
        ("cn-gz", "Guizhou", 0.625)
    );
    assert!(
        e.detail.contains("vs best Guizhou (cn-gz) = 0.625"),
        "{}",
        e.detail
    );
    // Sichuan platforms with store gaps: Tianfu Tongban (2.7) and Citizen Cloud (2.6).
    let gaps: Vec<&str> = sc
        .platform_findings
        .iter()
        .filter(|p| p.findings[0].status == Present)
        .map(|p| p.platform.name.as_str())
        .collect();
    assert_eq!(gaps, ["Tianfu Citizen Cloud", "Tianfu Tongban"]);
}

fn order(recs: &[Recommendation]) -> Vec<(&str, Basis, Option<Quadrant>)> {
    recs.iter()
        .map(|r| (r.code.as_str(), r.basis, r.quadrant))
        .collect()
}

#[test]
fn paper_provinces_recommendations() {
    use Quadrant::{ConcentrateHere, KeepUpTheGoodWork};
    let b = book();
    let sheet = paper_sheet();
    let sc = diagnose(&b, &sheet, "cn-sc").unwrap();
    let recs = recommend(&b, &sheet, &sc);
    // Priorities (importance 1/3 x gap): 4.1.2 0.211, 4.2.1 0.158, 4.1.1 0.087, 4.3.1 0.
    assert_eq!(
        order(&recs),
        vec![
            ("4.1.2", Basis::Present, Some(ConcentrateHere)),
            ("4.2.1", Basis::Present, Some(KeepUpTheGoodWork)),
            ("4.1.1", Basis::Present, Some(KeepUpTheGoodWork)),
            ("4.3.1", Basis::Present, Some(KeepUpTheGoodWork)),
            ("4.2.2", Basis::InsufficientData, None),
            ("4.3.2", Basis::InsufficientData, None),
        ]
    );
    // Guizhou does best on coordination.
    let r = &recs[1];
    let peer = r.best_peer.as_ref().unwrap();
    assert_eq!((peer.name.as_str(), peer.value), ("Guizhou", 0.625));
    assert_eq!(r.best_peer_ahead, Some(true));
    assert!((r.priority.unwrap() - 0.475 / 3.0).abs() < 1e-9);
    assert!(
        r.rationale.contains(
            "Best peer on score.organization.coordination: Guizhou (cn-gz) = 0.625, ahead"
        ),
        "{}",
        r.rationale
    );
    // 4.1.1 is backed by the region's 3.1.1 and its platforms' store findings.
    let r = recs.iter().find(|r| r.code == "4.1.1").unwrap();
    let on: Vec<(&str, &str)> = r
        .answers
        .iter()
        .map(|l| (l.code.as_str(), l.unit.code.as_str()))
        .collect();
    assert!(on.contains(&("3.1.1", "cn-sc")));
    assert!(on.contains(&("3.1.1-store-gap", "sc-tianfu-tongban")));
    assert!(on.contains(&("3.1.1-store-absence", "sc-emergency-info")));

    let gz = diagnose(&b, &sheet, "cn-gz").unwrap();
    let recs = recommend(&b, &sheet, &gz);
    assert_eq!(
        order(&recs),
        vec![
            ("4.1.2", Basis::Present, Some(ConcentrateHere)),
            ("4.2.1", Basis::Present, Some(KeepUpTheGoodWork)),
            ("4.3.1", Basis::Present, Some(KeepUpTheGoodWork)),
            ("4.1.1", Basis::Present, Some(KeepUpTheGoodWork)),
            ("4.2.2", Basis::Present, None),
            ("4.3.2", Basis::InsufficientData, None),
        ]
    );
    let r = recs.iter().find(|r| r.code == "4.3.1").unwrap();
    assert_eq!(r.best_peer.as_ref().unwrap().name, "Sichuan");
    // What-if: downloads to Sichuan's value; the flagship share is Guizhou's own (only
    // Guizhou reports one), already met.
    let t = &r.targets[0];
    assert_eq!(
        (t.target, t.best_unit.as_ref().unwrap().code.as_str()),
        (Some(215.72), "cn-sc")
    );
    let t = &r.targets[1];
    assert_eq!((t.target, t.already_met), (Some(0.413), Some(true)));
    let r = recs.iter().find(|r| r.code == "4.3.2").unwrap();
    assert_eq!(r.answers[0].code, "3.3.2");
    assert_eq!(r.answers[0].status, Status::InsufficientData);
    // 4.1.2's Concentrate-here quadrant for Guizhou: functions score 0.3 < 0.5.
    let r = &recs[0];
    assert_eq!(r.performance, Some(0.3));
    assert_eq!(r.severity, Some(High));
}
