//! Interop with a third-party SOG implementation: PlayCanvas `splat-transform` 3.7.0.
//!
//! One small scene (2,000 splats, 3 SH bands) is written as a PLY and encoded twice: by
//! splatpress and by splat-transform (`-g cpu`, 10 SH iterations). Both `.sog` files are
//! decoded twice: by our decoder and by splat-transform (SOG → PLY). The tests check that
//! - splat-transform decodes our `.sog` to what our decoder gives (and likewise for its own
//!   `.sog`), within float rounding;
//! - where our encoder makes the same choices as splat-transform (Morton order, the
//!   256-entry scale and colour codebooks) the textures and meta agree exactly;
//! - where it deliberately differs (rounding to nearest where splat-transform truncates:
//!   16-bit positions, quaternion bytes, the opacity byte) each byte is the same or one
//!   higher, and the decoded errors against the source are no larger;
//! - the SH palette (k-means from a random start in splat-transform, so only comparable
//!   statistically) decodes with an error at most [`SH_ERROR_MARGIN`] times splat-transform's.
//!
//! splat-transform is installed by `cargo xtask test` (pinned, into `<target>/npm`) and
//! found through `$SPLAT_TRANSFORM` or at `<target>/npm/splat-transform`. When it is absent
//! the tests print `skipped: …`, or fail when `SPLATPRESS_REQUIRE_INTEROP=1` (as in CI).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use splatpress::Scene;
use splatpress::encode::{Options, encode};
use splatpress::formats::sog::{Image, Sog, decode::decode};

use crate::util::{self, Ran};

mod measure;
use measure::{Errors, Mismatches, match_to_source, sigmoid, ulps_apart};

/// Splats in the test scene: small enough for 2 cores, large enough for a 1024-entry palette
/// and a padded 48×44 grid.
const SPLATS: usize = 2000;
/// SH bands of the test scene (3, so the palette holds 15 coefficients per channel).
const SH_BANDS: u8 = 3;
/// Seed of the sample scene and of our k-means.
const SEED: u64 = 20_240_611;
/// Lloyd iterations of the SH k-means, for both encoders (splat-transform's default).
const SH_ITERATIONS: u32 = 10;
/// WebP effort for both writers. Passing any `--webp-effort` makes splat-transform encode
/// with `exact = 1`, so the colour of fully transparent splats survives (sog-format.md §3.8).
const WEBP_EFFORT: u8 = 1;
/// How much larger than splat-transform's our SH reconstruction error may be.
const SH_ERROR_MARGIN: f64 = 1.1;

/// Everything the tests compare, built once per test run.
struct Fixture {
    /// The scene both encoders read.
    source: Scene,
    /// Our encoder's output, read back from the `.sog` file we wrote.
    ours: Sog,
    /// splat-transform's output, read by our reader.
    theirs: Sog,
    /// `ours` decoded by our decoder.
    ours_by_us: Scene,
    /// `ours` decoded by splat-transform (SOG → PLY, read with our PLY reader).
    ours_by_them: Scene,
    /// `theirs` decoded by our decoder.
    theirs_by_us: Scene,
    /// `theirs` decoded by splat-transform.
    theirs_by_them: Scene,
}

/// The shared fixture; `None` (after printing `skipped: …`) when splat-transform is absent.
fn fixture(test: &str) -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Result<Option<Fixture>, String>> = OnceLock::new();
    let built = FIXTURE.get_or_init(|| {
        let Some(tool) = find_splat_transform()? else {
            return Ok(None);
        };
        // Keep a failure as a message, so every test reports it without rebuilding.
        std::panic::catch_unwind(|| build(&tool))
            .map(Some)
            .map_err(|payload| {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "(non-text panic)".to_string());
                format!("building the interop fixture failed: {message}")
            })
    });
    match built {
        Err(message) => panic!("{message}"),
        Ok(None) => {
            util::skip(
                test,
                "splat-transform is not installed (run `cargo xtask test`, or set SPLAT_TRANSFORM)",
            );
            None
        }
        Ok(Some(fixture)) => Some(fixture),
    }
}

