//! Streamed SOG output (`compress … out/lod-meta.json`): every level reads back with the
//! manifest's counts, level 0 holds every input splat, the manifest is splat-transform's
//! (its numbers, key order and, for one level, its bytes), every chunk conforms, a failed or
//! interrupted write leaves no manifest, and bad flags are refused clearly.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use splatpress::formats::{lod, ply, sog};
use splatpress::{Input, Options, Scene};

use super::{assert_close, oracle, splat_transform};
use crate::util;

/// The sample scene `compress --sample --count N --bands B` compresses (seed 0, sanitised).
fn sample(count: usize, bands: u8) -> Scene {
    splatpress::sample::scene(count, bands, 0).sanitize().0
}

/// `decoded` holds exactly the splats of `original` (as multisets of positions), each within
/// `tol` of its own: every decoded centre's nearest original is within `tol`, and no original
/// is the nearest of two.
fn assert_same_positions(label: &str, decoded: &Scene, original: &Scene, tol: f32) {
    assert_eq!(decoded.len(), original.len(), "{label}: splat count");
    let mut claimed = vec![false; original.len()];
    for (i, p) in decoded.positions.iter().enumerate() {
        let (best, d2) = original
            .positions
            .iter()
            .map(|q| (0..3).map(|a| (p[a] - q[a]).powi(2)).sum::<f32>())
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!(
            d2.sqrt() <= tol,
            "{label}: decoded splat {i} at {p:?} is {} from the nearest original",
            d2.sqrt()
        );
        assert!(!claimed[best], "{label}: original {best} matched twice");
        claimed[best] = true;
    }
}

/// Every number of the manifest has at most 7 significant digits.
fn assert_seven_digits(value: &Value, at: &str) {
    match value {
        Value::Number(n) => {
            let f = n.as_f64().unwrap();
            let shortest = format!("{:e}", f.abs());
            let digits = shortest
                .split('e')
                .next()
                .unwrap()
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            assert!(digits <= 7 || n.is_u64(), "{at}: {n} has {digits} digits");
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                assert_seven_digits(v, &format!("{at}[{i}]"));
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                assert_seven_digits(v, &format!("{at}.{k}"));
            }
        }
        _ => {}
    }
}

/// The keys in splat-transform's order: top level, asset, and `bound` first in every node.
fn assert_key_order(text: &str, leaves: usize) {
    let prefix = r#"{"version":1,"asset":{"generator":"#;
    assert!(text.starts_with(prefix), "{}", &text[..80]);
    let keys = [
        "\"chunkGaussians\":",
        "\"chunkExtent\":",
        "\"chunkMinGaussians\":",
        "},\"count\":",
        "\"counts\":[",
        "\"lodLevels\":",
        "\"filenames\":[",
        "\"tree\":{\"bound\":{\"min\":[",
    ];
    let mut at = 0;
    for key in keys {
        let found = text[at..]
            .find(key)
            .unwrap_or_else(|| panic!("`{key}` missing or out of order"));
        at += found + key.len();
    }
    // Nodes: {"bound":{"min":[…],"max":[…]}, then "children" or "lods".
    let nodes = text.matches("{\"bound\":{\"min\":[").count();
    assert_eq!(text.matches("]},\"lods\":{").count(), leaves);
    assert_eq!(text.matches("]},\"children\":[").count(), nodes - leaves);
    assert_eq!(text.matches("\"bound\"").count(), nodes);
}

