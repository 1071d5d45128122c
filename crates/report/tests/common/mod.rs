//! A realistic report input: the two provinces of Pan (2023), the seven apps of
//! its Table 2 with their per-store ratings ("/" gaps included), data-quality
//! findings from Table 3, the six dilemmas of §3 and the six paths of §4.
//!
//! Scores, ranks and statuses are plausible fixture values: this crate only
//! renders, it does not compute them.

#![allow(dead_code)]

use govlens_report::*;

pub const STORES: [&str; 4] = ["Huawei AppGallery", "vivo", "OPPO", "Apple App Store"];

pub const APPS: [&str; 7] = [
    "\"Duocaibao\" App",
    "\"Gui Ren Service\" App",
    "\"Guizhou Tong\" App",
    "\"Tianfu Tongban\" App",
    "\"Tianfu Citizen Cloud\" App",
    "Sichuan earthquake early warning",
    "Emergency earthquake information",
];

pub const PROVINCES: [&str; 2] = ["Guizhou Province", "Sichuan Province"];

/// Number of ratings printed as "/" in Table 2.
pub const GAPS: usize = 5;

fn s(v: &str) -> String {
    v.to_string()
}

fn dims(t: f64, o: f64, e: f64) -> Vec<DimensionScore> {
    vec![
        DimensionScore {
            code: s("technology"),
            label: s("Technology"),
            score: Some(t),
        },
        DimensionScore {
            code: s("organization"),
            label: s("Organization"),
            score: Some(o),
        },
        DimensionScore {
            code: s("environment"),
            label: s("Environment"),
            score: Some(e),
        },
    ]
}

fn rating(v: &str) -> Option<RatingCell> {
    if v == "/" {
        None
    } else {
        Some(RatingCell {
            value: v.parse().unwrap(),
            printed: format!("{v}points"),
        })
    }
}

fn platform(
    name: &str,
    code: &str,
    region: &str,
    r: [&str; 4],
    avg: &str,
    score: f64,
    rank: u32,
) -> PlatformRow {
    PlatformRow {
        name: s(name),
        code: s(code),
        region: s(region),
        ratings: r.iter().map(|v| rating(v)).collect(),
        average_printed: Some(format!("{avg}points")),
        score: Some(score),
        rank: Some(rank),
    }
}

fn ev(fact: &str, value: Option<&str>, comparison: Option<&str>, source: &str) -> EvidenceRow {
    EvidenceRow {
        fact: s(fact),
        value: value.map(s),
        comparison: comparison.map(s),
        source: s(source),
    }
}

const DILEMMAS: [(&str, &str, &str); 6] = [
    (
        "T1",
        "Poor technical support and weak infrastructure",
        "3.1.1",
    ),
    (
        "T2",
        "Imperfect platform functions and weak information integration",
        "3.1.2",
    ),
    (
        "O1",
        "Insufficient coordination among entities; asymmetric information between departments",
        "3.2.1",
    ),
    (
        "O2",
        "Outdated concept of digital governance; lack of technical talent",
        "3.2.2",
    ),
    (
        "E1",
        "Uneven economic development and a large digital divide",
        "3.3.1",
    ),
    (
        "E2",
        "Information technology risks to personal information security",
        "3.3.2",
    ),
];

pub fn statuses(region: usize) -> [DilemmaStatus; 6] {
    use DilemmaStatus::*;
    if region == 0 {
        [
            Absent,
            Present,
            Present,
            InsufficientData,
            Present,
            InsufficientData,
        ]
    } else {
        [Present, Present, InsufficientData, Present, Present, Absent]
    }
}

fn dilemmas(region: usize) -> Vec<DilemmaRow> {
    let st = statuses(region);
    let (lowest, peer_best) = if region == 0 {
        ("1.0 (\"Guizhou Tong\" App, Huawei AppGallery)", "4.5")
    } else {
        ("1.4 (\"Tianfu Tongban\" App, OPPO)", "4.7")
    };
    DILEMMAS
        .iter()
        .zip(st)
        .enumerate()
        .map(|(i, ((code, title, section), status))| {
            let evidence = match i {
                0 => vec![
                    ev(
                        "Technology dimension score",
                        Some(if region == 0 { "0.684" } else { "0.521" }),
                        Some("threshold 0.600"),
                        "scoring model toe-default v3",
                    ),
                    ev(
                        "Lowest store rating",
                        Some(lowest),
                        Some("< 2.0 counts as weak"),
                        "Table 2",
                    ),
                ],
                1 => vec![
                    ev(
                        "Apps without an Apple App Store rating",
                        Some(if region == 0 { "2 of 3" } else { "2 of 4" }),
                        Some("store coverage below 75 %"),
                        "Table 2",
                    ),
                    ev(
                        "Best-rated app average",
                        Some(if region == 0 { "4.7" } else { "3.6" }),
                        Some(&format!("peer best {peer_best}")),
                        "Table 2",
                    ),
                ],
                2 => vec![ev(
                    "Data-sharing indicators",
                    None,
                    Some("needs at least 2 indicators"),
                    "indicator catalogue",
                )],
                3 => vec![ev(
                    "Digital-talent indicator",
                    None,
                    None,
                    "indicator catalogue",
                )],
                4 => vec![
                    ev(
                        "Environment dimension score",
                        Some(if region == 0 { "0.583" } else { "0.634" }),
                        Some("threshold 0.650"),
                        "scoring model toe-default v3",
                    ),
                    ev(
                        "Users as a share of population",
                        Some(if region == 0 { "41.3 %" } else { "n/a" }),
                        Some("full coverage is the goal"),
                        "§2.2",
                    ),
                ],
                _ => vec![ev(
                    "Security incidents reported",
                    Some("0"),
                    Some("any > 0 counts"),
                    "§3.3.2",
                )],
            };
            DilemmaRow {
                code: s(code),
                title: s(title),
                section: s(section),
                status,
                severity: match status {
                    DilemmaStatus::Present => Some(s(if i % 2 == 0 { "high" } else { "medium" })),
                    _ => None,
                },
                evidence,
            }
        })
        .collect()
}

