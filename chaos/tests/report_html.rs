//! The HTML report: a self-contained page (no script, nothing loaded), rendered by headless
//! Chromium into a screenshot that must show the chart (fault shading, breaker band, series)
//! and the objective table.
//!
//! Needs the Debian package `chromium` (`apt-get install -y chromium`); without it the test
//! fails and says so (CI installs it).

mod verdict_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chaos::report::{DrillOutcome, DrillResult, html, write_html};
use chaos::verdict::evaluate;
use verdict_support::*;

/// A drill with a fault window, failures and slow responses during it, a breaker that
/// opened, and objectives that pass, fail and are inconclusive.
async fn drill() -> DrillResult {
    let plan = plan(
        "faults:\n  - { name: crash, at: 5s, for: 10s, kill: users }\nexpect:\n\
         \x20 - steady_state: { before: { errors: \"< 1%\", latency: \"p(99) < 50ms\" }, after: { errors: \"< 1%\" } }\n\
         \x20 - errors: { during: crash, rate: \"< 5%\" }\n\
         \x20 - rto: { from: crash.end, success: \">= 99%\", window: 1s, hold: 2s, max: 3s }\n\
         \x20 - metric: { sample: 'gateway_breaker_state{upstream=\"users\",route=\"\"}', value: \"== 0\", window: after }\n",
    );
    let recs = records(100, ms(0), secs(30), |_, at| {
        let failing = at >= secs(5) && at < secs(8);
        let slow = at >= secs(5) && at < secs(16);
        (
            if failing { status(503) } else { ok() },
            if slow { ms(180) } else { ms(12) },
        )
    });
    let mut ev = evidence(origin(), recs, &[("crash", secs(5), Some(secs(15)))]);
    ev.metrics.scrapes = (0..60)
        .map(|i| {
            let at = ms(i * 500);
            let v = if at >= ms(5_500) && at < secs(10) {
                1.0
            } else if at >= secs(10) && at < ms(10_500) {
                2.0
            } else {
                0.0
            };
            (at, breaker_scrape(v))
        })
        .collect();
    let verdicts = evaluate(&plan, &ev).await;
    DrillResult::new(&plan, &ev, verdicts, DrillOutcome::Completed)
}

#[tokio::test]
async fn html_is_self_contained_and_lists_every_objective() {
    let r = drill().await;
    let page = html(&r);
    assert!(page.starts_with("<!DOCTYPE html>"));
    for forbidden in ["<script", "<link", "src=", "url(", "@import", "https://"] {
        assert!(
            !page.contains(forbidden),
            "the page must load nothing: found {forbidden}"
        );
    }
    // The only URL is the SVG namespace, which is a name, not a load.
    assert_eq!(page.matches("http://").count(), 1);
    assert!(page.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(
        page.matches("<tr class=\"verdict ").count(),
        r.verdicts.len()
    );
    assert!(page.contains("<tr class=\"verdict fail\">"));
    assert!(page.contains("<tr class=\"verdict pass\">"));
    assert!(page.contains("<tr class=\"verdict inconclusive\">"));
    assert_eq!(page.matches("<rect class=\"fault\"").count(), 1);
    assert!(page.contains("class=\"breaker open\""));
    assert!(page.contains("class=\"breaker half-open\""));
    assert_eq!(page.matches("<polyline class=\"series\"").count(), 3);
    // Text from the scenario is escaped.
    let mut odd = r;
    odd.description = "<b>bold</b> & \"quoted\"".into();
    assert!(html(&odd).contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"));
}

/// `chromium`, or a failure that says how to install it.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        }
    }
    panic!(
        "headless Chromium is needed to render the HTML report: apt-get install -y chromium \
         (add `chromium` to the package list of scripts/test.sh)"
    );
}

/// Screenshots `page` at 1280x900 with headless Chromium.
fn screenshot(page: &Path, png: &Path, profile: &Path) {
    let mut child = Command::new(chromium())
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
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,900")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                use std::io::Read as _;
                let _ = stderr.read_to_string(&mut err);
            }
            assert!(status.success(), "chromium failed ({status}): {err}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish its screenshot in 90s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The decoded screenshot as RGB triples with its size.
fn decode(png: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}

fn near(p: [u8; 3], target: [u8; 3], tolerance: i32) -> bool {
    p.iter()
        .zip(target)
        .all(|(a, b)| (i32::from(*a) - i32::from(b)).abs() <= tolerance)
}

#[tokio::test]
async fn html_renders_a_chart_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let png = dir.path().join("report.png");
    write_html(&page, &drill().await).unwrap();
    screenshot(&page, &png, &dir.path().join("profile"));
    assert!(png.exists(), "no screenshot written");
    let (width, height, pixels) = decode(&png);
    assert_eq!((width, height), (1280, 900));

    let non_white = pixels.iter().filter(|p| p.iter().any(|c| *c < 235)).count();
    let mut distinct = pixels.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        non_white > 20_000,
        "page looks blank: {non_white} non-white pixels"
    );
    assert!(
        distinct.len() > 50,
        "page looks flat: {} colours",
        distinct.len()
    );

    // The breaker band's open stretch (#dc2626), its closed stretches (#16a34a) and the
    // throughput line (#2563eb) are on screen.
    let count = |rgb: [u8; 3]| pixels.iter().filter(|p| near(**p, rgb, 12)).count();
    assert!(
        count([0xdc, 0x26, 0x26]) > 500,
        "no breaker-open band: {}",
        count([0xdc, 0x26, 0x26])
    );
    assert!(count([0x16, 0xa3, 0x4a]) > 1_000, "no breaker-closed band");
    // The series lines are antialiased: count pixels where blue dominates.
    let blue = pixels
        .iter()
        .filter(|p| {
            i32::from(p[2]) > i32::from(p[0]) + 80 && i32::from(p[2]) > i32::from(p[1]) + 40
        })
        .count();
    assert!(blue > 800, "no throughput line: {blue}");
    // The fault window's shading: orange at 14% over white.
    assert!(
        count([0xfe, 0xeb, 0xde]) > 5_000,
        "no fault shading: {}",
        count([0xfe, 0xeb, 0xde])
    );
}
