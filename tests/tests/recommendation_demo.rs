//! `govlens demo` as a user runs it: the real binary, built with the cargo that builds
//! these tests, starts the embedded suite in a scratch directory, loads the paper's
//! dataset and writes the Sichuan-Guizhou comparative report. It exits 0, prints where
//! the report is, and the report names Table 2's seven apps and both provinces, shows
//! the six dilemmas per province with status and evidence, and the ranked optimisation
//! paths with what-if projections.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use govlens_tests::suite::*;

const DILEMMAS: [&str; 6] = ["3.1.1", "3.1.2", "3.2.1", "3.2.2", "3.3.1", "3.3.2"];
const STATUSES: [&str; 3] = ["present", "absent", "insufficient data"];

/// Runs `cmd` to completion within `limit`, returning (status, stdout, stderr).
fn run(mut cmd: Command, limit: Duration) -> (std::process::ExitStatus, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn govlens");
    // Drain both pipes while waiting, so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "govlens demo did not finish within {limit:?}; stderr:\n{}",
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

/// The two numbers of "What-if projection: index 0.598 → 0.653 ...".
fn projection(text: &str) -> Option<(f64, f64)> {
    let rest = text.strip_prefix("What-if projection: index ")?;
    let (before, rest) = rest.split_once(" → ")?;
    let after = rest.split_whitespace().next()?;
    Some((before.parse().ok()?, after.parse().ok()?))
}

#[test]
fn govlens_demo_writes_the_comparative_report() {
    let binary = workspace_binary("govlens-cli", "govlens");
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("report");
    let mut cmd = Command::new(&binary);
    cmd.arg("demo").arg("--out").arg(&out);
    cmd.current_dir(scratch.path());
    // Nothing from the developer's environment configures the demo.
    for (key, _) in std::env::vars() {
        if key.starts_with("GOVLENS_") || key == "DATABASE_URL" || key == "REDIS_URL" {
            cmd.env_remove(key);
        }
    }
    let (status, stdout, stderr) = run(cmd, Duration::from_secs(180));
    assert!(
        status.success(),
        "govlens demo failed ({status}):\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    // It says where the report is.
    let html_path = out.join("report.html");
    let md_path = out.join("report.md");
    for path in [&html_path, &md_path] {
        assert!(path.is_file(), "{} was not written", path.display());
        let shown = std::fs::canonicalize(path).unwrap();
        assert!(
            stdout.contains(&shown.display().to_string()),
            "stdout does not name {}:\n{stdout}",
            shown.display()
        );
    }
    assert!(
        stdout.contains("loaded the paper's dataset"),
        "stdout:\n{stdout}"
    );

    let html = std::fs::read_to_string(&html_path).unwrap();
    let md = std::fs::read_to_string(&md_path).unwrap();
    check_report(&html, &md);
}

fn check_report(html: &str, md: &str) {
    let view = ReportView::read(html);
    let apps = paper_app_names();
    let provinces = [paper_region_name("cn-sc"), paper_region_name("cn-gz")];
    for name in apps.iter().chain(&provinces) {
        assert!(view.text.contains(name.as_str()), "the HTML omits {name}");
        assert!(md.contains(name.as_str()), "the Markdown omits {name}");
    }
    assert_eq!(view.svgs, 2, "radar and store chart");

    // Six dilemmas per province, each with a status; a present one with the evidence
    // that holds, each item citing its source.
    assert_eq!(view.diagnoses.len(), 2, "two provinces diagnosed");
    for (block, province) in view.diagnoses.iter().zip(&provinces) {
        assert!(block.heading.contains(province.as_str()), "{block:?}");
        let codes: Vec<&str> = block.rows.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, DILEMMAS, "{province}: the six dilemmas");
        let mut present = 0;
        for row in &block.rows {
            let status = STATUSES
                .iter()
                .find(|s| row.status.ends_with(*s))
                .unwrap_or_else(|| panic!("{province} {}: status {:?}", row.code, row.status));
            if *status == "present" {
                present += 1;
                assert!(
                    row.evidence.iter().any(|e| e.contains("holds")),
                    "{province} {}: present without evidence that holds: {:?}",
                    row.code,
                    row.evidence
                );
            }
            for e in &row.evidence {
                assert!(e.contains("source:"), "{province} {}: {e:?}", row.code);
            }
        }
        assert!(present >= 3, "{province}: {present} dilemmas present");
    }

    // Ranked optimisation paths with what-if projections that move the index.
    assert_eq!(view.recommendations.len(), 2, "two provinces' paths");
    for (block, province) in view.recommendations.iter().zip(&provinces) {
        assert!(block.heading.contains(province.as_str()), "{block:?}");
        assert!(!block.items.is_empty(), "{province}: no paths");
        let ranks: Vec<String> = block.items.iter().map(|i| i.rank.clone()).collect();
        let expected: Vec<String> = (1..=block.items.len()).map(|r| format!("#{r}")).collect();
        assert_eq!(ranks, expected, "{province}: ranks");
        let moved = block
            .items
            .iter()
            .filter_map(|i| projection(&i.what_if))
            .filter(|(before, after)| before != after)
            .count();
        assert!(
            moved >= 1,
            "{province}: no what-if projection moves the index: {:?}",
            block.items
        );
    }
    assert!(md.contains("What-if projection: index"));
    for code in DILEMMAS {
        assert!(md.contains(code), "the Markdown omits {code}");
    }
}
