//! Decimation: fewer splats that cover the same surfaces, for coarser levels of detail. One
//! generation sorts the splats in Morton order, finds each splat's cheapest merge partners
//! among the next [`WINDOW`] (`decimate_candidates`), chooses disjoint groups on the host
//! ([`Strategy`]: disjoint pairs, cheapest first) and replaces each by its moment-matched
//! Gaussian (`decimate_merge`). Generations repeat until the target is met; a level is half
//! the one before.
//!
//! The kernels run over Morton-contiguous batches of at most [`BATCH`] splats (plus the
//! window past the batch), so the device holds one batch however large the scene is.

use rayon::prelude::*;

use crate::backend::Backend;
use crate::backend::decimate::{CANDIDATES, Merged, NO_PARTNER, PREPARED, Splats};
use crate::encode::order;
use crate::progress::{Event, Progress};
use crate::scene::Scene;
use crate::{Error, Result};

mod pairs;
use pairs::{Group, select_adaptive, select_uniform};

/// Partners looked at per splat, forward in Morton order (each pair is seen once).
pub const WINDOW: usize = 64;

/// Splats per kernel batch: bounds device memory (about 1 GiB at SH3) whatever the scene.
pub const BATCH: usize = 1 << 22;

/// Splats per block of the uniform strategy: each block gives up its share of the merges.
pub const UNIFORM_BLOCK: usize = 4096;

/// A generation that removes less than this fraction of what it was asked to stops the
/// decimation (nothing left that can merge).
const MIN_PROGRESS: f64 = 0.05;

/// How merges are spread over the scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Every region loses the same fraction: blocks of [`UNIFORM_BLOCK`] Morton-consecutive
    /// splats each make their share of the merges, cheapest first.
    Uniform,
    /// Merges go where they cost least over the whole scene (dense, small, faint or
    /// similar-coloured splats first), so detail is kept where it shows.
    #[default]
    Adaptive,
}

impl std::str::FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "uniform" => Ok(Strategy::Uniform),
            "adaptive" => Ok(Strategy::Adaptive),
            other => Err(format!(
                "unknown decimation `{other}` (uniform or adaptive)"
            )),
        }
    }
}

/// Levels 1 .. `levels` of detail below `scene` (level 0): each about half the splats of the
/// one before, made from it. Returns `levels − 1` scenes, level 1 first.
pub fn coarser_levels<B: Backend>(
    backend: &B,
    scene: &Scene,
    levels: usize,
    strategy: Strategy,
    progress: &dyn Progress,
) -> Result<Vec<Scene>> {
    let mut out: Vec<Scene> = Vec::with_capacity(levels.saturating_sub(1));
    for level in 1..levels {
        let from = out.last().unwrap_or(scene);
        let target = from.len().div_ceil(2).max(1);
        let name = format!("decimate level {level}");
        progress.event(Event::Start {
            stage: &name,
            total: None,
        });
        let start = std::time::Instant::now();
        let mut steps = Steps::default();
        let next = decimate_timed(backend, from, target, strategy, &mut steps)?;
        progress.event(Event::Note(&format!(
            "decimate level {level}: {} → {} splats, {}",
            from.len(),
            next.len(),
            steps.describe()
        )));
        progress.event(Event::Finish {
            stage: &name,
            secs: start.elapsed().as_secs_f64(),
        });
        out.push(next);
    }
    Ok(out)
}

/// `scene` merged down to `target` splats (fewer generations stop early when nothing more can
/// merge: the result then has more than `target`). The scene must be sanitised.
pub fn decimate<B: Backend>(
    backend: &B,
    scene: &Scene,
    target: usize,
    strategy: Strategy,
) -> Result<Scene> {
    decimate_timed(backend, scene, target, strategy, &mut Steps::default())
}

/// [`decimate`], adding the seconds of each step to `steps`.
fn decimate_timed<B: Backend>(
    backend: &B,
    scene: &Scene,
    target: usize,
    strategy: Strategy,
    steps: &mut Steps,
) -> Result<Scene> {
    scene.check_columns().map_err(Error::Scene)?;
    let mut current: Option<Scene> = None;
    loop {
        let now = current.as_ref().unwrap_or(scene);
        if now.len() <= target.max(1) {
            break;
        }
        let needed = now.len() - target.max(1);
        let (next, removed) = generation(backend, now, needed, strategy, steps)?;
        let stalled = (removed as f64) < MIN_PROGRESS * needed as f64;
        current = Some(next);
        if stalled {
            break;
        }
    }
    Ok(current.unwrap_or_else(|| scene.clone()))
}

