//! SOG on disk: bundle and folder round trips, engine ZIP rules, atomic writes, the decoder's
//! formulas on hand-made textures, conformance checks, and the real playbot scene.

use std::path::{Path, PathBuf};

use splatpress::formats::sog::bundle::{check_engine_rules, read_zip};
use splatpress::formats::sog::check::check;
use splatpress::formats::sog::decode::decode;
use splatpress::formats::sog::meta::{Asset, Codebooked, Files, Means, ShN};
use splatpress::formats::sog::{Image, Meta, Sog, read, write};

const COUNT: usize = 5;
const W: u32 = 4;
const H: u32 = 2;

fn scale_cb(i: usize) -> f32 {
    -10.0 + i as f32 * 0.03125
}
fn sh0_cb(i: usize) -> f32 {
    -2.0 + i as f32 / 64.0
}
fn shn_cb(i: usize) -> f32 {
    -1.0 + i as f32 / 128.0
}

fn image(width: u32, height: u32, texels: &[[u8; 4]]) -> Image {
    let mut img = Image::zeroed(width, height);
    for (i, t) in texels.iter().enumerate() {
        img.rgba[i * 4..i * 4 + 4].copy_from_slice(t);
    }
    img
}

/// Means texels (low, high) per splat: q = 0, 65535, 0x1234, 0x8000 and 0x00FF per axis.
const Q: [[u16; 3]; COUNT] = [
    [0, 0, 0],
    [65535, 65535, 65535],
    [0x1234, 0x1234, 0x1234],
    [0x8000, 0x0001, 0xFFFE],
    [0x00FF, 0xFF00, 0x7FFF],
];
const QUATS: [[u8; 4]; COUNT] = [
    [128, 128, 128, 252],
    [0, 255, 100, 253],
    [200, 10, 30, 254],
    [90, 91, 92, 255],
    [0, 0, 0, 255],
];
const SCALES: [[u8; 4]; COUNT] = [
    [0, 1, 2, 255],
    [255, 128, 64, 255],
    [10, 20, 30, 255],
    [7, 7, 7, 255],
    [100, 0, 255, 255],
];
const SH0: [[u8; 4]; COUNT] = [
    [0, 128, 255, 255],
    [1, 2, 3, 0],
    [64, 65, 66, 51],
    [200, 100, 50, 128],
    [9, 8, 7, 1],
];
/// Palette of 3 SH1 entries (K = 3): centroid c, coefficient j → texel (c·3 + j, 0).
const PALETTE: u32 = 3;
const LABELS: [u16; COUNT] = [0, 2, 1, 2, 0];

fn centroid_texel(c: usize, j: usize) -> [u8; 4] {
    [
        (c * 40 + j) as u8,
        (c * 40 + j + 100) as u8,
        (255 - c * 3 - j) as u8,
        255,
    ]
}

