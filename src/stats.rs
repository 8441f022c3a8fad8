//! `splatpress info`: counts, bounds, per-attribute ranges and non-finite counts of a scene.
//!
//! Ranges cover finite values only and non-finite values are counted, so the `Serialize` form
//! (the `--json` contract) never needs NaN or ∞, which JSON cannot encode as numbers.

use rayon::prelude::*;
use serde::Serialize;

use crate::Scene;
use crate::eval::table::{aligned, number};
use crate::scene::Model;

/// Splats per parallel work item.
const CHUNK: usize = 1 << 14;

/// Range and non-finite counts of one attribute's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ValueStats {
    /// Number of finite values.
    pub finite: u64,
    /// Smallest finite value; absent when there is none.
    pub min: Option<f64>,
    /// Largest finite value; absent when there is none.
    pub max: Option<f64>,
    /// Mean of the finite values; absent when there is none.
    pub mean: Option<f64>,
    /// Number of NaN values.
    pub nan: u64,
    /// Number of +∞ values.
    pub pos_inf: u64,
    /// Number of −∞ values.
    pub neg_inf: u64,
}

/// Axis-aligned bounding box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BoundingBox {
    /// Smallest coordinate per axis.
    pub min: [f64; 3],
    /// Largest coordinate per axis.
    pub max: [f64; 3],
}

/// Norms of the quaternions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RotationStats {
    /// Smallest norm among finite quaternions; absent when there is none.
    pub norm_min: Option<f64>,
    /// Largest norm among finite quaternions; absent when there is none.
    pub norm_max: Option<f64>,
    /// Quaternions with all four components zero (no rotation defined).
    pub zero: u64,
    /// Quaternions with a NaN or infinite component.
    pub non_finite: u64,
}

/// Summary statistics of a scene.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Number of splats.
    pub splats: usize,
    /// Higher SH bands, 0..=3.
    pub sh_bands: u8,
    /// Training model.
    pub model: Model,
    /// Bounding box of the splats whose three coordinates are finite; absent when none is.
    pub bounds: Option<BoundingBox>,
    /// Centres per axis x, y, z.
    pub positions: [ValueStats; 3],
    /// Log-scales per axis (natural log of the standard deviation).
    pub log_scales: [ValueStats; 3],
    /// Opacity logits as stored.
    pub opacity_logits: ValueStats,
    /// Opacities after the sigmoid (logits ±∞ become 1 and 0 and count as finite here).
    pub opacities: ValueStats,
    /// `f_dc` per colour channel R, G, B.
    pub sh_dc: [ValueStats; 3],
    /// All `f_rest` coefficients pooled.
    pub sh_rest: ValueStats,
    /// Quaternion norms.
    pub rotations: RotationStats,
}

/// Running sums behind a [`ValueStats`].
#[derive(Debug, Clone, Copy)]
struct ValueAccumulator {
    finite: u64,
    sum: f64,
    min: f64,
    max: f64,
    nan: u64,
    pos_inf: u64,
    neg_inf: u64,
}

impl Default for ValueAccumulator {
    fn default() -> Self {
        ValueAccumulator {
            finite: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            nan: 0,
            pos_inf: 0,
            neg_inf: 0,
        }
    }
}

impl ValueAccumulator {
    fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.finite += 1;
            self.sum += v;
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        } else if v.is_nan() {
            self.nan += 1;
        } else if v > 0.0 {
            self.pos_inf += 1;
        } else {
            self.neg_inf += 1;
        }
    }

    fn merge(&mut self, o: &ValueAccumulator) {
        self.finite += o.finite;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.nan += o.nan;
        self.pos_inf += o.pos_inf;
        self.neg_inf += o.neg_inf;
    }

    fn finish(&self) -> ValueStats {
        let some = self.finite > 0;
        ValueStats {
            finite: self.finite,
            min: some.then_some(self.min),
            max: some.then_some(self.max),
            mean: some.then(|| self.sum / self.finite as f64),
            nan: self.nan,
            pos_inf: self.pos_inf,
            neg_inf: self.neg_inf,
        }
    }
}

/// Accumulators for one chunk of splats.
#[derive(Default)]
struct Accumulators {
    bounds_min: [f64; 3],
    bounds_max: [f64; 3],
    bounded: u64,
    positions: [ValueAccumulator; 3],
    log_scales: [ValueAccumulator; 3],
    logits: ValueAccumulator,
    opacities: ValueAccumulator,
    sh_dc: [ValueAccumulator; 3],
    sh_rest: ValueAccumulator,
    norms: ValueAccumulator,
    zero_rotations: u64,
    non_finite_rotations: u64,
}

impl Accumulators {
    fn new() -> Self {
        Accumulators {
            bounds_min: [f64::INFINITY; 3],
            bounds_max: [f64::NEG_INFINITY; 3],
            ..Default::default()
        }
    }

