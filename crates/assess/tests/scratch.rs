mod common;
use govlens_assess::*;
#[test]
fn show() {
    let s = common::paper_snapshot();
    let c = AssessConfig::default();
    for m in metrics::platform_metrics(&s, &c) {
        println!("{} avg={:?} {:?} spread={:?} with={:?} without={:?} dl_without={:?} total={:?} dpi={:?}", m.platform_code, m.average_rating.map(|r| r.to_string()), m.average_rating_printed, m.rating_spread.map(|d| d.to_string()), m.channels_with_data(), m.channels_without_data(), m.downloads_coverage.without_data, m.total_downloads.map(|d| d.to_string()), m.downloads_per_inhabitant);
    }
    for f in quality::findings(&s, &c) {
        println!("\n[{}] {} {}: {}\n  reported={:?} recomputed={:?} ratio={:?} hint={:?} prov={}", f.severity, f.kind, f.subject, f.message, f.reported, f.recomputed, f.ratio, f.hint, f.provenance.len());
    }
    let t = toe::region_indicators(&s, &c);
    for (j, d) in t.indicators.iter().enumerate() {
        for (i, u) in t.units.iter().enumerate() {
            let k = j * t.units.len() + i;
            println!("{} {} = {:?}  | {}", d.code, u, t.values[k], t.provenance[k]);
        }
    }
    for n in &t.notes { println!("NOTE {n}"); }
    let t = toe::platform_indicators(&s, &c);
    for (j, d) in t.indicators.iter().enumerate() {
        for (i, u) in t.units.iter().enumerate() {
            let k = j * t.units.len() + i;
            println!("{} {} = {:?}  | {}", d.code, u, t.values[k], t.provenance[k]);
        }
    }
}