const PATHS: [(&str, &str, &str); 6] = [
    (
        "P1",
        "Cultivate big data technology capabilities, optimise new infrastructure",
        "4.1.1",
    ),
    (
        "P2",
        "Highlight platform service functions, expand room for public participation",
        "4.1.2",
    ),
    (
        "P3",
        "Optimise relations between the main bodies, promote departmental data sharing",
        "4.2.1",
    ),
    (
        "P4",
        "Cultivate the concept of digital governance, strengthen team building",
        "4.2.2",
    ),
    (
        "P5",
        "Develop the economy according to local conditions, increase financial support",
        "4.3.1",
    ),
    (
        "P6",
        "Construct a data security system, enhance digital information security",
        "4.3.2",
    ),
];

fn recommendations(region: usize) -> Vec<RecommendationRow> {
    // Order of the six paths for each region (best first).
    let order: [usize; 6] = if region == 0 {
        [1, 2, 4, 0, 5, 3]
    } else {
        [0, 1, 3, 4, 2, 5]
    };
    let (before, rank_before, peer) = if region == 0 {
        (0.612, 1, "Sichuan Province")
    } else {
        (0.547, 2, "Guizhou Province")
    };
    order
        .iter()
        .enumerate()
        .map(|(k, &p)| {
            let (code, title, section) = PATHS[p];
            let gain = 0.048 - 0.007 * k as f64;
            let after = before + gain;
            let rank_after = if region == 1 && after > 0.612 { 1 } else { rank_before };
            let dim = p / 2;
            let dim_labels = ["Technology", "Organization", "Environment"];
            let dim_before = [[0.684, 0.571, 0.583], [0.521, 0.488, 0.634]][region];
            RecommendationRow {
                rank: k as u32 + 1,
                code: s(code),
                title: s(title),
                section: s(section),
                priority: Some(0.91 - 0.11 * k as f64),
                importance: Some(0.82 - 0.05 * k as f64),
                performance: Some(0.35 + 0.07 * k as f64),
                quadrant: Some(s(if k < 3 { "concentrate here" } else { "keep up the good work" })),
                rationale: format!(
                    "Addresses dilemma {} found in the diagnosis; the {} dimension has the largest gap to the peer.",
                    DILEMMAS[p].0,
                    dim_labels[dim].to_lowercase()
                ),
                peer: if k < 4 { Some(s(peer)) } else { None },
                actions: vec![
                    format!("Publish a {}-month work plan for {}", 6 + k, code),
                    s("Add the missing store listings (Apple App Store) and answer low-star reviews"),
                    s("Report progress in the provincial digital-government dashboard"),
                ],
                actors: vec![
                    s(if region == 0 { "Guizhou Big Data Development Administration" } else { "Sichuan Big Data Centre" }),
                    s("Provincial Department of Emergency Management"),
                ],
                what_if: Some(WhatIf {
                    score_before: Some(before),
                    score_after: Some(after),
                    rank_before: Some(rank_before),
                    rank_after: Some(rank_after),
                    dimensions: (0..3)
                        .map(|d| DimensionChange {
                            label: s(dim_labels[d]),
                            before: Some(dim_before[d]),
                            after: Some(dim_before[d] + if d == dim { gain * 3.0 } else { 0.0 }),
                        })
                        .collect(),
                }),
            }
        })
        .collect()
}