fn tiny_sog() -> Sog {
    let per = |f: &dyn Fn(usize) -> [u8; 4]| image(W, H, &(0..COUNT).map(f).collect::<Vec<_>>());
    let means_l = per(&|i| {
        let q = Q[i];
        [q[0] as u8, q[1] as u8, q[2] as u8, 255]
    });
    let means_u = per(&|i| {
        let q = Q[i];
        [(q[0] >> 8) as u8, (q[1] >> 8) as u8, (q[2] >> 8) as u8, 255]
    });
    let mut centroids = Image::zeroed(192, 1);
    for c in 0..PALETTE as usize {
        for j in 0..3 {
            let x = c * 3 + j;
            centroids.rgba[x * 4..x * 4 + 4].copy_from_slice(&centroid_texel(c, j));
        }
    }
    let labels = per(&|i| [LABELS[i] as u8, (LABELS[i] >> 8) as u8, 0, 255]);
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Sog {
        meta: Meta {
            version: 2,
            asset: Asset::default(),
            count: COUNT as u32,
            model: None,
            means: Means {
                mins: [-(3f64.ln()), 0.0, -1.0],
                maxs: [2f64.ln(), 1.0, 1.0],
                files: names(&["means_l.webp", "means_u.webp"]),
            },
            scales: Codebooked {
                codebook: (0..256).map(scale_cb).collect(),
                files: names(&["scales.webp"]),
            },
            quats: Files {
                files: names(&["quats.webp"]),
            },
            sh0: Codebooked {
                codebook: (0..256).map(sh0_cb).collect(),
                files: names(&["sh0.webp"]),
            },
            sh_n: Some(ShN {
                count: PALETTE,
                bands: 1,
                codebook: (0..256).map(shn_cb).collect(),
                files: names(&["shN_centroids.webp", "shN_labels.webp"]),
            }),
            extras: None,
        },
        images: vec![
            ("means_l.webp".into(), means_l),
            ("means_u.webp".into(), means_u),
            ("quats.webp".into(), per(&|i| QUATS[i])),
            ("scales.webp".into(), per(&|i| SCALES[i])),
            ("sh0.webp".into(), per(&|i| SH0[i])),
            ("shN_centroids.webp".into(), centroids),
            ("shN_labels.webp".into(), labels),
        ],
    }
}

fn close(a: f32, b: f64, what: &str) {
    assert!(
        (f64::from(a) - b).abs() <= 1e-5 * (1.0 + b.abs()),
        "{what}: got {a}, expected {b}"
    );
}

#[test]
fn decode_follows_the_engine_formulas() {
    let sog = tiny_sog();
    assert_eq!(check(&sog), Vec::<String>::new());
    let scene = decode(&sog).unwrap();
    assert_eq!(scene.len(), COUNT);
    assert_eq!(scene.sh_bands, 1);
    let e1 = std::f64::consts::E - 1.0;
    // End points: q = 0 → mins, q = 65535 → maxs; L⁻¹(−ln 3) = −2, L⁻¹(ln 2) = 1, L⁻¹(±1) = ±(e − 1).
    for (a, want) in [-2.0, 0.0, -e1].into_iter().enumerate() {
        close(scene.positions[0][a], want, "pos 0");
    }
    for (a, want) in [1.0, e1, e1].into_iter().enumerate() {
        close(scene.positions[1][a], want, "pos 1");
    }
    let (mins, maxs) = (sog.meta.means.mins, sog.meta.means.maxs);
    for i in 2..COUNT {
        for a in 0..3 {
            let t = f64::from(Q[i][a]) / 65535.0;
            let n = mins[a] + (maxs[a] - mins[a]) * t;
            let want = if n < 0.0 {
                1.0 - (-n).exp()
            } else {
                n.exp() - 1.0
            };
            close(scene.positions[i][a], want, "pos");
        }
    }
    // Rotations: stored components (t − ½)·√2, the fourth rebuilt, placed by A − 252.
    for i in 0..COUNT {
        let [r, g, b, a] = QUATS[i];
        let s = |v: u8| (f64::from(v) / 255.0 - 0.5) * 2f64.sqrt();
        let (x, y, z) = (s(r), s(g), s(b));
        let d = (1.0 - x * x - y * y - z * z).max(0.0).sqrt();
        let mut want = vec![x, y, z];
        want.insert(usize::from(a - 252), d);
        for k in 0..4 {
            close(scene.rotations[i][k], want[k], "rotation");
        }
    }
    // Splat 0, mode 0, bytes 128: w is nearly 1 (tiny stored components).
    assert!(scene.rotations[0][0] > 0.9999);
    for i in 0..COUNT {
        for a in 0..3 {
            assert_eq!(scene.log_scales[i][a], scale_cb(SCALES[i][a] as usize));
            assert_eq!(scene.sh_dc[i][a], sh0_cb(SH0[i][a] as usize));
        }
    }
    assert_eq!(scene.log_scales[1][0], -10.0 + 255.0 * 0.03125);
    // Opacity logits: α = 1 → 40, α = 0 → −40, α = 0.2 → −ln 4, α = 128/255 → ln(128/127).
    assert_eq!(scene.opacities[0], 40.0);
    assert_eq!(scene.opacities[1], -40.0);
    close(scene.opacities[2], -(4f64.ln()), "opacity α=0.2");
    close(
        scene.opacities[3],
        (128.0f64 / 127.0).ln(),
        "opacity α=128/255",
    );
    close(scene.opacities[4], -(254f64.ln()), "opacity α=1/255");
    // SH: channel-major f_rest[c·3 + j] = codebook[centroid(label, j).channel c].
    for i in 0..COUNT {
        let label = LABELS[i] as usize;
        for c in 0..3 {
            for j in 0..3 {
                let want = shn_cb(centroid_texel(label, j)[c] as usize);
                assert_eq!(scene.rest(i)[c * 3 + j], want, "splat {i} c {c} j {j}");
            }
        }
    }
}