    fn add_splat(&mut self, scene: &Scene, i: usize, with_rest: bool) {
        let p = scene.positions[i];
        if p.iter().all(|c| c.is_finite()) {
            self.bounded += 1;
            for a in 0..3 {
                self.bounds_min[a] = self.bounds_min[a].min(p[a] as f64);
                self.bounds_max[a] = self.bounds_max[a].max(p[a] as f64);
            }
        }
        for a in 0..3 {
            self.positions[a].add(p[a] as f64);
            self.log_scales[a].add(scene.log_scales[i][a] as f64);
            self.sh_dc[a].add(scene.sh_dc[i][a] as f64);
        }
        let logit = scene.opacities[i];
        self.logits.add(logit as f64);
        self.opacities.add(1.0 / (1.0 + (-(logit as f64)).exp()));
        if with_rest {
            for &v in scene.rest(i) {
                self.sh_rest.add(v as f64);
            }
        }
        let q = scene.rotations[i];
        if !q.iter().all(|c| c.is_finite()) {
            self.non_finite_rotations += 1;
        } else {
            if q.iter().all(|&c| c == 0.0) {
                self.zero_rotations += 1;
            }
            self.norms
                .add(q.iter().map(|&c| (c as f64).powi(2)).sum::<f64>().sqrt());
        }
    }

    fn merge(mut self, o: Accumulators) -> Accumulators {
        for a in 0..3 {
            self.bounds_min[a] = self.bounds_min[a].min(o.bounds_min[a]);
            self.bounds_max[a] = self.bounds_max[a].max(o.bounds_max[a]);
            self.positions[a].merge(&o.positions[a]);
            self.log_scales[a].merge(&o.log_scales[a]);
            self.sh_dc[a].merge(&o.sh_dc[a]);
        }
        self.bounded += o.bounded;
        self.logits.merge(&o.logits);
        self.opacities.merge(&o.opacities);
        self.sh_rest.merge(&o.sh_rest);
        self.norms.merge(&o.norms);
        self.zero_rotations += o.zero_rotations;
        self.non_finite_rotations += o.non_finite_rotations;
        self
    }
}

/// Computes the statistics of `scene`. A scene from a reader is consistent
/// ([`Scene::check_columns`]); otherwise only the splats present in every column are counted,
/// and `f_rest` only when its column is long enough.
pub fn stats(scene: &Scene) -> Stats {
    let n = [
        scene.positions.len(),
        scene.rotations.len(),
        scene.log_scales.len(),
        scene.opacities.len(),
        scene.sh_dc.len(),
    ]
    .into_iter()
    .min()
    .unwrap_or(0);
    let with_rest = scene.sh_rest.len() >= n * scene.rest_len();
    let acc = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let mut acc = Accumulators::new();
            for i in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
                acc.add_splat(scene, i, with_rest);
            }
            acc
        })
        .reduce(Accumulators::new, Accumulators::merge);
    let norms = acc.norms.finish();
    Stats {
        splats: scene.len(),
        sh_bands: scene.sh_bands,
        model: scene.model,
        bounds: (acc.bounded > 0).then_some(BoundingBox {
            min: acc.bounds_min,
            max: acc.bounds_max,
        }),
        positions: acc.positions.map(|a| a.finish()),
        log_scales: acc.log_scales.map(|a| a.finish()),
        opacity_logits: acc.logits.finish(),
        opacities: acc.opacities.finish(),
        sh_dc: acc.sh_dc.map(|a| a.finish()),
        sh_rest: acc.sh_rest.finish(),
        rotations: RotationStats {
            norm_min: norms.min,
            norm_max: norms.max,
            zero: acc.zero_rotations,
            non_finite: acc.non_finite_rotations,
        },
    }
}

fn value_row(name: &str, v: &ValueStats) -> Vec<String> {
    let opt = |x: Option<f64>| x.map_or("-".to_string(), number);
    vec![
        name.into(),
        opt(v.min),
        opt(v.max),
        opt(v.mean),
        v.nan.to_string(),
        v.pos_inf.to_string(),
        v.neg_inf.to_string(),
    ]
}