/// Colour rows: the DC then the SH rest of each splat.
fn colour_rows(scene: &Scene) -> (Vec<f32>, usize) {
    let rest = scene.rest_len();
    let dim = 3 + rest;
    let mut rows = vec![0.0f32; scene.len() * dim];
    rows.par_chunks_mut(dim)
        .with_min_len(1 << 12)
        .enumerate()
        .for_each(|(i, row)| {
            row[..3].copy_from_slice(&scene.sh_dc[i]);
            row[3..].copy_from_slice(scene.rest(i));
        });
    (rows, dim)
}

/// Positions, prepared rows and colour rows of some splats on the device.
type DeviceRows<B> = (
    <B as crate::backend::Buffers>::Buffer<f32>,
    <B as crate::backend::Buffers>::Buffer<f32>,
    <B as crate::backend::Buffers>::Buffer<f32>,
);

/// Uploads rows `rows` of the columns and prepares them.
fn upload_rows<B: Backend>(
    backend: &B,
    scene: &Scene,
    colors: &[f32],
    dim: usize,
    rows: std::ops::Range<usize>,
) -> Result<DeviceRows<B>> {
    let (start, end) = (rows.start, rows.end);
    let positions = backend.upload(bytemuck::cast_slice(&scene.positions[start..end]))?;
    let rotations = backend.upload(bytemuck::cast_slice(&scene.rotations[start..end]))?;
    let log_scales = backend.upload(bytemuck::cast_slice(&scene.log_scales[start..end]))?;
    let opacities = backend.upload(&scene.opacities[start..end])?;
    let mut prepared = backend.zeros::<f32>((end - start) * PREPARED)?;
    backend.decimate_prepare(&rotations, &log_scales, &opacities, &mut prepared)?;
    let colors = backend.upload(&colors[start * dim..end * dim])?;
    Ok((positions, prepared, colors))
}

/// Candidates of every splat of `scene` (in its order), batch by batch: `n·CANDIDATES` costs
/// and partners (indices into `scene`).
fn candidates<B: Backend>(
    backend: &B,
    scene: &Scene,
    colors: &[f32],
    dim: usize,
) -> Result<(Vec<f32>, Vec<u32>)> {
    let n = scene.len();
    let mut costs = vec![f32::INFINITY; n * CANDIDATES];
    let mut partners = vec![NO_PARTNER; n * CANDIDATES];
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let load = (end + WINDOW).min(n);
        let (positions, prepared, colour_rows) =
            upload_rows(backend, scene, colors, dim, start..load)?;
        let rows = load - start;
        let mut batch_costs = backend.zeros::<f32>(rows * CANDIDATES)?;
        let mut batch_partners = backend.zeros::<u32>(rows * CANDIDATES)?;
        let splats = Splats {
            positions: &positions,
            prepared: &prepared,
            colors: &colour_rows,
            dim,
        };
        backend.decimate_candidates(&splats, WINDOW, &mut batch_costs, &mut batch_partners)?;
        let owned = (end - start) * CANDIDATES;
        let c = backend.download(&batch_costs)?;
        let p = backend.download(&batch_partners)?;
        costs[start * CANDIDATES..end * CANDIDATES].copy_from_slice(&c[..owned]);
        for (out, &j) in partners[start * CANDIDATES..end * CANDIDATES]
            .iter_mut()
            .zip(&p[..owned])
        {
            *out = if j == NO_PARTNER {
                NO_PARTNER
            } else {
                j + start as u32
            };
        }
    }
    Ok((costs, partners))
}

/// Seconds spent in each step of the generations of one level (the host steps are most of
/// it: the kernels' share is `candidates` and `merge`, less their transfers).
#[derive(Debug, Clone, Copy, Default)]
struct Steps {
    generations: usize,
    /// Morton order and the sorted columns.
    order: f64,
    /// Colour rows, uploads, `decimate_prepare` and `decimate_candidates`, downloads.
    candidates: f64,
    /// Greedy disjoint pairs on the host.
    pairs: f64,
    /// The pairs' members gathered, uploaded and merged.
    merge: f64,
    /// The next generation's columns.
    assemble: f64,
}

impl Steps {
    fn describe(&self) -> String {
        format!(
            "{} generation(s): order {:.2} s, candidates {:.2} s, pairs {:.2} s, merge {:.2} s, \
             assemble {:.2} s",
            self.generations, self.order, self.candidates, self.pairs, self.merge, self.assemble
        )
    }
}