/// Checks a streamed SOG written from `original` in full; returns the manifest.
fn check_written(dir: &Path, original: &Scene, levels: usize, chunk: u64) -> lod::Manifest {
    let path = dir.join("lod-meta.json");
    let manifest = lod::read_manifest(&path).unwrap();
    assert_eq!(manifest.levels() as usize, levels);
    assert_eq!(manifest.counts[0], original.len() as u64);
    for pair in manifest.counts.windows(2) {
        assert!(
            pair[1] < pair[0],
            "each level smaller: {:?}",
            manifest.counts
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_seven_digits(&value, "");
    assert_key_order(&text, manifest.leaves.len());
    assert_eq!(
        value["asset"],
        json!({"generator": value["asset"]["generator"], "chunkGaussians": chunk * 1024,
               "chunkExtent": 16, "chunkMinGaussians": 8192})
    );
    // Every level reads back with the manifest's count; level 0 is every input splat.
    for level in 0..levels as u32 {
        let scene = lod::read(&path, Some(level)).unwrap();
        assert_eq!(scene.len() as u64, manifest.counts[level as usize]);
        assert_eq!(scene.sh_bands, original.sh_bands);
    }
    let level0 = lod::read(&path, Some(0)).unwrap();
    assert_same_positions("level 0", &level0, original, 2e-3);
    // Every chunk is a conforming SOG whose splats the leaves' ranges cover exactly.
    for (file, name) in manifest.filenames.iter().enumerate() {
        let chunk = sog::read(&dir.join(name)).unwrap();
        let problems = sog::check::check(&chunk);
        assert!(problems.is_empty(), "{name}: {problems:?}");
        let covered: u64 = manifest
            .leaves
            .iter()
            .flat_map(|l| &l.lods)
            .filter(|(_, r)| r.file == file)
            .map(|(_, r)| r.count)
            .sum();
        assert_eq!(covered, chunk.meta.count as u64, "{name}");
        let (level, _) = name.split_once('_').unwrap();
        assert!(
            manifest
                .leaves
                .iter()
                .flat_map(|l| &l.lods)
                .all(|(l, r)| r.file != file || l.to_string() == level),
            "{name} holds only level {level}"
        );
    }
    manifest
}

#[test]
fn compress_writes_a_streamed_sog_that_reads_back_at_every_level() {
    let original = sample(3000, 1);
    for levels in [1usize, 3] {
        let dir = util::temp_dir("lod-write");
        let cwd = dir.path();
        let args = [
            "compress",
            "--sample",
            "--count",
            "3000",
            "--bands",
            "1",
            "--backend",
            "cpu",
            "-i",
            "2",
            "--lod-levels",
            &levels.to_string(),
            "--lod-chunk-count",
            "1",
            "out/lod-meta.json",
            "--json",
        ];
        let ran = util::splatpress(cwd, args).success();
        let report: Value = serde_json::from_str(&ran.stdout()).unwrap();
        let out = cwd.join("out");
        let manifest = check_written(&out, &original, levels, 1);
        // 3000 splats a level-0 leaf of at most 1024: several chunks.
        assert!(
            manifest.filenames.len() >= 2 + levels - 1,
            "{:?}",
            manifest.filenames
        );
        let lod = &report["lod"];
        assert_eq!(lod["levels"], levels, "{report}");
        assert_eq!(lod["counts"], json!(manifest.counts));
        assert_eq!(
            lod["units"].as_array().unwrap().len(),
            manifest.filenames.len()
        );
        assert_eq!(lod["decimate"], "adaptive");
        assert_eq!(report["backend"]["chosen"], "cpu");
        let on_disk = splatpress::formats::size_on_disk(&out.join("lod-meta.json"));
        assert_eq!(report["written"]["total_bytes"], on_disk);
        assert_eq!(lod["bytes"], on_disk);
        let stages: Vec<&str> = report["encoder"]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[0].as_str().unwrap())
            .collect();
        assert_eq!(stages.contains(&"decimate"), levels > 1, "{stages:?}");
        assert!(
            stages.contains(&"plan") && stages.contains(&"write"),
            "{stages:?}"
        );
        // Nothing but the manifest and the chunk folders is left.
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut expected: Vec<String> = manifest
            .filenames
            .iter()
            .map(|f| f.trim_end_matches("/meta.json").to_string())
            .chain(["lod-meta.json".to_string()])
            .collect();
        expected.sort();
        assert_eq!(names, expected);
        if levels == 1 {
            continue;
        }
        // --lod N as an input: compress, eval and info take a level of our output.
        util::splatpress(
            cwd,
            [
                "compress",
                "--backend",
                "cpu",
                "-i",
                "2",
                "--lod",
                "1",
                "out/lod-meta.json",
                "l1.sog",
            ],
        )
        .success();
        let l1 = splatpress::formats::read(&cwd.join("l1.sog")).unwrap();
        assert_eq!(l1.len() as u64, manifest.counts[1]);
        ply::write(&cwd.join("original.ply"), &original).unwrap();
        for (level, extra) in [(0u32, None), (2, Some("2"))] {
            let mut args = vec!["eval", "--json", "original.ply", "out/lod-meta.json"];
            if let Some(n) = extra {
                args.extend(["--lod", n]);
            }
            let eval: Value =
                serde_json::from_str(&util::splatpress(cwd, args).success().stdout()).unwrap();
            let m = &eval["matching"];
            assert_eq!(
                m["decoded_splats"], manifest.counts[level as usize],
                "{eval}"
            );
            assert_eq!(m["original_splats"], 3000);
        }
        let info = util::splatpress(cwd, ["info", "--json", "--lod", "2", "out/lod-meta.json"]);
        let info: Value = serde_json::from_str(&info.success().stdout()).unwrap();
        assert_eq!(info["splats"], manifest.counts[2]);
    }
}

#[test]
fn rewriting_a_streamed_sog_replaces_it_whole() {
    let dir = util::temp_dir("lod-rewrite");
    let cwd = dir.path();
    let run = |count: &str| {
        util::splatpress(
            cwd,
            [
                "compress",
                "--sample",
                "--count",
                "3000",
                "--bands",
                "0",
                "--backend",
                "cpu",
                "--lod-levels",
                "1",
                "--lod-chunk-count",
                count,
                "out/lod-meta.json",
                "-q",
            ],
        )
        .success();
    };
    run("1");
    assert!(cwd.join("out/0_1").exists());
    run("512");
    let manifest = check_written(&cwd.join("out"), &sample(3000, 0), 1, 512);
    assert_eq!(manifest.filenames, vec!["0_0/meta.json"]);
    assert!(
        !cwd.join("out/0_1").exists(),
        "the old chunks the new manifest does not name go"
    );
    let hidden: Vec<_> = std::fs::read_dir(cwd.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn an_interrupted_streamed_write_leaves_no_manifest() {
    let dir = util::temp_dir("lod-kill");
    let cwd = dir.path();
    let mut child = Command::new(util::splatpress_bin())
        .args([
            "compress",
            "--sample",
            "--count",
            "200000",
            "--bands",
            "3",
            "--backend",
            "cpu",
            "--lod-levels",
            "1",
            "--lod-chunk-count",
            "8",
            "out/lod-meta.json",
            "-q",
        ])
        .current_dir(cwd)
        .spawn()
        .unwrap();
    // Wait until a chunk is written into the staging folder, then kill the job mid-way.
    let out = cwd.join("out");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let staged = loop {
        let found = std::fs::read_dir(&out).ok().and_then(|entries| {
            entries
                .flatten()
                .find(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with(".lod-meta.json.")
                })
                .filter(|e| std::fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some()))
        });
        if found.is_some() {
            break true;
        }
        if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        staged,
        "no chunk was staged before the job ended ({status})"
    );
    assert!(!status.success());
    assert!(!out.join("lod-meta.json").exists());
    // Nothing visible: only the hidden staging folder of the killed process.
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.starts_with('.'), "{name} left in place");
    }
}