#[test]
fn decode_rejects_bad_input_without_panicking() {
    let mut sog = tiny_sog();
    sog.images[6].1.rgba[4] = 3; // label 3 ≥ palette 3
    assert!(decode(&sog).unwrap_err().contains("label 3"));
    assert!(
        check(&sog)
            .iter()
            .any(|m| m.contains("labels are not below"))
    );

    let mut sog = tiny_sog();
    sog.meta.scales.codebook.pop();
    assert!(decode(&sog).unwrap_err().contains("255 entries"));
    assert!(
        check(&sog)
            .iter()
            .any(|m| m.contains("scales.codebook has 255"))
    );

    let mut sog = tiny_sog();
    sog.images[2].1 = Image::zeroed(2, 2);
    assert!(decode(&sog).unwrap_err().contains("must match"));

    let mut sog = tiny_sog();
    sog.meta.count = 9;
    assert!(decode(&sog).unwrap_err().contains("fewer than count"));

    let mut sog = tiny_sog();
    sog.meta.sh_n.as_mut().unwrap().bands = 2; // width 192 says 1 band
    assert!(decode(&sog).unwrap_err().contains("64·8"));
    assert!(check(&sog).iter().any(|m| m.contains("wide")));

    let mut sog = tiny_sog();
    sog.images.remove(3);
    assert!(decode(&sog).unwrap_err().contains("scales.webp"));
}

#[test]
fn check_reports_each_broken_rule() {
    type Breaker = Box<dyn Fn(&mut Sog)>;
    let cases: Vec<(&str, Breaker)> = vec![
        ("version", Box::new(|s| s.meta.version = 3)),
        (
            "not finite",
            Box::new(|s| s.meta.sh0.codebook[7] = f32::NAN),
        ),
        (
            "not ascending",
            Box::new(|s| s.meta.sh0.codebook.swap(3, 4)),
        ),
        ("means.mins[1]", Box::new(|s| s.meta.means.mins[1] = 2.0)),
        (
            "mode tag",
            Box::new(|s| s.images[2].1.rgba[4 * 4 + 3] = 251),
        ),
        (
            "used twice",
            Box::new(|s| s.meta.sh0.files[0] = "scales.webp".into()),
        ),
        (
            "rows high",
            Box::new(|s| s.meta.sh_n.as_mut().unwrap().count = 65),
        ),
        (
            "per-splat textures must match",
            Box::new(|s| s.images[4].1 = Image::zeroed(8, 1)),
        ),
        ("fewer than count", Box::new(|s| s.meta.count = 9)),
        ("must have 2", Box::new(|s| s.meta.means.files.truncate(1))),
        ("order", Box::new(|s| s.images.swap(0, 1))),
    ];
    for (expect, breakit) in cases {
        let mut sog = tiny_sog();
        breakit(&mut sog);
        let msgs = check(&sog);
        assert!(
            msgs.iter().any(|m| m.contains(expect)),
            "expected a message containing `{expect}`, got {msgs:?}"
        );
    }
    // Padding texels (index ≥ count) may hold anything, e.g. quats alpha 0.
    let sog = tiny_sog();
    assert_eq!(sog.images[2].1.rgba[COUNT * 4 + 3], 0);
    assert!(check(&sog).is_empty());
}

