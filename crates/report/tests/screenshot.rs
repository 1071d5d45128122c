//! Renders the fixture report in headless Chromium and keeps the screenshot as
//! `<workspace>/artifacts/report-fixture.png` (next to `report-fixture.html` and
//! `report-fixture.md`).
//!
//! Needs `/usr/bin/chromium` (Debian: `apt-get install -y chromium`), or the
//! binary named by `GOVLENS_CHROMIUM`. Without it the test fails when `CI` is set
//! and is skipped (with a loud message) otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2400;

fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("GOVLENS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.is_file().then_some(p)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/report lies two levels below the workspace")
        .to_path_buf()
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

#[test]
fn fixture_report_renders_in_headless_chromium() {
    let Some(bin) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "chromium is not installed (looked for /usr/bin/chromium or $GOVLENS_CHROMIUM): \
                 CI must install it (apt-get install -y chromium) to run the report screenshot test"
            );
        }
        eprintln!();
        eprintln!("**************************************************************************");
        eprintln!("*** SKIPPED fixture_report_renders_in_headless_chromium:               ***");
        eprintln!("*** chromium not found; install it with `apt-get install -y chromium`. ***");
        eprintln!("**************************************************************************");
        return;
    };

    let input = common::fixture();
    let html = govlens_report::render_html(&input);
    let md = govlens_report::render_markdown(&input);

    let work = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let html_path = work.path().join("report-fixture.html");
    let png_path = work.path().join("report-fixture.png");
    std::fs::write(&html_path, &html).unwrap();

    let mut child = Command::new(&bin)
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

    let bytes = std::fs::read(&png_path).unwrap();
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
    std::fs::copy(&png_path, artifacts.join("report-fixture.png")).unwrap();
    std::fs::write(artifacts.join("report-fixture.html"), &html).unwrap();
    std::fs::write(artifacts.join("report-fixture.md"), &md).unwrap();
    eprintln!(
        "screenshot: {} ({} bytes)",
        artifacts.join("report-fixture.png").display(),
        bytes.len()
    );
}