/// One generation: returns the merged scene (Morton order) and how many splats it removed.
fn generation<B: Backend>(
    backend: &B,
    scene: &Scene,
    needed: usize,
    strategy: Strategy,
    steps: &mut Steps,
) -> Result<(Scene, usize)> {
    let mut clock = std::time::Instant::now();
    let mut lap = || {
        let secs = clock.elapsed().as_secs_f64();
        clock = std::time::Instant::now();
        secs
    };
    steps.generations += 1;
    let order = order::morton_with(backend, &scene.positions)?;
    let sorted = scene.select(&order);
    let n = sorted.len();
    steps.order += lap();
    let (colors, dim) = colour_rows(&sorted);
    let (costs, partners) = candidates(backend, &sorted, &colors, dim)?;
    drop(colors);
    steps.candidates += lap();
    let slots = CANDIDATES;
    let groups = match strategy {
        Strategy::Adaptive => select_adaptive(&costs, &partners, slots, n, needed),
        Strategy::Uniform => select_uniform(&costs, &partners, slots, n, needed),
    };
    let removed = groups.len();
    steps.pairs += lap();
    let merged = merge_groups(backend, &sorted, dim, &groups)?;
    steps.merge += lap();
    let next = assemble(&sorted, &groups, merged);
    steps.assemble += lap();
    Ok((next, removed))
}

/// Merges every group: the groups' members are gathered into a compact scene (one group after
/// another), which goes to the device in batches of at most [`BATCH`] splats. Returns the
/// merged splats, group k in row k.
fn merge_groups<B: Backend>(
    backend: &B,
    sorted: &Scene,
    dim: usize,
    groups: &[Group],
) -> Result<Scene> {
    let g = groups.len();
    let mut out = Scene::with_capacity(g, sorted.sh_bands, sorted.model);
    for chunk in groups.chunks(BATCH / 2) {
        let members: Vec<u32> = chunk.iter().flatten().copied().collect();
        let compact = sorted.select(&members);
        let (compact_colors, _) = colour_rows(&compact);
        let (positions, prepared, colour_rows) =
            upload_rows(backend, &compact, &compact_colors, dim, 0..members.len())?;
        let m = chunk.len();
        let offsets: Vec<u32> = (0..=m as u32).map(|k| 2 * k).collect();
        let local: Vec<u32> = (0..members.len() as u32).collect();
        let offsets = backend.upload(&offsets)?;
        let local = backend.upload(&local)?;
        let mut p = backend.zeros::<f32>(m * 3)?;
        let mut r = backend.zeros::<f32>(m * 4)?;
        let mut l = backend.zeros::<f32>(m * 3)?;
        let mut o = backend.zeros::<f32>(m)?;
        let mut c = backend.zeros::<f32>(m * dim)?;
        let splats = Splats {
            positions: &positions,
            prepared: &prepared,
            colors: &colour_rows,
            dim,
        };
        backend.decimate_merge(
            &splats,
            &offsets,
            &local,
            &mut Merged {
                positions: &mut p,
                rotations: &mut r,
                log_scales: &mut l,
                opacities: &mut o,
                colors: &mut c,
            },
        )?;
        out.positions.extend(bytemuck::cast_slice::<f32, [f32; 3]>(
            &backend.download(&p)?,
        ));
        out.rotations.extend(bytemuck::cast_slice::<f32, [f32; 4]>(
            &backend.download(&r)?,
        ));
        out.log_scales.extend(bytemuck::cast_slice::<f32, [f32; 3]>(
            &backend.download(&l)?,
        ));
        out.opacities.extend(backend.download(&o)?);
        for row in backend.download(&c)?.chunks_exact(dim) {
            out.sh_dc.push([row[0], row[1], row[2]]);
            out.sh_rest.extend_from_slice(&row[3..]);
        }
    }
    Ok(out)
}