/// `$SPLAT_TRANSFORM`, else `<target>/npm/splat-transform` if `cargo xtask test` installed it.
/// Err when it is required (`SPLATPRESS_REQUIRE_INTEROP=1`) but missing, or named but absent.
fn find_splat_transform() -> Result<Option<PathBuf>, String> {
    if let Some(named) = std::env::var_os("SPLAT_TRANSFORM").filter(|v| !v.is_empty()) {
        let path = PathBuf::from(named);
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(format!(
                "SPLAT_TRANSFORM={} does not exist; run `cargo xtask test` to install it",
                path.display()
            ))
        };
    }
    let installed = util::target_dir().join("npm/splat-transform");
    if installed.is_file() {
        return Ok(Some(installed));
    }
    if std::env::var("SPLATPRESS_REQUIRE_INTEROP").is_ok_and(|v| v == "1") {
        return Err(format!(
            "SPLATPRESS_REQUIRE_INTEROP=1 but splat-transform is not installed: SPLAT_TRANSFORM \
             is unset and {} is absent; `cargo xtask test` installs it",
            installed.display()
        ));
    }
    Ok(None)
}

/// Runs splat-transform in `cwd` with `args` on the CPU, panicking with its output on failure.
fn run_splat_transform(tool: &Path, cwd: &Path, args: &[&str]) -> Ran {
    let mut cmd = Command::new(tool);
    cmd.args(["-w", "-g", "cpu"]).args(args).current_dir(cwd);
    Ran::new(cmd).success()
}

/// Encodes and decodes the test scene with both implementations.
fn build(tool: &Path) -> Fixture {
    let dir = util::temp_dir("interop");
    let cwd = dir.path();
    let timer = Instant::now();
    let lap = |what: &str| {
        eprintln!(
            "interop: {what} done at {:.1} s",
            timer.elapsed().as_secs_f64()
        )
    };

    let source = splatpress::sample::scene(SPLATS, SH_BANDS, SEED);
    assert_eq!(source.len(), SPLATS, "sample scene size");
    assert_eq!(source.sh_bands, SH_BANDS, "sample scene SH bands");
    util::write_ply(&cwd.join("source.ply"), &source);

    let effort = WEBP_EFFORT.to_string();
    let iterations = SH_ITERATIONS.to_string();
    run_splat_transform(
        tool,
        cwd,
        &[
            "--webp-effort",
            &effort,
            "-i",
            &iterations,
            "source.ply",
            "theirs.sog",
        ],
    );
    lap("splat-transform encode");

    let options = Options {
        sh_iterations: SH_ITERATIONS,
        seed: SEED,
        ..Options::default()
    };
    let (sog, _report) = encode(&source, &options, &())
        .map(|(e, r)| (splatpress::formats::sog::textures::sog(&e), r))
        .expect("our encoder failed on the sample scene");
    splatpress::formats::sog::write(&cwd.join("ours.sog"), &sog, WEBP_EFFORT)
        .expect("writing ours.sog");
    lap("our encode");

    run_splat_transform(tool, cwd, &["ours.sog", "ours_by_them.ply"]);
    run_splat_transform(tool, cwd, &["theirs.sog", "theirs_by_them.ply"]);
    lap("splat-transform decode");

    let read_sog = |name: &str| {
        splatpress::formats::sog::read(&cwd.join(name))
            .unwrap_or_else(|e| panic!("reading {name}: {e}"))
    };
    let read_ply = |name: &str| {
        splatpress::formats::ply::read(&cwd.join(name))
            .unwrap_or_else(|e| panic!("reading {name}: {e}"))
    };
    let ours = read_sog("ours.sog");
    let theirs = read_sog("theirs.sog");
    let decode =
        |sog: &Sog, name: &str| decode(sog).unwrap_or_else(|e| panic!("decoding {name}: {e}"));
    let fixture = Fixture {
        ours_by_us: decode(&ours, "ours.sog"),
        theirs_by_us: decode(&theirs, "theirs.sog"),
        ours_by_them: read_ply("ours_by_them.ply"),
        theirs_by_them: read_ply("theirs_by_them.ply"),
        source,
        ours,
        theirs,
    };
    lap("reading and decoding");
    fixture
}

// ---------------------------------------------------------------------------------------
// Third-party decoder
// ---------------------------------------------------------------------------------------

#[test]
fn splat_transform_decodes_our_sog_as_our_decoder_does() {
    let Some(f) = fixture("splat_transform_decodes_our_sog_as_our_decoder_does") else {
        return;
    };
    assert_decoders_agree("ours.sog", &f.ours_by_us, &f.ours_by_them);
}

