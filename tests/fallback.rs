//! A GPU lost in the middle of a job (issue 11 §4), through the `test-hooks` failure
//! injection: under `--backend auto` the job finishes on the next backend with the bytes that
//! backend gives alone; with the failing backend named explicitly it fails with a clear
//! message and leaves no file.
//!
//! Which backend fails: CUDA where it is usable (then auto falls to a hardware wgpu adapter,
//! or the CPU), otherwise wgpu, on whatever adapter (lavapipe in CI: the hook lets auto accept
//! a software adapter). With neither, the test is skipped (REQUIRE_GPU_ADAPTER=1 fails it).

use std::path::Path;

use crate::util::{self, splatpress};

/// The sample scene, small, with SH so that k-means runs on the failing backend.
const SCENE: [&str; 7] = ["--count", "3000", "--bands", "2", "--seed", "3", "-i"];

fn compress(dir: &Path, out: &str, extra: &[&str]) -> util::Ran {
    let mut args = vec!["compress", "--sample", out];
    args.extend(SCENE);
    args.push("3");
    args.extend(extra);
    splatpress(dir, args)
}

/// The backend to fail and the one auto should land on, from `devices --json`.
fn plan(dir: &Path) -> Option<(&'static str, &'static str)> {
    let devices = util::Devices::probe(dir);
    if devices.available("cuda") {
        let next = if devices.available("wgpu") {
            "wgpu"
        } else {
            "cpu"
        };
        return Some(("cuda", next));
    }
    if devices.any_adapter() {
        return Some(("wgpu", "cpu"));
    }
    if std::env::var("REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
        panic!(
            "REQUIRE_GPU_ADAPTER=1 but no GPU backend to fail:\n{}",
            devices.text
        );
    }
    util::skip(
        "fallback",
        "no GPU backend (cuda or a wgpu adapter) to fail",
    );
    None
}

#[test]
fn auto_finishes_on_the_next_backend_and_an_explicit_one_fails_cleanly() {
    let dir = util::temp_dir("fallback");
    let Some((failing, next)) = plan(dir.path()) else {
        return;
    };
    // Fail after a handful of calls: past the first uploads, inside the k-means.
    let hook = format!("{failing}:12");

    let ran = compress(
        dir.path(),
        "auto.sog",
        &["--backend", "auto", "--json", "--inject-failure", &hook],
    )
    .success();
    let report: serde_json::Value = serde_json::from_str(&ran.stdout()).unwrap();
    assert_eq!(report["backend"]["chosen"], next, "{}", ran.report());
    let passed = report["backend"]["passed_over"].as_array().unwrap();
    let failed = passed
        .iter()
        .find(|p| p["backend"] == failing)
        .unwrap_or_else(|| panic!("{failing} not in passed_over: {passed:?}"));
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("failed while running") && reason.contains("device lost"),
        "{reason}"
    );

    compress(dir.path(), "alone.sog", &["--backend", next]).success();
    let (auto, alone) = (
        std::fs::read(dir.path().join("auto.sog")).unwrap(),
        std::fs::read(dir.path().join("alone.sog")).unwrap(),
    );
    assert!(
        auto == alone,
        "auto after the failure differs from {next} alone"
    );

    let ran = compress(
        dir.path(),
        "explicit.sog",
        &["--backend", failing, "--inject-failure", &hook],
    );
    assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
    let stderr = ran.stderr();
    assert!(
        stderr.contains("splatpress: error: backend `") && stderr.contains("device lost"),
        "{stderr}"
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("explicit") || n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "a failed job left {left:?}");
}