/// The next generation's scene, in the sorted order: each splat that was not merged, and each
/// merged splat (row k of `merged` for group k) where its group's first member was.
fn assemble(sorted: &Scene, groups: &[Group], merged: Scene) -> Scene {
    let n = sorted.len();
    // Each row's fate: kept (KEEP), merged away (DROP), or the group it stands for (at its
    // group's first member in the sorted order).
    const KEEP: u32 = u32::MAX;
    const DROP: u32 = u32::MAX - 1;
    let mut fate = vec![KEEP; n];
    for (k, &[i, j]) in groups.iter().enumerate() {
        fate[i.min(j) as usize] = k as u32;
        fate[i.max(j) as usize] = DROP;
    }
    // Output row → source: a sorted row (< n) or merged splat n + k.
    let sources: Vec<usize> = fate
        .iter()
        .enumerate()
        .filter_map(|(i, &f)| match f {
            KEEP => Some(i),
            DROP => None,
            k => Some(n + k as usize),
        })
        .collect();
    fn gather<T: Copy + Send + Sync>(sources: &[usize], kept: &[T], merged: &[T]) -> Vec<T> {
        let n = kept.len();
        sources
            .par_iter()
            .map(|&s| if s < n { kept[s] } else { merged[s - n] })
            .collect()
    }
    let rest = sorted.rest_len();
    let mut sh_rest = vec![0.0; sources.len() * rest];
    if rest > 0 {
        sh_rest
            .par_chunks_mut(rest)
            .zip(sources.par_iter())
            .for_each(|(row, &s)| {
                row.copy_from_slice(if s < n {
                    sorted.rest(s)
                } else {
                    merged.rest(s - n)
                })
            });
    }
    Scene {
        positions: gather(&sources, &sorted.positions, &merged.positions),
        rotations: gather(&sources, &sorted.rotations, &merged.rotations),
        log_scales: gather(&sources, &sorted.log_scales, &merged.log_scales),
        opacities: gather(&sources, &sorted.opacities, &merged.opacities),
        sh_dc: gather(&sources, &sorted.sh_dc, &merged.sh_dc),
        sh_bands: sorted.sh_bands,
        sh_rest,
        model: sorted.model,
        extras: sorted.extras.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::Cpu;

    /// A noisy plane of `n` splats with SH1.
    fn plane(n: usize) -> Scene {
        let mut s = Scene::with_capacity(n, 1, Default::default());
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (1u64 << 31) as f32
        };
        for _ in 0..n {
            s.positions
                .push([next() * 4.0, next() * 4.0, next() * 0.01]);
            s.rotations.push([1.0, next() * 0.1, 0.0, 0.0]);
            s.log_scales.push([-3.0 - next(), -3.0 - next(), -6.0]);
            s.opacities.push(next() * 4.0 - 1.0);
            s.sh_dc.push([next(), next(), next()]);
            for _ in 0..9 {
                s.sh_rest.push(next() * 0.1);
            }
        }
        s
    }

    #[test]
    fn halves_each_level() {
        let scene = plane(5000);
        for strategy in [Strategy::Adaptive, Strategy::Uniform] {
            let levels = coarser_levels(&Cpu, &scene, 3, strategy, &()).unwrap();
            assert_eq!(levels.len(), 2);
            assert_eq!(levels[0].len(), 2500, "{strategy:?}");
            assert_eq!(levels[1].len(), 1250, "{strategy:?}");
            for level in &levels {
                level.check_columns().unwrap();
                assert!(level.positions.iter().flatten().all(|v| v.is_finite()));
                assert!(level.opacities.iter().all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn mass_and_centre_are_kept() {
        use crate::backend::cpu::decimate::prepare;
        let scene = plane(4000);
        let mass = |s: &Scene| -> (f64, [f64; 3]) {
            let mut total = 0.0f64;
            let mut centre = [0.0f64; 3];
            for i in 0..s.len() {
                let m = prepare(s.rotations[i], s.log_scales[i], s.opacities[i])[0] as f64;
                total += m;
                for k in 0..3 {
                    centre[k] += m * s.positions[i][k] as f64;
                }
            }
            (total, centre.map(|c| c / total))
        };
        let (m0, c0) = mass(&scene);
        let half = decimate(&Cpu, &scene, 2000, Strategy::Adaptive).unwrap();
        let (m1, c1) = mass(&half);
        // Mass is conserved except where a merged opacity hits its cap of 1.
        assert!(m1 <= m0 * 1.001 && m1 > 0.8 * m0, "{m0} {m1}");
        for k in 0..3 {
            assert!((c0[k] - c1[k]).abs() < 0.05, "{c0:?} {c1:?}");
        }
    }

    #[test]
    fn deterministic_and_stops_when_nothing_merges() {
        let scene = plane(3000);
        let a = decimate(&Cpu, &scene, 1500, Strategy::Adaptive).unwrap();
        let b = decimate(&Cpu, &scene, 1500, Strategy::Adaptive).unwrap();
        assert_eq!(a, b);
        // One splat cannot merge: the target is met at once.
        let one = scene.select(&[0]);
        assert_eq!(decimate(&Cpu, &one, 1, Strategy::Uniform).unwrap(), one);
    }

    #[test]
    fn strategy_names() {
        assert_eq!("uniform".parse::<Strategy>(), Ok(Strategy::Uniform));
        assert_eq!("adaptive".parse::<Strategy>(), Ok(Strategy::Adaptive));
        assert!(
            "fast"
                .parse::<Strategy>()
                .unwrap_err()
                .contains("uniform or adaptive")
        );
    }
}