fn dir_listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn bundle_round_trip_is_exact_and_engine_loadable() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("scene.sog");
    let sog = tiny_sog();
    let report = write(&path, &sog, 1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        report.total_bytes as usize,
        report.files.iter().map(|f| f.1 as usize).sum::<usize>()
    );
    assert!(report.total_bytes as usize <= bytes.len());
    assert_eq!(report.files.last().unwrap().0, "meta.json");
    check_engine_rules(&bytes).unwrap();
    let entries = read_zip(&bytes).unwrap();
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "means_l.webp",
            "means_u.webp",
            "quats.webp",
            "scales.webp",
            "sh0.webp",
            "shN_centroids.webp",
            "shN_labels.webp",
            "meta.json"
        ]
    );
    // meta.json is compact JSON starting with the version key.
    assert!(entries[7].1.starts_with(b"{\"version\":2,"));
    assert_eq!(read(&path).unwrap(), sog);
    assert_eq!(dir_listing(tmp.path()), ["scene.sog"]);
    // Deterministic bytes.
    let again = tmp.path().join("again.sog");
    write(&again, &sog, 1).unwrap();
    assert_eq!(std::fs::read(&again).unwrap(), bytes);

    // Engine rules catch a comment and truncation; the reader catches truncation too.
    let mut commented = bytes.clone();
    let n = commented.len();
    commented[n - 2] = 2;
    commented.extend_from_slice(b"hi");
    assert!(check_engine_rules(&commented).is_err());
    let cut = &bytes[..bytes.len() - 1];
    assert!(check_engine_rules(cut).is_err());
    std::fs::write(&path, cut).unwrap();
    let err = read(&path).unwrap_err().to_string();
    assert!(err.contains("scene.sog"), "{err}");
}

#[test]
fn folder_forms_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let sog = tiny_sog();
    // `x.json` → meta under that name, textures beside it.
    let meta_path = tmp.path().join("scene.json");
    write(&meta_path, &sog, 0).unwrap();
    let mut want: Vec<String> = sog.meta.files().iter().map(|s| s.to_string()).collect();
    want.push("scene.json".into());
    want.sort();
    assert_eq!(dir_listing(tmp.path()), want);
    assert_eq!(read(&meta_path).unwrap(), sog);
    // Any other name → a directory (created) holding meta.json.
    let dir = tmp.path().join("out_dir");
    let report = write(&dir, &sog, 0).unwrap();
    assert_eq!(report.files.len(), 8);
    assert!(dir.join("meta.json").is_file());
    assert_eq!(read(&dir).unwrap(), sog);
    assert_eq!(read(&dir.join("meta.json")).unwrap(), sog);
}

#[test]
fn failed_writes_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let sog = tiny_sog();
    let missing: PathBuf = tmp.path().join("no_such_dir").join("x.sog");
    assert!(write(&missing, &sog, 0).is_err());
    assert!(write(&tmp.path().join("no_such_dir").join("m.json"), &sog, 0).is_err());
    assert!(dir_listing(tmp.path()).is_empty());
    // A directory in the way of one texture: nothing else may appear in the folder.
    let target = tmp.path().join("blocked");
    std::fs::create_dir_all(target.join("sh0.webp")).unwrap();
    assert!(write(&target, &sog, 0).is_err());
    assert_eq!(dir_listing(&target), ["sh0.webp"]);
    // An encoder failure (bad effort) writes nothing either.
    let err = write(&tmp.path().join("e.sog"), &sog, 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("0..=9"), "{err}");
    assert_eq!(dir_listing(tmp.path()), ["blocked"]);
}

