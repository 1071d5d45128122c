//! GenerateReport on the paper's data: the Sichuan-Guizhou comparative report in HTML
//! (well-formed XML, two charts, Table 2's seven apps, six dilemma rows per province
//! with their status, the ranked paths with their what-if projections, all agreeing
//! with Diagnose and Recommend) and in Markdown; the service's HTML rendered in headless
//! Chromium to `<workspace>/artifacts/report-paper.png`.
//!
//! Chromium: `/usr/bin/chromium` or `$GOVLENS_CHROMIUM`; without it the screenshot test
//! fails under CI and is skipped loudly otherwise.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use govlens_tests::suite::*;
use govlens_tests::*;
use tonic::Code;

on_both_backends!(
    comparative_report_shows_the_diagnoses_and_ranked_paths,
    report_requests_are_checked,
);

const REGIONS: [&str; 2] = ["cn-sc", "cn-gz"];
const DILEMMAS: [&str; 6] = ["3.1.1", "3.1.2", "3.2.1", "3.2.2", "3.3.1", "3.3.2"];

/// The status text a report shows for a Diagnose status.
fn status_label(status: rpb::DilemmaStatus) -> &'static str {
    match status {
        rpb::DilemmaStatus::Present => "present",
        rpb::DilemmaStatus::Absent => "absent",
        _ => "insufficient data",
    }
}

/// Table 2's apps as the data service holds them (name by code).
async fn table2_apps(data: &mut Client) -> Vec<pb::Platform> {
    let apps: Vec<pb::Platform> = data
        .list_platforms(pb::ListPlatformsRequest {
            page_size: 1000,
            kind: pb::PlatformKind::GovernmentApp as i32,
            ..Default::default()
        })
        .await
        .expect("ListPlatforms")
        .into_inner()
        .platforms
        .into_iter()
        .filter(|p| p.source.as_ref().is_some_and(|s| s.table == "Table 2"))
        .collect();
    assert_eq!(apps.len(), 7, "Table 2 lists seven apps: {apps:?}");
    apps
}

async fn region_name(data: &mut Client, code: &str) -> String {
    data.get_region(pb::GetRegionRequest { code: code.into() })
        .await
        .expect("GetRegion")
        .into_inner()
        .region
        .expect("region")
        .name
}

async fn comparative_report_shows_the_diagnoses_and_ranked_paths(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    suite.import_paper().await;
    let revision = suite.base.data.revision().await;
    let mut rec = suite.recommendation();
    let mut data = suite.data();
    let apps = table2_apps(&mut data).await;
    let mut provinces = Vec::new();
    for code in REGIONS {
        provinces.push(region_name(&mut data, code).await);
    }

    let html = generate_report(&mut rec, &REGIONS, rpb::ReportFormat::Html)
        .await
        .expect("GenerateReport HTML");
    assert_eq!(html.media_type, "text/html; charset=utf-8");
    assert_eq!(html.data_revision, revision);
    let view = ReportView::read(&html.content);

    // Two charts: the TOE radar and the store-rating chart.
    assert_eq!(view.svgs, 2, "charts in the report");
    // Both provinces, in the title and throughout.
    for name in &provinces {
        assert!(view.title.contains(name.as_str()), "title {:?}", view.title);
    }
    // Table 2's seven apps, each a row of the platform table.
    for app in &apps {
        assert!(
            view.text.contains(&app.name),
            "the report omits {}",
            app.name
        );
    }
    let mut rows = view.platform_rows.clone();
    rows.sort();
    let mut names: Vec<String> = apps.iter().map(|a| a.name.clone()).collect();
    names.sort();
    assert_eq!(rows, names, "the platform table's rows");

    // One diagnosis block per province, in request order: the six dilemmas with the
    // status Diagnose gives, and evidence wherever a dilemma has conditions.
    assert_eq!(view.diagnoses.len(), 2);
    assert_eq!(view.recommendations.len(), 2);
    for (i, code) in REGIONS.iter().enumerate() {
        let d = diagnose(&mut rec, code, None).await.unwrap();
        let block = &view.diagnoses[i];
        assert!(
            block.heading.contains(&provinces[i]) && block.heading.contains(code),
            "diagnosis heading {:?}",
            block.heading
        );
        let codes: Vec<&str> = block.rows.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, DILEMMAS, "{code}: six dilemma rows");
        for (row, finding) in block.rows.iter().zip(&d.dilemmas) {
            let label = status_label(status_of(finding));
            assert!(
                row.status.ends_with(label),
                "{code} {}: status {:?}, Diagnose says {label}",
                row.code,
                row.status
            );
            assert_eq!(
                row.evidence.len(),
                finding.evidence.len(),
                "{code} {}",
                row.code
            );
            for (item, e) in row.evidence.iter().zip(&finding.evidence) {
                assert!(item.starts_with(&e.fact), "{item:?} vs {}", e.fact);
                assert!(item.contains("source:"), "{item:?}");
            }
        }
        // Present platform findings are listed under their province.
        let present = d
            .platform_findings
            .iter()
            .filter(|p| {
                p.finding
                    .as_ref()
                    .is_some_and(|f| status_of(f) == rpb::DilemmaStatus::Present)
            })
            .count();
        assert_eq!(block.platform_findings.len(), present, "{code}");

        // The ranked paths, as Recommend ranks them, each with its what-if.
        let recs = recommend(&mut rec, code, None)
            .await
            .unwrap()
            .recommendations;
        let block = &view.recommendations[i];
        assert!(block.heading.contains(&provinces[i]), "{:?}", block.heading);
        assert_eq!(block.items.len(), recs.len(), "{code}: recommendations");
        for (item, r) in block.items.iter().zip(&recs) {
            assert_eq!(item.rank, format!("#{}", r.rank));
            assert_eq!(item.title, r.title);
            match &r.what_if {
                Some(w) => {
                    let expected = format!(
                        "What-if projection: index {:.3} → {:.3}",
                        w.score_before.unwrap(),
                        w.score_after.unwrap()
                    );
                    assert!(
                        item.what_if.starts_with(&expected),
                        "{code} {}: {:?}, expected {expected:?}",
                        r.code,
                        item.what_if
                    );
                }
                None => assert_eq!(item.what_if, "No what-if projection."),
            }
        }
    }

    // The Markdown version names the same apps and provinces, dilemmas and paths.
    let md = generate_report(&mut rec, &REGIONS, rpb::ReportFormat::Markdown)
        .await
        .expect("GenerateReport Markdown");
    assert_eq!(md.media_type, "text/markdown; charset=utf-8");
    assert_eq!(md.data_revision, revision);
    for name in apps.iter().map(|a| &a.name).chain(&provinces) {
        assert!(md.content.contains(name.as_str()), "Markdown omits {name}");
    }
    for code in DILEMMAS {
        assert!(md.content.contains(code), "Markdown omits dilemma {code}");
    }
    assert!(md.content.contains("What-if projection: index"));

    // Deterministic at one revision: the same bytes again.
    let again = generate_report(&mut rec, &REGIONS, rpb::ReportFormat::Html)
        .await
        .unwrap();
    assert_eq!(again.content, html.content);

    if db.backend() == Backend::Sqlite {
        let artifacts = workspace_root().join("artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        std::fs::write(artifacts.join("report-paper.html"), &html.content).unwrap();
        std::fs::write(artifacts.join("report-paper.md"), &md.content).unwrap();
    }
    suite.stop().await;
}