/// A job whose backend fails (on its first call: the failure hook's budget is per backend
/// job, and each chunk is one) leaves nothing of its own and the previous output as it was.
#[cfg(feature = "test-hooks")]
#[test]
fn a_failed_streamed_write_removes_what_it_wrote() {
    let dir = util::temp_dir("lod-fail");
    let cwd = dir.path();
    let args = |out: &'static str, fail: bool| {
        let mut args = vec![
            "compress",
            "--sample",
            "--count",
            "3000",
            "--bands",
            "1",
            "--backend",
            "cpu",
            "-i",
            "2",
            "--lod-levels",
            "1",
            "--lod-chunk-count",
            "1",
            out,
        ];
        if fail {
            args.extend(["--inject-failure", "cpu:0"]);
        }
        args
    };
    let ran = util::splatpress(cwd, args("new/lod-meta.json", true));
    assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
    assert!(!cwd.join("new").exists(), "the folder it created is gone");
    util::splatpress(cwd, args("old/lod-meta.json", false)).success();
    let before = std::fs::read(cwd.join("old/lod-meta.json")).unwrap();
    let ran = util::splatpress(cwd, args("old/lod-meta.json", true));
    assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
    assert_eq!(
        std::fs::read(cwd.join("old/lod-meta.json")).unwrap(),
        before
    );
    check_written(&cwd.join("old"), &sample(3000, 1), 1, 1);
    let hidden = std::fs::read_dir(cwd.join("old"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0);
}