#[test]
fn our_decoder_reads_splat_transforms_sog_as_it_does() {
    let Some(f) = fixture("our_decoder_reads_splat_transforms_sog_as_it_does") else {
        return;
    };
    assert_decoders_agree("theirs.sog", &f.theirs_by_us, &f.theirs_by_them);
}

/// Compares two decodings of the same file splat by splat (both keep the stored order).
fn assert_decoders_agree(file: &str, us: &Scene, them: &Scene) {
    assert_eq!(us.len(), SPLATS, "{file}: splats decoded by us");
    assert_eq!(
        them.len(),
        SPLATS,
        "{file}: splats decoded by splat-transform"
    );
    assert_eq!(us.sh_bands, them.sh_bands, "{file}: SH bands");
    let mut mismatches = Mismatches::new(file);
    for i in 0..us.len() {
        // Positions: e^|n| − 1 in f32 (us) or f64 (splat-transform) differ in the last bits.
        for a in 0..3 {
            mismatches.check(
                "position",
                i,
                us.positions[i][a],
                them.positions[i][a],
                1e-5,
                1e-6,
            );
        }
        // Rotations: the same formula in f32 and f64.
        for c in 0..4 {
            mismatches.check(
                "rotation",
                i,
                us.rotations[i][c],
                them.rotations[i][c],
                0.0,
                2e-6,
            );
        }
        // Opacity: splat-transform clamps alpha to [1e-6, 1 − 1e-6] before the logit, so
        // compare alphas.
        mismatches.check(
            "opacity (alpha)",
            i,
            sigmoid(us.opacities[i]) as f32,
            sigmoid(them.opacities[i]) as f32,
            0.0,
            2e-6,
        );
        // Codebook look-ups: the same f32 values.
        for a in 0..3 {
            mismatches.check(
                "log-scale",
                i,
                us.log_scales[i][a],
                them.log_scales[i][a],
                1e-6,
                0.0,
            );
            mismatches.check("f_dc", i, us.sh_dc[i][a], them.sh_dc[i][a], 1e-6, 0.0);
        }
        for (k, (u, t)) in us.rest(i).iter().zip(them.rest(i)).enumerate() {
            mismatches.check(&format!("f_rest_{k}"), i, *u, *t, 1e-6, 0.0);
        }
    }
    mismatches.assert_none();
}

// ---------------------------------------------------------------------------------------
// Same choices: identical bytes
// ---------------------------------------------------------------------------------------

#[test]
fn meta_and_grid_match_splat_transform() {
    let Some(f) = fixture("meta_and_grid_match_splat_transform") else {
        return;
    };
    let (ours, theirs) = (&f.ours.meta, &f.theirs.meta);
    assert_eq!(ours.version, 2);
    assert_eq!(
        (ours.count, theirs.count),
        (SPLATS as u32, SPLATS as u32),
        "count"
    );
    // means.mins/maxs = sign(v)·ln(1 + |v|) of the extreme positions. splat-transform runs on
    // V8, whose Math.log (fdlibm) is not always correctly rounded; Rust's f64::ln (glibc) is.
    // In this scene they differ by one ulp on one axis (V8 0.54 ulp off, ours 0.46, checked
    // with mpmath), so allow one ulp: the 16-bit positions are checked byte by byte below.
    for a in 0..3 {
        for (what, o, t) in [
            ("mins", ours.means.mins[a], theirs.means.mins[a]),
            ("maxs", ours.means.maxs[a], theirs.means.maxs[a]),
        ] {
            assert!(
                ulps_apart(o, t) <= 1,
                "means.{what}[{a}]: ours {o} vs splat-transform {t} ({} ulps apart)",
                ulps_apart(o, t)
            );
        }
    }
    assert_codebooks_equal(
        "scales.codebook",
        &ours.scales.codebook,
        &theirs.scales.codebook,
    );
    assert_codebooks_equal("sh0.codebook", &ours.sh0.codebook, &theirs.sh0.codebook);
    let (our_sh, their_sh) = (
        ours.sh_n.as_ref().expect("our meta has no shN"),
        theirs
            .sh_n
            .as_ref()
            .expect("splat-transform's meta has no shN"),
    );
    assert_eq!(
        (our_sh.count, our_sh.bands),
        (their_sh.count, their_sh.bands),
        "shN count, bands"
    );
    for name in PER_SPLAT {
        let (o, t) = (image(&f.ours, name), image(&f.theirs, name));
        assert_eq!(
            (o.width, o.height),
            (t.width, t.height),
            "{name}: width × height"
        );
    }
    let (o, t) = (image(&f.ours, CENTROIDS), image(&f.theirs, CENTROIDS));
    assert_eq!(
        (o.width, o.height),
        (t.width, t.height),
        "{CENTROIDS}: width × height"
    );
}