impl Stats {
    /// The statistics as text: a summary line, the bounds, then one aligned row per attribute
    /// (min, max, mean of finite values and NaN/+inf/−inf counts).
    pub fn table(&self) -> String {
        let model = match self.model {
            Model::Default => "3DGS",
            Model::Antialiased => "3DGS antialiased (mip)",
            Model::TwoD => "2DGS",
        };
        let mut out = format!(
            "{} splats, SH bands {}, model {model}\n",
            self.splats, self.sh_bands
        );
        match &self.bounds {
            Some(b) => {
                let v = |p: [f64; 3]| p.map(number).join(", ");
                out.push_str(&format!("bounds: ({}) to ({})\n", v(b.min), v(b.max)));
            }
            None => out.push_str("bounds: no finite centre\n"),
        }
        let header = ["attribute", "min", "max", "mean", "NaN", "+inf", "-inf"];
        let mut rows = vec![header.map(String::from).to_vec()];
        for (a, axis) in ["x", "y", "z"].iter().enumerate() {
            rows.push(value_row(axis, &self.positions[a]));
        }
        for a in 0..3 {
            rows.push(value_row(&format!("log-scale {a}"), &self.log_scales[a]));
        }
        rows.push(value_row("opacity logit", &self.opacity_logits));
        rows.push(value_row("opacity", &self.opacities));
        for (c, channel) in ["R", "G", "B"].iter().enumerate() {
            rows.push(value_row(&format!("f_dc {channel}"), &self.sh_dc[c]));
        }
        if self.sh_bands > 0 {
            rows.push(value_row("f_rest (all)", &self.sh_rest));
        }
        out.push_str(&aligned(&rows));
        let r = &self.rotations;
        let opt = |x: Option<f64>| x.map_or("-".to_string(), number);
        out.push_str(&format!(
            "quaternion norm: {} to {}; {} zero, {} non-finite\n",
            opt(r.norm_min),
            opt(r.norm_max),
            r.zero,
            r.non_finite
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four splats with hand-placed non-finite values; expected counts are read off the
    /// construction.
    fn crafted() -> Scene {
        Scene {
            positions: vec![
                [1.0, 2.0, 3.0],
                [f32::NAN, 0.0, 0.0],
                [-1.0, f32::INFINITY, 5.0],
                [3.0, -2.0, 1.0],
            ],
            rotations: vec![
                [1.0, 0.0, 0.0, 0.0],
                [0.0; 4],
                [0.0, 3.0, 4.0, 0.0],
                [f32::NAN, 0.0, 0.0, 0.0],
            ],
            log_scales: vec![
                [-1.0, -2.0, f32::NEG_INFINITY],
                [-1.0, -2.0, f32::NEG_INFINITY],
                [-3.0, 0.0, 1.0],
                [f32::INFINITY, -2.0, 2.0],
            ],
            opacities: vec![0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN],
            sh_dc: vec![[0.5, 0.0, 0.0], [1.5, 0.0, 0.0], [f32::NAN; 3], [0.0; 3]],
            sh_bands: 1,
            sh_rest: (0..36)
                .map(|k| if k == 7 { f32::NEG_INFINITY } else { k as f32 })
                .collect(),
            model: Model::TwoD,
            extras: None,
        }
    }

    #[test]
    fn counts_non_finite_values_and_ranges_finite_ones() {
        let s = stats(&crafted());
        assert_eq!(s.splats, 4);
        assert_eq!(s.model, Model::TwoD);
        // Only splats 0 and 3 have three finite coordinates.
        let b = s.bounds.unwrap();
        assert_eq!((b.min, b.max), ([1.0, -2.0, 1.0], [3.0, 2.0, 3.0]));
        assert_eq!(s.positions[0].nan, 1);
        assert_eq!(s.positions[0].min, Some(-1.0));
        assert_eq!(s.positions[1].pos_inf, 1);
        assert_eq!(s.positions[1].mean, Some(0.0));
        assert_eq!(s.log_scales[2].neg_inf, 2);
        assert_eq!(s.log_scales[2].mean, Some(1.5));
        assert_eq!(s.log_scales[0].pos_inf, 1);
        let o = &s.opacity_logits;
        assert_eq!((o.finite, o.nan, o.pos_inf, o.neg_inf), (1, 1, 1, 1));
        // sigmoid(±∞) is finite: 1 and 0.
        assert_eq!(s.opacities.finite, 3);
        assert_eq!((s.opacities.min, s.opacities.max), (Some(0.0), Some(1.0)));
        assert_eq!(s.sh_dc[0].nan, 1);
        assert_eq!(s.sh_dc[0].max, Some(1.5));
        assert_eq!((s.sh_rest.finite, s.sh_rest.neg_inf), (35, 1));
        assert_eq!(s.sh_rest.max, Some(35.0));
        let r = &s.rotations;
        assert_eq!((r.zero, r.non_finite), (1, 1));
        assert_eq!((r.norm_min, r.norm_max), (Some(0.0), Some(5.0)));
    }

    #[test]
    fn json_has_no_non_finite_numbers_and_table_lists_attributes() {
        let s = stats(&crafted());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"pos_inf\":1"), "{json}");
        let text = s.table();
        for needle in [
            "4 splats",
            "2DGS",
            "opacity logit",
            "f_rest (all)",
            "1 zero, 1 non-finite",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn inconsistent_columns_do_not_panic() {
        let mut s = crafted();
        s.opacities.pop();
        s.sh_rest.truncate(5);
        let st = stats(&s);
        assert_eq!(st.opacity_logits.finite + st.opacity_logits.pos_inf, 2);
        assert_eq!(st.sh_rest.finite, 0);
    }

    #[test]
    fn empty_scene_has_no_ranges() {
        let s = stats(&Scene::default());
        assert_eq!(s.splats, 0);
        assert!(s.bounds.is_none());
        assert_eq!(s.opacities.min, None);
        assert!(s.table().contains("no finite centre"));
    }
}