async fn report_requests_are_checked(db: TestDb) {
    let suite = RecommendationSuite::start(&db).await;
    suite.import_paper().await;
    let mut rec = suite.recommendation();
    expect_invalid(
        generate_report(&mut rec, &[], rpb::ReportFormat::Html).await,
        "region_codes",
    );
    expect_invalid(
        generate_report(&mut rec, &["cn-sc", ""], rpb::ReportFormat::Html).await,
        "region_codes",
    );
    let status = expect_code(
        generate_report(&mut rec, &["cn-sc", "xx-nowhere"], rpb::ReportFormat::Html).await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("xx-nowhere"), "{status:?}");
    let unknown_format = rec
        .generate_report(rpb::GenerateReportRequest {
            region_codes: vec!["cn-sc".into()],
            scope: None,
            format: 99,
        })
        .await;
    expect_invalid(unknown_format, "format");
    // A one-region report is fine too.
    let one = generate_report(&mut rec, &["cn-gz"], rpb::ReportFormat::Html)
        .await
        .unwrap();
    let view = ReportView::read(&one.content);
    assert_eq!(view.diagnoses.len(), 1);
    suite.stop().await;
}

// ---- the screenshot ----

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2400;

fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("GOVLENS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.is_file().then_some(p)
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes[..8] == [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A],
        "not a PNG"
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Screenshots `html` with headless Chromium (the flags of
/// crates/report/tests/screenshot.rs) and returns the PNG's bytes.
fn screenshot(bin: &std::path::Path, html: &str) -> Vec<u8> {
    let work = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let html_path = work.path().join("report-paper.html");
    let png_path = work.path().join("report-paper.png");
    std::fs::write(&html_path, html).unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("file://{}", html_path.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    // Headless Chromium normally exits within seconds; never hang the suite.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    assert!(
        status.success() && png_path.is_file(),
        "chromium failed ({status}); stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&png_path).unwrap()
}

/// The service's report, not a fixture, rendered by a browser. Runs on SQLite only:
/// the page is the same on both backends, and one test owns the artifact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else {
        if under_ci() {
            panic!(
                "chromium is not installed (looked for /usr/bin/chromium or $GOVLENS_CHROMIUM): \
                 CI must install it (apt-get install -y chromium) to run the report screenshot test"
            );
        }
        shout("");
        shout("**************************************************************************");
        shout("*** SKIPPED paper_report_renders_in_headless_chromium:                 ***");
        shout("*** chromium not found; install it with `apt-get install -y chromium`. ***");
        shout("**************************************************************************");
        return;
    };
    let db = TestDb::create(Backend::Sqlite).await.expect("SQLite");
    let suite = RecommendationSuite::start(&db).await;
    suite.import_paper().await;
    let html = generate_report(
        &mut suite.recommendation(),
        &REGIONS,
        rpb::ReportFormat::Html,
    )
    .await
    .expect("GenerateReport")
    .content;
    suite.stop().await;

    let bytes = tokio::task::spawn_blocking(move || screenshot(&bin, &html))
        .await
        .unwrap();
    let (w, h) = png_size(&bytes);
    assert_eq!((w, h), (WIDTH, HEIGHT), "screenshot has the window size");
    // A blank page of this size compresses to a few KiB; the report is far larger.
    assert!(
        bytes.len() > 100 * 1024,
        "screenshot is suspiciously small: {} bytes",
        bytes.len()
    );
    let artifacts = workspace_root().join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join("report-paper.png");
    std::fs::write(&png, &bytes).unwrap();
    shout(&format!(
        "screenshot: {} ({} bytes)",
        png.display(),
        bytes.len()
    ));
}
