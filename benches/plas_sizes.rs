//! The PLAS size study (issue 6): for each real scene, compress with Morton order and with PLAS
//! variants, encode every texture as lossless WebP (effort 4, the CLI default) and print
//! per-texture bytes, the total, the neighbour roughness of each texture and the order time.
//!
//! Run: `cargo bench --bench plas_sizes`. Environment:
//! - `PLAS_VARIANTS=a,b`: only variants whose name contains one of these (Morton always runs);
//! - `PLAS_SH=1`: keep the SH bands (runs the palette k-means; slower); default: SH dropped,
//!   so totals cover the five per-splat textures (see the closing note for the SH share);
//! - `PLAS_SAMPLE=N`: add a generated N-splat SH3 scene;
//! - `PLAS_SCENES=a,b`: only scenes whose name contains one of these;
//! - `PLAS_DATA=dir`: the real scenes' folder (default `../shared/data`);
//! - `PLAS_BACKEND=cpu|wgpu|cuda|auto`: where the order and k-means run (default cpu).

use std::path::Path;

use rayon::prelude::*;
use splatpress::Scene;
use splatpress::encode::plas::{Features, Init, PlasOptions, Quality, TextureWeights};
use splatpress::encode::{Options, Order};
use splatpress::formats::sog::Image;

const EFFORT: u8 = 4;

const SCENES: [(&str, &str); 7] = [
    ("fox", "mujoco_warp/fox.ply"),
    ("lod1", "gaussiansplats3d-pr477/lod1_tile_0_0.5x.ply"),
    ("lod3", "gaussiansplats3d-pr477/lod3_tile_0.ply"),
    ("plant", "marcelpadilla-splats/plant.splat"),
    ("biker", "playcanvas-engine/biker.compressed.ply"),
    ("playbot", "playcanvas-engine/playbot/0_0/meta.json"),
    ("lod5", "gaussiansplats3d-pr477/lod5_tile_0.ply"),
];

fn texture(means: f32, scales: f32, colour: f32, opacity: f32, quats: f32) -> Features {
    Features::Texture(TextureWeights {
        means,
        scales,
        colour,
        opacity,
        quats,
    })
}

fn plas(quality: Quality, init: Init, features: Features, start: Option<f32>) -> Order {
    Order::Plas(PlasOptions {
        quality,
        init,
        features,
        start_radius: start,
    })
}

fn variants() -> Vec<(String, Order)> {
    use Init::{Morton, Shuffle};
    use Quality::{Default as Q, Fast};
    let mut v: Vec<(String, Order)> = vec![
        (
            "sogs14-shuffle".into(),
            plas(Q, Shuffle, Features::Sogs, None),
        ),
        (
            "sogs14-fast-shuffle".into(),
            plas(Fast, Shuffle, Features::Sogs, None),
        ),
    ];
    for wp in [0.5, 1.0, 2.0, 4.0, 8.0] {
        let f = Features::ZScored(wp);
        v.push((format!("z{wp}-shuffle"), plas(Q, Shuffle, f, None)));
        v.push((format!("z{wp}-morton"), plas(Q, Morton, f, None)));
        v.push((format!("z{wp}-fast-shuffle"), plas(Fast, Shuffle, f, None)));
        v.push((format!("z{wp}-fast-morton"), plas(Fast, Morton, f, None)));
    }
    for wp in [1.0, 2.0, 4.0, 8.0, 16.0] {
        let f = texture(wp, 1.0, 1.0, 1.0, 1.0);
        v.push((format!("tex{wp}-shuffle"), plas(Q, Shuffle, f, None)));
        v.push((format!("tex{wp}-morton"), plas(Q, Morton, f, None)));
        v.push((format!("tex{wp}-morton-r8"), plas(Q, Morton, f, Some(8.0))));
        v.push((format!("tex{wp}-fast-morton"), plas(Fast, Morton, f, None)));
        v.push((
            format!("tex{wp}-fast-shuffle"),
            plas(Fast, Shuffle, f, None),
        ));
    }
    for (name, q) in [
        ("posonly", Q),
        ("posonly-fast", Fast),
        ("posonly-best", Quality::Best),
    ] {
        let f = texture(1.0, 0.0, 0.0, 0.0, 0.0);
        v.push((format!("{name}-morton"), plas(q, Morton, f, None)));
        v.push((format!("{name}-shuffle"), plas(q, Shuffle, f, None)));
    }
    for a in [0.03, 0.06, 0.12, 0.25] {
        let f = texture(1.0, a, a, a, a);
        v.push((format!("mix{a}-morton"), plas(Q, Morton, f, None)));
        let f = texture(1.0, a, a, a, 0.0);
        v.push((format!("mixnoq{a}-morton"), plas(Q, Morton, f, None)));
    }
    for a in [0.0, 0.01, 0.02, 0.03, 0.05] {
        for (qn, q) in [("", Q), ("best-", Quality::Best)] {
            v.push((
                format!("pm-{qn}{a}"),
                plas(q, Morton, texture(1.0, a, a, a, 0.0), None),
            ));
        }
    }
    v.push(("default".into(), Order::Plas(PlasOptions::default())));
    v
}

fn wanted(name: &str, var: &str) -> bool {
    match std::env::var(var) {
        Ok(list) => list.split(',').any(|w| !w.is_empty() && name.contains(w)),
        Err(_) => true,
    }
}