#[test]
fn read_errors_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let sog = tiny_sog();
    // A bundle whose meta names a texture it lacks.
    let sog_path = tmp.path().join("x.sog");
    write(&sog_path, &sog, 0).unwrap();
    let entries = read_zip(&std::fs::read(&sog_path).unwrap()).unwrap();
    let kept: Vec<(&str, &[u8])> = entries
        .iter()
        .filter(|(n, _)| n != "sh0.webp")
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let mut zip = Vec::new();
    splatpress::formats::sog::bundle::write_zip(&mut zip, &kept).unwrap();
    std::fs::write(&sog_path, &zip).unwrap();
    let err = read(&sog_path).unwrap_err().to_string();
    assert!(
        err.contains("meta.json names `sh0.webp` but the bundle has no such entry"),
        "{err}"
    );

    let dir = tmp.path().join("d");
    write(&dir, &sog, 0).unwrap();
    let meta = dir.join("meta.json");
    std::fs::write(&meta, "{\"version\":2,\n\"count\": 5,\n\"means\": [1,}").unwrap();
    let err = read(&dir).unwrap_err().to_string();
    assert!(err.contains("line 3"), "{err}");
    std::fs::write(&meta, "{\"means\":{\"shape\":[5,3]}}").unwrap();
    let err = read(&dir).unwrap_err().to_string();
    assert!(err.contains("SOG v1"), "{err}");
    // Per-splat textures of different sizes.
    let mut odd = tiny_sog();
    odd.images[3].1 = Image::zeroed(8, 1);
    let odd_dir = tmp.path().join("odd");
    write(&odd_dir, &odd, 0).unwrap();
    let err = read(&odd_dir).unwrap_err().to_string();
    assert!(err.contains("scales.webp") && err.contains("8x1"), "{err}");
    // A garbled texture names its file.
    std::fs::write(odd_dir.join("quats.webp"), b"garbage").unwrap();
    let err = read(&odd_dir).unwrap_err().to_string();
    assert!(err.contains("quats.webp"), "{err}");
}

#[test]
fn real_playbot_folder_decodes_and_conforms() {
    let Some(meta) = crate::util::shared_file(
        "real_playbot_folder_decodes_and_conforms",
        "playcanvas-engine/playbot/0_0/meta.json",
    ) else {
        return;
    };
    let dir = meta.parent().unwrap();
    let sog = read(dir).unwrap();
    assert_eq!(sog.meta.count, 500_000);
    let problems = check(&sog);
    assert!(problems.is_empty(), "{problems:?}");
    let scene = decode(&sog).unwrap();
    assert_eq!(scene.len(), 500_000);
    assert_eq!(scene.sh_bands, 2);
    assert_eq!(scene.sh_rest.len(), 500_000 * 24);
    let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
    assert!(scene.positions.iter().all(|p| finite(p)));
    assert!(scene.rotations.iter().all(|q| finite(q)));
    assert!(scene.log_scales.iter().all(|s| finite(s)));
    assert!(scene.sh_dc.iter().all(|c| finite(c)));
    assert!(finite(&scene.opacities) && finite(&scene.sh_rest));
    // Decoded positions stay within the un-logged means box.
    let inv = |n: f64| (n.signum() * (n.abs().exp() - 1.0)) as f32;
    for a in 0..3 {
        let (lo, hi) = (inv(sog.meta.means.mins[a]), inv(sog.meta.means.maxs[a]));
        assert!(
            scene
                .positions
                .iter()
                .all(|p| p[a] >= lo - 1e-5 && p[a] <= hi + 1e-5)
        );
    }
    // Quaternions come out unit length (all tags valid).
    for q in &scene.rotations {
        let n: f32 = q.iter().map(|c| c * c).sum();
        assert!((n - 1.0).abs() < 0.02, "|q|² = {n}");
    }
}