#[test]
fn scales_and_colour_textures_match_splat_transform_byte_for_byte() {
    let Some(f) = fixture("scales_and_colour_textures_match_splat_transform_byte_for_byte") else {
        return;
    };
    // Same Morton order and same codebooks → the same labels at the same pixels.
    assert_pixels(f, "scales.webp", 0..4, |o, t| o == t, "equal");
    // sh0: colour labels equal; alpha (opacity) is rounded by us, truncated by
    // splat-transform (checked in rounded_bytes_are_equal_or_one_above_…).
    assert_pixels(f, "sh0.webp", 0..3, |o, t| o == t, "equal");
}

#[test]
fn padding_texels_are_zero_in_both() {
    let Some(f) = fixture("padding_texels_are_zero_in_both") else {
        return;
    };
    for sog in [&f.ours, &f.theirs] {
        for name in PER_SPLAT {
            let img = image(sog, name);
            let first_bad = (SPLATS..pixels(img)).find(|&i| img.texel(i) != [0; 4]);
            assert_eq!(
                first_bad, None,
                "{} {name}: padding texel is not zero",
                sog.meta.asset.generator
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Deliberately better: rounding where splat-transform truncates
// ---------------------------------------------------------------------------------------

#[test]
fn rounded_bytes_are_equal_or_one_above_splat_transforms_truncated_ones() {
    let Some(f) = fixture("rounded_bytes_are_equal_or_one_above_splat_transforms_truncated_ones")
    else {
        return;
    };
    let step = |o: u32, t: u32| o == t || o == t + 1;
    // 16-bit positions: q = low + 256·high per axis.
    let (ol, ou) = (
        image(&f.ours, "means_l.webp"),
        image(&f.ours, "means_u.webp"),
    );
    let (tl, tu) = (
        image(&f.theirs, "means_l.webp"),
        image(&f.theirs, "means_u.webp"),
    );
    let q = |l: &Image, u: &Image, i: usize, a: usize| {
        l.texel(i)[a] as u32 + 256 * u.texel(i)[a] as u32
    };
    let bad: Vec<String> = (0..SPLATS)
        .flat_map(|i| (0..3).map(move |a| (i, a)))
        .filter(|&(i, a)| !step(q(ol, ou, i, a), q(tl, tu, i, a)))
        .take(5)
        .map(|(i, a)| {
            format!(
                "splat {i} axis {a}: ours {} splat-transform {}",
                q(ol, ou, i, a),
                q(tl, tu, i, a)
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "16-bit positions not within one step above: {bad:#?}"
    );
    // Quaternions: the same largest component (alpha), the three others rounded.
    assert_pixels(
        f,
        "quats.webp",
        3..4,
        |o, t| o == t,
        "equal (largest component)",
    );
    assert_pixels(
        f,
        "quats.webp",
        0..3,
        |o, t| step(o as u32, t as u32),
        "equal or one above",
    );
    // Opacity byte in sh0 alpha.
    assert_pixels(
        f,
        "sh0.webp",
        3..4,
        |o, t| step(o as u32, t as u32),
        "equal or one above",
    );
}

#[test]
fn rounding_gives_no_larger_position_rotation_and_opacity_errors() {
    let Some(f) = fixture("rounding_gives_no_larger_position_rotation_and_opacity_errors") else {
        return;
    };
    let ours_to_source = match_to_source("ours.sog", &f.ours_by_us, &f.source);
    let theirs_to_source = match_to_source("theirs.sog", &f.theirs_by_us, &f.source);
    assert!(
        ours_to_source == theirs_to_source,
        "the two files store the splats in different orders (Morton order differs)"
    );
    let ours = Errors::measure(&f.source, &f.ours_by_us, &ours_to_source);
    let theirs = Errors::measure(&f.source, &f.theirs_by_us, &theirs_to_source);
    eprintln!(
        "interop errors against the source (mean / max):\n  ours:            {ours}\n  splat-transform: {theirs}"
    );
    for (what, o, t) in [
        ("position mean", ours.position.mean, theirs.position.mean),
        ("position max", ours.position.max, theirs.position.max),
        ("rotation mean", ours.rotation.mean, theirs.rotation.mean),
        ("opacity mean", ours.opacity.mean, theirs.opacity.mean),
        ("opacity max", ours.opacity.max, theirs.opacity.max),
    ] {
        assert!(o <= t, "{what} error: ours {o:e} > splat-transform {t:e}");
    }
    // Same codebooks and labels: the scale and colour errors are the same.
    assert_eq!(
        ours.log_scale.mean, theirs.log_scale.mean,
        "log-scale mean error"
    );
    assert_eq!(ours.dc.mean, theirs.dc.mean, "f_dc mean error");
}

// ---------------------------------------------------------------------------------------
// SH palette: statistical comparison
// ---------------------------------------------------------------------------------------

#[test]
fn sh_palette_error_is_not_worse_than_splat_transforms() {
    let Some(f) = fixture("sh_palette_error_is_not_worse_than_splat_transforms") else {
        return;
    };
    let ours = Errors::measure(
        &f.source,
        &f.ours_by_us,
        &match_to_source("ours.sog", &f.ours_by_us, &f.source),
    );
    let theirs = Errors::measure(
        &f.source,
        &f.theirs_by_us,
        &match_to_source("theirs.sog", &f.theirs_by_us, &f.source),
    );
    eprintln!(
        "interop SH RMSE: ours {:.5}, splat-transform {:.5} (ratio {:.3})",
        ours.sh_rmse,
        theirs.sh_rmse,
        ours.sh_rmse / theirs.sh_rmse
    );
    assert!(
        theirs.sh_rmse > 0.0,
        "splat-transform's SH error is zero: is shN decoded at all?"
    );
    assert!(
        ours.sh_rmse <= SH_ERROR_MARGIN * theirs.sh_rmse,
        "SH RMSE: ours {:.5} > {SH_ERROR_MARGIN} × splat-transform {:.5}",
        ours.sh_rmse,
        theirs.sh_rmse
    );
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Per-splat textures: one texel per splat, identical grids (sog-format.md §1.2).
const PER_SPLAT: [&str; 6] = [
    "means_l.webp",
    "means_u.webp",
    "quats.webp",
    "scales.webp",
    "sh0.webp",
    "shN_labels.webp",
];
/// The SH palette texture.
const CENTROIDS: &str = "shN_centroids.webp";

fn image<'a>(sog: &'a Sog, name: &str) -> &'a Image {
    sog.image(name)
        .unwrap_or_else(|| panic!("{} has no {name}", sog.meta.asset.generator))
}

fn pixels(img: &Image) -> usize {
    img.width as usize * img.height as usize
}

/// Checks `relation(ours, theirs)` on `channels` of texture `name` for every splat's
/// texel; panics listing the first offenders and how many there are.
fn assert_pixels(
    f: &Fixture,
    name: &str,
    channels: std::ops::Range<usize>,
    relation: impl Fn(u8, u8) -> bool,
    expected: &str,
) {
    let (ours, theirs) = (image(&f.ours, name), image(&f.theirs, name));
    let mut bad = Vec::new();
    let mut count = 0;
    for i in 0..SPLATS {
        let (o, t) = (ours.texel(i), theirs.texel(i));
        for c in channels.clone() {
            if !relation(o[c], t[c]) {
                count += 1;
                if bad.len() < 5 {
                    bad.push(format!(
                        "splat {i} channel {c}: ours {} splat-transform {}",
                        o[c], t[c]
                    ));
                }
            }
        }
    }
    assert!(
        count == 0,
        "{name}: {count} bytes not {expected} to splat-transform's: {bad:#?}"
    );
}

fn assert_codebooks_equal(name: &str, ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), 256, "{name}: our length");
    assert_eq!(theirs.len(), 256, "{name}: splat-transform's length");
    let diff: Vec<String> = (0..256)
        .filter(|&k| ours[k].to_bits() != theirs[k].to_bits())
        .take(5)
        .map(|k| format!("[{k}] ours {} splat-transform {}", ours[k], theirs[k]))
        .collect();
    assert!(diff.is_empty(), "{name} differs: {diff:#?}");
}