/// Mean over valid texels of the squared difference to the right and lower neighbours, summed
/// over the RGBA bytes.
fn roughness(image: &Image, n: usize) -> f64 {
    let w = image.width as usize;
    let (mut sum, mut count) = (0f64, 0u64);
    for t in 0..n {
        for u in [t + 1, t + w] {
            if u < n && (u != t + 1 || u % w != 0) {
                let (a, b) = (image.texel(t), image.texel(u));
                sum += (0..4)
                    .map(|k| (f64::from(a[k]) - f64::from(b[k])).powi(2))
                    .sum::<f64>();
                count += 1;
            }
        }
    }
    sum / count.max(1) as f64
}

struct Row {
    bytes: Vec<(String, usize)>,
    rough: Vec<f64>,
    total: usize,
    order_secs: f64,
}

fn measure(scene: &Scene, order: Order, sh: bool) -> Row {
    let options = Options {
        sh_bands: if sh { None } else { Some(0) },
        order,
        ..Options::default()
    };
    let choice: splatpress::backend::select::Choice = std::env::var("PLAS_BACKEND")
        .unwrap_or_else(|_| "cpu".into())
        .parse()
        .expect("PLAS_BACKEND: auto, cuda, wgpu or cpu");
    let (encoded, report, _) =
        splatpress::encode_scene(choice, scene, &options, &()).expect("compress");
    let sog = splatpress::formats::sog::textures::sog(&encoded);
    let order_secs = report
        .stages
        .iter()
        .find(|s| s.0 == "order")
        .map_or(0.0, |s| s.1);
    let encoded: Vec<(String, usize, f64)> = sog
        .images
        .par_iter()
        .map(|(name, image)| {
            let bytes = splatpress::formats::sog::webp::encode(image, EFFORT)
                .expect("webp")
                .len();
            let short = name.trim_end_matches(".webp").to_string();
            let rough = if short == "shN_centroids" {
                0.0
            } else {
                roughness(image, scene.len())
            };
            (short, bytes, rough)
        })
        .collect();
    let total = encoded.iter().map(|e| e.1).sum();
    Row {
        bytes: encoded.iter().map(|e| (e.0.clone(), e.1)).collect(),
        rough: encoded.iter().map(|e| e.2).collect(),
        total,
        order_secs,
    }
}

fn main() {
    let default_data = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
    let data_dir = std::env::var("PLAS_DATA").unwrap_or_else(|_| default_data.to_string());
    let data = Path::new(&data_dir);
    let sh = std::env::var("PLAS_SH").is_ok_and(|v| v == "1");
    let mut scenes: Vec<(String, Scene)> = Vec::new();
    if data.is_dir() {
        for (name, rel) in SCENES {
            if wanted(name, "PLAS_SCENES") {
                let raw = splatpress::formats::read(&data.join(rel)).expect("read scene");
                scenes.push((name.to_string(), raw.sanitize().0));
            }
        }
    } else {
        eprintln!("skipped: {} not found (real scenes)", data.display());
    }
    if let Some(n) = std::env::var("PLAS_SAMPLE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        scenes.push((
            format!("sample{n}"),
            splatpress::sample::scene(n, 3, 1).sanitize().0,
        ));
    }
    let variants: Vec<(String, Order)> = variants()
        .into_iter()
        .filter(|(name, _)| wanted(name, "PLAS_VARIANTS"))
        .collect();
    // totals[v] over all scenes; wins[v] = variant beat Morton on every scene.
    let mut totals = vec![0usize; variants.len() + 1];
    let mut wins = vec![true; variants.len() + 1];
    for (scene_name, scene) in &scenes {
        println!(
            "\n## {scene_name}: {} splats, SH {}",
            scene.len(),
            if sh { scene.sh_bands } else { 0 }
        );
        let morton = measure(scene, Order::Morton, sh);
        let header: Vec<String> = morton.bytes.iter().map(|b| b.0.clone()).collect();
        println!(
            "| order | {} | total | vs Morton | roughness {} | order s |",
            header.join(" | "),
            header.join("/")
        );
        let print = |name: &str, row: &Row| {
            let cells: Vec<String> = row.bytes.iter().map(|b| b.1.to_string()).collect();
            let rough: Vec<String> = row.rough.iter().map(|r| format!("{r:.0}")).collect();
            println!(
                "| {name} | {} | {} | {:+.2} % | {} | {:.2} |",
                cells.join(" | "),
                row.total,
                100.0 * (row.total as f64 / morton.total as f64 - 1.0),
                rough.join("/"),
                row.order_secs
            );
        };
        print("morton", &morton);
        totals[0] += morton.total;
        for (v, (name, order)) in variants.iter().enumerate() {
            let row = measure(scene, *order, sh);
            print(name, &row);
            totals[v + 1] += row.total;
            wins[v + 1] &= row.total < morton.total;
        }
    }
    println!("\n## all scenes");
    println!("| order | total bytes | vs Morton | wins every scene |");
    println!("| morton | {} | 0 % | - |", totals[0]);
    for (v, (name, _)) in variants.iter().enumerate() {
        println!(
            "| {name} | {} | {:+.2} % | {} |",
            totals[v + 1],
            100.0 * (totals[v + 1] as f64 / totals[0].max(1) as f64 - 1.0),
            wins[v + 1]
        );
    }
}
