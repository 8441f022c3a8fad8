//! The `splatpress` binary end to end: every bad input exits 1 with a message naming the file
//! and leaves no output behind; good runs are deterministic and report what they changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use splatpress::formats::sog;

const BIN: &str = env!("CARGO_BIN_EXE_splatpress");

/// INRIA property names with SH degree 0 (14 floats a row).
const SH0: [&str; 14] = [
    "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
    "rot_0", "rot_1", "rot_2", "rot_3",
];

/// A binary little-endian PLY with the SH0 properties, one row per entry of `rows`,
/// claiming `count` vertices.
fn ply(count: u64, rows: &[[f32; 14]], props: &[&str]) -> Vec<u8> {
    let mut out = format!("ply\nformat binary_little_endian 1.0\nelement vertex {count}\n");
    for p in props {
        out += &format!("property float {p}\n");
    }
    out += "end_header\n";
    let mut bytes = out.into_bytes();
    for row in rows {
        for v in &row[..props.len()] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

/// A plausible splat at `x` along the x axis.
fn splat(x: f32) -> [f32; 14] {
    [
        x,
        0.5 * x,
        1.0,
        0.1,
        0.2,
        0.3,
        0.5,
        -3.0,
        -3.1,
        -3.2,
        1.0,
        0.1,
        0.0,
        0.0,
    ]
}

fn run(args: &[&str], cwd: &Path) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run splatpress");
    eprintln!(
        "$ splatpress {}\n(cwd {})\nstatus {:?}\nstderr:\n{}",
        args.join(" "),
        cwd.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Compresses `input_bytes` (written as `name`) and expects failure mentioning `expect`,
/// with exit status 1 and nothing new in the folder.
fn expect_failure(name: &str, input_bytes: &[u8], expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), input_bytes).unwrap();
    let before = files_in(dir.path());
    for out_name in ["out.sog", "out_dir"] {
        let out = run(&["compress", name, out_name], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: exit status");
        assert!(
            stderr.contains("splatpress: error:") && stderr.contains(name),
            "{name}: {stderr}"
        );
        for e in expect {
            assert!(stderr.contains(e), "{name}: expected `{e}` in: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{name}: panic: {stderr}");
        assert_eq!(
            files_in(dir.path()),
            before,
            "{name}: files were left behind"
        );
    }
}

#[test]
fn bad_inputs_fail_cleanly_and_leave_nothing() {
    let rows = [splat(0.0), splat(1.0), splat(2.0)];
    let good = ply(3, &rows, &SH0);
    expect_failure(
        "truncated.ply",
        &good[..good.len() - 5],
        &["vertex", "bytes"],
    );
    expect_failure("too_many.ply", &ply(1000, &rows, &SH0), &["1000"]);
    expect_failure("huge.ply", &ply(1 << 40, &rows, &SH0), &["1099511627776"]);
    let no_opacity: Vec<&str> = SH0.iter().copied().filter(|p| *p != "opacity").collect();
    expect_failure("no_opacity.ply", &ply(3, &rows, &no_opacity), &["opacity"]);
    let no_x: Vec<&str> = SH0.iter().copied().filter(|p| *p != "x").collect();
    expect_failure("no_x.ply", &ply(3, &rows, &no_x), &["`x`"]);
    let no_rot: Vec<&str> = SH0.iter().copied().filter(|p| *p != "rot_2").collect();
    expect_failure("no_rot.ply", &ply(3, &rows, &no_rot), &["rot_2"]);
    let mut odd_rest = String::from_utf8(ply(0, &[], &SH0)).unwrap();
    odd_rest = odd_rest.replace("end_header\n", "property float f_rest_0\nend_header\n");
    expect_failure("odd_rest.ply", odd_rest.as_bytes(), &["f_rest"]);
    let mut uint = String::from_utf8(ply(0, &[], &SH0)).unwrap();
    uint = uint.replace(
        "property float opacity",
        "property list uchar float opacity",
    );
    expect_failure("list.ply", uint.as_bytes(), &["opacity"]);
    expect_failure("empty.ply", &ply(0, &[], &SH0), &["no splats"]);
    let nan = [[f32::NAN; 14]; 2];
    expect_failure(
        "all_nan.ply",
        &ply(2, &nan, &SH0),
        &["all 2 splats were dropped"],
    );
    expect_failure("not_a_ply.ply", b"hello world\n", &["ply"]);
    expect_failure("bad.splat", &[0u8; 33], &["32"]);
    expect_failure("bad.sog", b"PK\x03\x04 definitely not a zip", &["bad.sog"]);
}

#[test]
fn missing_input_and_missing_output_folder_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["compress", "nope.ply", "out.sog"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.ply"));
    std::fs::write(
        dir.path().join("in.ply"),
        ply(3, &[splat(0.0), splat(1.0), splat(2.0)], &SH0),
    )
    .unwrap();
    let out = run(&["compress", "in.ply", "no/such/dir/out.sog"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let out = run(&["compress", "in.ply"], dir.path());
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn real_world_oddities_compress_and_are_reported() {
    // +inf opacity (kept), a NaN position (dropped), a zero quaternion (identity), one splat of each.
    let mut rows = vec![splat(0.0), splat(1.0), splat(2.0), splat(3.0)];
    rows[1][6] = f32::INFINITY;
    rows[2][1] = f32::NAN;
    rows[3][10..14].copy_from_slice(&[0.0; 4]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("odd.ply"), ply(4, &rows, &SH0)).unwrap();
    let out = run(&["compress", "odd.ply", "odd.sog", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["sanitized"]["dropped_position"], 1);
    assert_eq!(report["sanitized"]["zero_rotations"], 1);
    assert_eq!(report["encoder"]["splats"], 3);
    let decoded = sog::decode::decode(&sog::read(&dir.path().join("odd.sog")).unwrap()).unwrap();
    assert_eq!(decoded.len(), 3);
    let opaque = decoded.opacities.iter().filter(|o| **o >= 40.0).count();
    assert_eq!(opaque, 1, "+inf opacity decodes as fully opaque");
    // One splat alone is a valid scene.
    std::fs::write(dir.path().join("one.ply"), ply(1, &[splat(5.0)], &SH0)).unwrap();
    let out = run(&["compress", "one.ply", "one.sog"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let one = sog::read(&dir.path().join("one.sog")).unwrap();
    assert!(sog::check::check(&one).is_empty());
    assert_eq!(sog::decode::decode(&one).unwrap().len(), 1);
}

#[test]
fn same_seed_same_bytes_and_output_forms() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let small = ["--count", "3000", "--bands", "2"];
    for (out, seed) in [("a.sog", "1"), ("b.sog", "1"), ("c.sog", "2")] {
        let mut args = vec!["compress", "--sample", out, "--seed", seed, "-i", "3"];
        args.extend(small);
        assert_eq!(run(&args, p).status.code(), Some(0));
    }
    let read = |f: &str| std::fs::read(p.join(f)).unwrap();
    assert_eq!(
        read("a.sog"),
        read("b.sog"),
        "same input and seed must give identical bytes"
    );
    assert_ne!(
        read("a.sog"),
        read("c.sog"),
        "another seed changes the SH palette"
    );
    // Folder forms: a directory and a named meta.json; both read back to the same SOG.
    let mut args = vec!["compress", "--sample", "dir_out", "--seed", "1", "-i", "3"];
    args.extend(small);
    assert_eq!(run(&args, p).status.code(), Some(0));
    let mut args = vec![
        "compress",
        "--sample",
        "named/scene.json",
        "--seed",
        "1",
        "-i",
        "3",
    ];
    args.extend(small);
    std::fs::create_dir(p.join("named")).unwrap();
    assert_eq!(run(&args, p).status.code(), Some(0));
    let bundle = sog::read(&p.join("a.sog")).unwrap();
    assert_eq!(sog::read(&p.join("dir_out")).unwrap(), bundle);
    assert_eq!(sog::read(&p.join("named/scene.json")).unwrap(), bundle);
    assert!(p.join("dir_out/meta.json").is_file() && p.join("named/shN_labels.webp").is_file());
    // --sh-bands drops bands.
    let mut args = vec!["compress", "--sample", "h1.sog", "-H", "1", "-i", "2"];
    args.extend(small);
    assert_eq!(run(&args, p).status.code(), Some(0));
    let h1 = sog::read(&p.join("h1.sog")).unwrap();
    assert_eq!(h1.meta.sh_n.as_ref().map(|s| s.bands), Some(1));
    assert_eq!(h1.image("shN_centroids.webp").unwrap().width, 64 * 3);
}

#[test]
fn decode_eval_info_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    assert_eq!(
        run(&["sample", "s.ply", "--count", "2000"], p)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["compress", "s.ply", "s.sog", "-q", "-i", "2"], p)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(run(&["decode", "s.sog", "d.ply"], p).status.code(), Some(0));
    let decoded = splatpress::formats::read(&p.join("d.ply")).unwrap();
    assert_eq!((decoded.len(), decoded.sh_bands), (2000, 3));
    let out = run(&["eval", "s.ply", "s.sog", "--json"], p);
    assert_eq!(out.status.code(), Some(0));
    let eval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(eval.to_string().contains("rotation"), "{eval}");
    let table = String::from_utf8(run(&["eval", "s.ply", "s.sog"], p).stdout).unwrap();
    assert!(
        table.contains("position") && table.contains("SH band 3"),
        "{table}"
    );
    let info = String::from_utf8(run(&["info", "s.sog"], p).stdout).unwrap();
    assert!(
        info.contains("2000") && info.contains("SOG conformance (engine rules): ok"),
        "{info}"
    );
    let help = String::from_utf8(run(&["compress", "--help"], p).stdout).unwrap();
    for flag in [
        "--sh-iterations",
        "--sh-bands",
        "--seed",
        "--webp-effort",
        "--sample",
        "--json",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn plas_order_is_reproducible_and_keeps_every_splat() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let base = [
        "--sample",
        "--count",
        "3000",
        "--bands",
        "1",
        "--seed",
        "4",
        "-i",
        "2",
        "--backend",
        "cpu",
    ];
    for (out, order) in [("p1.sog", "plas"), ("p2.sog", "plas"), ("m.sog", "morton")] {
        let mut args = vec!["compress", out, "--order", order, "--plas-quality", "fast"];
        args.extend(base);
        let done = run(&args, p);
        assert_eq!(
            done.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let read = |f: &str| std::fs::read(p.join(f)).unwrap();
    assert_eq!(read("p1.sog"), read("p2.sog"), "same seed, same PLAS bytes");
    assert_ne!(read("p1.sog"), read("m.sog"), "PLAS moved splats");
    // The same splats in another order: sorted decoded positions agree.
    let positions = |f: &str| {
        let scene = sog::decode::decode(&sog::read(&p.join(f)).unwrap()).unwrap();
        let mut v: Vec<[u32; 3]> = scene
            .positions
            .iter()
            .map(|q| q.map(f32::to_bits))
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(positions("p1.sog"), positions("m.sog"));
    let bad = run(&["compress", "--sample", "x.sog", "--order", "hilbert"], p);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown order is a usage error"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("morton"));
}