#[test]
fn bad_streamed_sog_flags_are_refused_clearly() {
    let dir = util::temp_dir("lod-flags");
    let cwd = dir.path();
    ply::write(&cwd.join("in.ply"), &sample(100, 0)).unwrap();
    let cases: &[(&[&str], i32, &[&str])] = &[
        (
            &["--sample", "x.sog", "--lod-levels", "3"],
            2,
            &["--lod-levels", "lod-meta.json"],
        ),
        (
            &[
                "--sample",
                "x",
                "--decimate",
                "uniform",
                "--lod-chunk-count",
                "4",
            ],
            2,
            &["--lod-chunk-count, --decimate"],
        ),
        (
            &["--sample", "o/lod-meta.json", "--lod-levels", "0"],
            2,
            &["--lod-levels", "0"],
        ),
        (
            &["--sample", "o/lod-meta.json", "--lod-levels", "17"],
            2,
            &["--lod-levels", "17"],
        ),
        (
            &["--sample", "o/lod-meta.json", "--lod-chunk-count", "0"],
            2,
            &["--lod-chunk-count"],
        ),
        (
            &["--sample", "o/lod-meta.json", "--lod-chunk-extent", "-1"],
            2,
            &["positive"],
        ),
        (
            &["--sample", "o/lod-meta.json", "--lod-chunk-extent", "inf"],
            2,
            &["positive"],
        ),
        (
            &["--sample", "o/lod-meta.json", "--decimate", "sideways"],
            2,
            &["uniform", "adaptive"],
        ),
        (
            &["--sample", "o/lod-meta.json", "--order", "plas"],
            2,
            &["--order plas"],
        ),
        (
            &["--sample", "x.sog", "--lod", "1"],
            2,
            &["--lod", "--sample"],
        ),
        (
            &["in.ply", "x.sog", "--lod", "1"],
            1,
            &["level 1", "no levels of detail"],
        ),
        (&["--sample", "a/b/lod-meta.json"], 1, &["does not exist"]),
    ];
    for (args, code, expected) in cases {
        let ran = util::splatpress(cwd, std::iter::once("compress").chain(args.iter().copied()));
        assert_eq!(
            ran.output.status.code(),
            Some(*code),
            "{args:?}:\n{}",
            ran.report()
        );
        for want in *expected {
            assert!(
                ran.stderr().contains(want),
                "{args:?}: `{want}`:\n{}",
                ran.report()
            );
        }
    }
    assert!(!cwd.join("o").exists() && !cwd.join("x.sog").exists() && !cwd.join("x").exists());
    // The library refuses what the command line cannot express.
    let options = Options {
        lod: splatpress::LodOptions {
            chunk_extent: f64::NAN,
            ..Default::default()
        },
        ..Options::default()
    };
    let input = Input::Sample {
        count: 10,
        bands: 0,
    };
    let err = splatpress::compress_file(&input, &cwd.join("p/lod-meta.json"), &options, &());
    assert!(err.unwrap_err().to_string().contains("chunk extent"));
    let help = util::splatpress(cwd, ["compress", "--help"])
        .success()
        .stdout();
    for want in [
        "--lod-levels",
        "--lod-chunk-count",
        "--lod-chunk-extent",
        "--decimate",
        "half",
    ] {
        assert!(help.contains(want), "--help lacks `{want}`");
    }
}

