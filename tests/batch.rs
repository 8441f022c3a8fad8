//! `splatpress batch` and the SageMaker Processing entrypoint end to end: mirrored outputs
//! byte-identical to `compress`, failures isolated and reported, `--resume` checking what it
//! skips, manifests with per-scene options, and errors before any work.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Ran, splatpress, splatpress_bin, temp_dir};

/// Writes the sample scene with `count` splats and `bands` SH bands to `path`.
fn sample(dir: &Path, path: &str, count: usize, bands: u8) -> PathBuf {
    let out = dir.join(path);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    splatpress(
        dir,
        [
            "sample",
            path,
            "--count",
            &count.to_string(),
            "--bands",
            &bands.to_string(),
        ],
    )
    .success();
    out
}

/// A folder of scenes: three PLYs (two in subfolders), a SOG folder, a truncated PLY and a
/// file that is no scene ([`scenes_ok`] lists those that must succeed). Returns the folder.
fn scenes(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    sample(&input, "a.ply", 1500, 0);
    sample(&input, "nested/b.ply", 2500, 3);
    let c = sample(&input, "nested/deeper/c.ply", 1200, 1);
    std::fs::create_dir_all(input.join("sog")).unwrap();
    splatpress(
        &input,
        [
            "compress",
            "--sample",
            "sog/meta.json",
            "--count",
            "900",
            "-q",
        ],
    )
    .success();
    let bytes = std::fs::read(&c).unwrap();
    std::fs::write(input.join("nested/broken.ply"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(input.join("README.txt"), "not a scene").unwrap();
    input
}

fn summary(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// `compress` of one scene with `args`, as the byte reference for the batch's output.
fn compressed_alone(dir: &Path, input: &Path, args: &[&str]) -> Vec<u8> {
    let out = dir.join(format!(
        "alone-{}.sog",
        input.to_string_lossy().replace(['/', '.'], "_")
    ));
    let mut all: Vec<&std::ffi::OsStr> =
        vec!["compress".as_ref(), input.as_os_str(), out.as_os_str()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.push("-q".as_ref());
    splatpress(dir, all).success();
    std::fs::read(&out).unwrap()
}

/// Asserts the outcome of a batch over [`scenes`]: exit 1, the broken scene failed with its
/// file named, every other output byte-identical to `compress` alone, nothing else written.
fn assert_batch(ran: &Ran, dir: &Path, input: &Path, out: &Path, summary_name: &str) {
    assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
    assert!(
        ran.stderr().contains("1 of 5 scenes failed"),
        "{}",
        ran.report()
    );
    let s = summary(&out.join(summary_name));
    assert_eq!(s["totals"]["scenes"], 5);
    assert_eq!(s["totals"]["ok"], 4);
    assert_eq!(s["totals"]["failed"], 1);
    let scenes = s["scenes"].as_array().unwrap();
    let broken = scenes
        .iter()
        .find(|e| e["status"] == "failed")
        .expect("a failed scene");
    assert!(broken["input"].as_str().unwrap().ends_with("broken.ply"));
    assert!(
        broken["error"].as_str().unwrap().contains("truncated"),
        "{broken}"
    );
    let mut expected = vec![summary_name.to_string()];
    for (rel_in, rel_out) in scenes_ok() {
        let entry = scenes
            .iter()
            .find(|e| e["input"].as_str().unwrap().ends_with(rel_in))
            .unwrap_or_else(|| panic!("{rel_in} missing from the summary"));
        assert_eq!(entry["status"], "ok", "{entry}");
        assert_eq!(entry["backend"], "cpu");
        let written = std::fs::read(out.join(rel_out)).unwrap();
        assert_eq!(entry["bytes_out"], written.len() as u64);
        let alone = compressed_alone(
            dir,
            &input.join(rel_in),
            &["--seed", "7", "--backend", "cpu"],
        );
        assert!(
            written == alone,
            "{rel_out} differs from `compress` of the same scene"
        );
        expected.push(rel_out.to_string());
    }
    expected.sort();
    assert_eq!(files(out), expected, "only the outputs and the summary");
}

fn scenes_ok() -> [(&'static str, &'static str); 4] {
    [
        ("a.ply", "a.sog"),
        ("nested/b.ply", "nested/b.sog"),
        ("nested/deeper/c.ply", "nested/deeper/c.sog"),
        ("sog", "sog.sog"),
    ]
}

#[test]
fn folder_batch_mirrors_paths_isolates_failures_and_matches_compress() {
    let tmp = temp_dir("batch-folder");
    let input = scenes(tmp.path());
    let out = tmp.path().join("out");
    let ran = splatpress(
        tmp.path(),
        [
            "batch".as_ref(),
            input.as_os_str(),
            out.as_os_str(),
            "--seed".as_ref(),
            "7".as_ref(),
            "--backend".as_ref(),
            "cpu".as_ref(),
            "--jobs".as_ref(),
            "2".as_ref(),
        ],
    );
    assert_batch(&ran, tmp.path(), &input, &out, "summary.json");
    let s = summary(&out.join("summary.json"));
    assert_eq!(s["workers"]["cpu"], 2);
    assert_eq!(s["workers"]["cuda"], 0);
}

#[test]
fn resume_skips_only_complete_outputs() {
    let tmp = temp_dir("batch-resume");
    let input = scenes(tmp.path());
    let out = tmp.path().join("out");
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = vec!["batch".into(), "in".into(), "out".into()];
        a.extend(["--seed", "7", "--backend", "cpu"].map(String::from));
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    splatpress(tmp.path(), args(&[]));
    let good = std::fs::read(out.join("a.sog")).unwrap();
    // A damaged output and a missing one are redone; the others are checked and skipped.
    let damaged = out.join("nested/b.sog");
    let bytes = std::fs::read(&damaged).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() - 100]).unwrap();
    std::fs::remove_file(out.join("sog.sog")).unwrap();
    let ran = splatpress(tmp.path(), args(&["--resume"]));
    assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
    let s = summary(&out.join("summary.json"));
    let status = |rel: &str| {
        s["scenes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["input"].as_str().unwrap().ends_with(rel))
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("a.ply"), "skipped");
    assert_eq!(status("c.ply"), "skipped");
    assert_eq!(status("b.ply"), "ok");
    assert_eq!(status("sog"), "ok");
    assert_eq!(status("broken.ply"), "failed");
    assert_eq!(std::fs::read(out.join("a.sog")).unwrap(), good);
    assert_eq!(
        std::fs::read(&damaged).unwrap(),
        bytes,
        "redone identically"
    );
    let _ = input;
}

#[test]
fn manifest_lines_carry_per_scene_options() {
    let tmp = temp_dir("batch-manifest");
    let dir = tmp.path();
    let a = sample(dir, "scenes/a.ply", 1500, 3);
    let b = sample(dir, "scenes/b.ply", 1000, 2);
    std::fs::write(
        dir.join("list.jsonl"),
        "# two scenes, the second with its own options\n\
         scenes/a.ply\n\
         {\"input\": \"scenes/b.ply\", \"output\": \"small/b.sog\", \"sh_bands\": 1, \"seed\": 3, \"webp_effort\": 2}\n",
    )
    .unwrap();
    splatpress(
        dir,
        ["batch", "list.jsonl", "out", "--backend", "cpu", "-q"],
    )
    .success();
    assert_eq!(
        std::fs::read(dir.join("out/scenes/a.sog")).unwrap(),
        compressed_alone(dir, &a, &["--backend", "cpu"])
    );
    assert_eq!(
        std::fs::read(dir.join("out/small/b.sog")).unwrap(),
        compressed_alone(
            dir,
            &b,
            &[
                "--backend",
                "cpu",
                "--sh-bands",
                "1",
                "--seed",
                "3",
                "--webp-effort",
                "2"
            ]
        )
    );
}

#[test]
fn bad_batches_fail_before_any_work() {
    let tmp = temp_dir("batch-errors");
    let dir = tmp.path();
    sample(dir, "in/x.ply", 500, 0);
    std::fs::copy(dir.join("in/x.ply"), dir.join("in/x.splat")).unwrap();
    let cases: [(&str, &str, &str); 4] = [
        ("in", "", "both"),
        ("missing", "", "missing"),
        (
            "bad.jsonl",
            "{\"input\": \"in/x.ply\", \"sead\": 1}\n",
            "line 1: unknown field `sead`",
        ),
        (
            "bands.jsonl",
            "{\"input\": \"in/x.ply\", \"sh_bands\": 7}\n",
            "line 1: sh_bands",
        ),
    ];
    for (inputs, manifest, expected) in cases {
        if !manifest.is_empty() {
            std::fs::write(dir.join(inputs), manifest).unwrap();
        }
        let ran = splatpress(dir, ["batch", inputs, "out", "--backend", "cpu"]);
        assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
        assert!(ran.stderr().contains(expected), "{}", ran.report());
        assert!(!dir.join("out").join("x.sog").exists());
    }
}

/// The container's entrypoint on a local folder laid out as SageMaker lays out
/// `/opt/ml`: inputs under `processing/input`, the instance name in `config/resourceconfig.json`.
#[test]
fn processing_entrypoint_follows_the_sagemaker_contract() {
    let tmp = temp_dir("processing");
    let ml = tmp.path().join("opt/ml");
    let root = ml.join("processing");
    let scenes_dir = scenes(tmp.path());
    std::fs::create_dir_all(root.join("input")).unwrap();
    std::fs::rename(&scenes_dir, root.join("input/scenes")).unwrap();
    std::fs::create_dir_all(ml.join("config")).unwrap();
    std::fs::write(
        ml.join("config/resourceconfig.json"),
        "{\"current_host\": \"algo-2\", \"hosts\": [\"algo-1\", \"algo-2\"]}",
    )
    .unwrap();
    let entrypoint = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/processing-entrypoint.sh");
    let mut cmd = Command::new("sh");
    cmd.arg(&entrypoint)
        .args(["--seed", "7", "--backend", "cpu"])
        .env("SPLATPRESS_PROCESSING_ROOT", &root)
        .env("SPLATPRESS", splatpress_bin())
        .current_dir(tmp.path());
    let ran = Ran::new(cmd);
    // The same scenes as the folder batch, one level down (`scenes/`).
    let input = root.join("input/scenes");
    let out = root.join("output/scenes");
    let summary_path = root.join("output/summary-algo-2.json");
    assert!(summary_path.exists(), "{}", ran.report());
    std::fs::rename(&summary_path, out.join("summary-algo-2.json")).unwrap();
    assert_batch(&ran, tmp.path(), &input, &out, "summary-algo-2.json");

    // No input folder: a clear error naming it.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg(&entrypoint)
        .env("SPLATPRESS_PROCESSING_ROOT", &empty)
        .env("SPLATPRESS", splatpress_bin());
    let ran = Ran::new(cmd);
    assert_eq!(ran.output.status.code(), Some(1));
    assert!(ran.stderr().contains("ProcessingInput"), "{}", ran.report());
}