pub fn fixture() -> ReportInput {
    let gz = PROVINCES[0];
    let sc = PROVINCES[1];
    ReportInput {
        title: s("Digital governance platforms: Guizhou and Sichuan"),
        subtitle: s("TOE assessment after Pan (2023), Tables 2 and 3"),
        generated_at: s("2024-05-01T08:00:00Z"),
        data_revision: 42,
        model: s("toe-default v3"),
        rulebook: s("pan2023 v1"),
        regions: vec![
            RegionSummary {
                code: s("CN-GZ"),
                name: s(gz),
                score: Some(0.612),
                rank: Some(1),
                band: Some(s("leading")),
                dimensions: dims(0.684, 0.571, 0.583),
                population: Some(s("38.56 million")),
            },
            RegionSummary {
                code: s("CN-SC"),
                name: s(sc),
                score: Some(0.547),
                rank: Some(2),
                band: Some(s("developing")),
                dimensions: dims(0.521, 0.488, 0.634),
                population: Some(s("83.74 million")),
            },
        ],
        stores: STORES.iter().map(|v| s(v)).collect(),
        platforms: vec![
            platform(
                APPS[0],
                "gz-duocaibao",
                gz,
                ["4.5", "4.7", "4.9", "4.6"],
                "4.7",
                0.912,
                1,
            ),
            platform(
                APPS[1],
                "gz-gui-ren-service",
                gz,
                ["4.0", "3.7", "1.7", "/"],
                "3.1",
                0.554,
                3,
            ),
            platform(
                APPS[2],
                "gz-guizhou-tong",
                gz,
                ["1.0", "2.8", "3.9", "/"],
                "2.6",
                0.433,
                6,
            ),
            platform(
                APPS[3],
                "sc-tianfu-tongban",
                sc,
                ["2.4", "1.7", "1.4", "4.1"],
                "2.4",
                0.451,
                5,
            ),
            platform(
                APPS[4],
                "sc-tianfu-citizen-cloud",
                sc,
                ["1.9", "4.5", "3.9", "4.0"],
                "3.6",
                0.701,
                2,
            ),
            platform(
                APPS[5],
                "sc-earthquake-warning",
                sc,
                ["2.3", "3.4", "2.8", "/"],
                "2.8",
                0.498,
                4,
            ),
            platform(
                APPS[6],
                "sc-emergency-quake-info",
                sc,
                ["/", "2.5", "2.8", "/"],
                "2.7",
                0.402,
                7,
            ),
        ],
        quality: vec![
            QualityRow {
                severity: s("error"),
                kind: s("sum-mismatch"),
                subject: s("\"Gui Ren Service\" App downloads (Table 3)"),
                message: s("Printed sum is smaller than its first addend"),
                reported: Some(s("662thousand")),
                recomputed: Some(s("3.032 million")),
            },
            QualityRow {
                severity: s("error"),
                kind: s("sum-mismatch"),
                subject: s("\"Guizhou Tong\" App downloads (Table 3)"),
                message: s("Printed sum does not equal the sum of the store figures"),
                reported: Some(s("10113million")),
                recomputed: Some(s("3563.007 million")),
            },
            QualityRow {
                severity: s("warning"),
                kind: s("sum-mismatch"),
                subject: s("Emergency earthquake information downloads (Table 3)"),
                message: s("Printed sum is smaller than the OPPO figure alone"),
                reported: Some(s("64thousand")),
                recomputed: Some(s("364 thousand")),
            },
            QualityRow {
                severity: s("info"),
                kind: s("rounding"),
                subject: s("Emergency earthquake information average (Table 2)"),
                message: s("Mean 2.65 printed as 2.7 (round half up)"),
                reported: Some(s("2.7points")),
                recomputed: Some(s("2.65")),
            },
        ],
        diagnoses: vec![
            RegionDiagnosis {
                region: s(gz),
                code: s("CN-GZ"),
                dilemmas: dilemmas(0),
                platform_findings: vec![
                    FindingRow {
                        subject: s(APPS[2]),
                        kind: s("low-rating"),
                        severity: s("warning"),
                        message: s("Huawei AppGallery rating 1.0 is the lowest in the data set"),
                    },
                    FindingRow {
                        subject: s(APPS[1]),
                        kind: s("store-gap"),
                        severity: s("info"),
                        message: s("Not rated in the Apple App Store"),
                    },
                ],
            },
            RegionDiagnosis {
                region: s(sc),
                code: s("CN-SC"),
                dilemmas: dilemmas(1),
                platform_findings: vec![
                    FindingRow {
                        subject: s(APPS[6]),
                        kind: s("store-gap"),
                        severity: s("warning"),
                        message: s("Rated in only 2 of 4 stores"),
                    },
                    FindingRow {
                        subject: s(APPS[3]),
                        kind: s("rating-spread"),
                        severity: s("info"),
                        message: s("Ratings range from 1.4 (OPPO) to 4.1 (Apple App Store)"),
                    },
                ],
            },
        ],
        recommendations: vec![
            RegionRecommendations {
                region: s(gz),
                code: s("CN-GZ"),
                items: recommendations(0),
            },
            RegionRecommendations {
                region: s(sc),
                code: s("CN-SC"),
                items: recommendations(1),
            },
        ],
    }
}

/// Appends `payload` to every text field of `input` (every string anywhere in
/// it except the status enums), by walking its JSON form.
pub fn inject(input: &ReportInput, payload: &str) -> ReportInput {
    fn walk(v: &mut serde_json::Value, payload: &str) {
        match v {
            serde_json::Value::String(t) => {
                t.push(' ');
                t.push_str(payload);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, payload)),
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k != "status" {
                        walk(v, payload);
                    }
                }
            }
            _ => {}
        }
    }
    let mut v = serde_json::to_value(input).unwrap();
    walk(&mut v, payload);
    serde_json::from_value(v).unwrap()
}