#[test]
fn splat_transform_reads_our_streamed_sog_and_writes_the_same_manifest() {
    let test = "splat_transform_reads_our_streamed_sog_and_writes_the_same_manifest";
    let Some(st) = oracle(test, "SPLAT_TRANSFORM_LATEST") else {
        return;
    };
    let dir = util::temp_dir("lod-write-oracle");
    let cwd = dir.path();
    let original = sample(5000, 2);
    ply::write(&cwd.join("in.ply"), &original).unwrap();
    // One level: the partition, the bounds and the numbers are splat-transform's own.
    let chunking = ["--lod-chunk-count", "1", "--lod-chunk-extent", "2"];
    let theirs_args: Vec<&str> = ["in.ply", "-l", "0"]
        .into_iter()
        .chain(chunking)
        .chain(["theirs/lod-meta.json"])
        .collect();
    splat_transform(&st, cwd, &theirs_args);
    let ours_args: Vec<&str> = [
        "compress",
        "in.ply",
        "ours/lod-meta.json",
        "--backend",
        "cpu",
    ]
    .into_iter()
    .chain(["--lod-levels", "1", "-q"])
    .chain(chunking)
    .collect();
    util::splatpress(cwd, ours_args).success();
    let generator = |text: String| {
        let v: Value = serde_json::from_str(&text).unwrap();
        let g = v["asset"]["generator"].as_str().unwrap().to_string();
        text.replacen(&g, "GENERATOR", 1)
    };
    let theirs = generator(std::fs::read_to_string(cwd.join("theirs/lod-meta.json")).unwrap());
    let ours = generator(std::fs::read_to_string(cwd.join("ours/lod-meta.json")).unwrap());
    assert_eq!(
        ours, theirs,
        "the manifest, byte for byte but the generator"
    );
    // The same splats in the same order in every chunk (Morton within each run).
    let a = lod::read(&cwd.join("ours/lod-meta.json"), Some(0)).unwrap();
    let b = lod::read(&cwd.join("theirs/lod-meta.json"), Some(0)).unwrap();
    for (i, (p, q)) in a.positions.iter().zip(&b.positions).enumerate() {
        assert!(
            (0..3).all(|k| (p[k] - q[k]).abs() < 2e-3),
            "splat {i}: {p:?} vs {q:?}"
        );
    }
    // Three levels: splat-transform reads each level with the count we wrote.
    util::splatpress(
        cwd,
        [
            "compress",
            "in.ply",
            "three/lod-meta.json",
            "--backend",
            "cpu",
            "--lod-levels",
            "3",
            "--lod-chunk-count",
            "2",
            "-q",
        ],
    )
    .success();
    let manifest = lod::read_manifest(&cwd.join("three/lod-meta.json")).unwrap();
    for level in 0..3u32 {
        let out = format!("level{level}.ply");
        splat_transform(
            &st,
            cwd,
            &["three/lod-meta.json", "-L", &level.to_string(), &out],
        );
        let read = ply::read(&cwd.join(&out)).unwrap();
        assert_eq!(
            read.len() as u64,
            manifest.counts[level as usize],
            "level {level}"
        );
        let ours = lod::read(&cwd.join("three/lod-meta.json"), Some(level)).unwrap();
        assert_close(&format!("level {level}"), &ours, &read, 1e-5);
    }
}

/// The writer dropped after some chunks (what an error between chunks does) removes them, its
/// staging folder and the folder it created, and leaves an earlier output as it was.
#[test]
fn a_dropped_writer_removes_its_chunks() {
    use splatpress::formats::lod::write::Writer;
    let dir = util::temp_dir("lod-drop");
    let cwd = dir.path();
    let scene = sample(500, 0);
    let (encoded, _) = splatpress::encode::encode(&scene, &Default::default(), &()).unwrap();
    let entries = |path: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let mut writer = Writer::create(&cwd.join("new/lod-meta.json")).unwrap();
    for folder in ["0_0", "0_1"] {
        writer.chunk(folder, &encoded, 0).unwrap();
    }
    assert!(cwd.join("new").exists());
    drop(writer);
    assert!(!cwd.join("new").exists(), "{:?}", entries(cwd));

    let args = [
        "compress",
        "--sample",
        "--count",
        "3000",
        "--bands",
        "0",
        "--backend",
        "cpu",
        "--lod-levels",
        "1",
        "--lod-chunk-count",
        "1",
        "old/lod-meta.json",
        "-q",
    ];
    util::splatpress(cwd, args).success();
    let before = entries(&cwd.join("old"));
    let manifest = std::fs::read(cwd.join("old/lod-meta.json")).unwrap();
    let chunk = std::fs::read(cwd.join("old/0_0/meta.json")).unwrap();
    let mut writer = Writer::create(&cwd.join("old/lod-meta.json")).unwrap();
    writer.chunk("0_0", &encoded, 0).unwrap();
    drop(writer);
    assert_eq!(entries(&cwd.join("old")), before);
    assert_eq!(
        std::fs::read(cwd.join("old/lod-meta.json")).unwrap(),
        manifest
    );
    assert_eq!(std::fs::read(cwd.join("old/0_0/meta.json")).unwrap(), chunk);
}
