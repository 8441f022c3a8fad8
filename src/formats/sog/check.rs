//! Conformance checks: the rules a SOG must meet for the PlayCanvas engine to show it as
//! written (`sog-format.md` §5.4, with the layout facts of §1.2, §3.6, §3.7). Used by tests
//! and by `splatpress info` (via `inspect`) on SOG inputs; an empty list means conformant.

use super::{Image, Sog};
use crate::scene::sh_coeffs;

/// WebP's largest side.
const MAX_SIDE: u32 = 16383;
/// Largest SH palette the 16-bit labels can address.
const MAX_PALETTE: u32 = 65536;

/// Returns one message per violated rule; an empty vector means `sog` is conformant.
pub fn check(sog: &Sog) -> Vec<String> {
    let mut out = Vec::new();
    let meta = &sog.meta;
    let count = meta.count as usize;
    if meta.version != 2 {
        out.push(format!("version is {}, must be 2", meta.version));
    }

    // Codebooks: 256 finite values, ascending (codebook[0] = min, [255] = max).
    let mut books = vec![
        ("scales", &meta.scales.codebook),
        ("sh0", &meta.sh0.codebook),
    ];
    if let Some(shn) = &meta.sh_n {
        books.push(("shN", &shn.codebook));
    }
    for (name, cb) in books {
        if cb.len() != 256 {
            out.push(format!(
                "{name}.codebook has {} entries, must be 256",
                cb.len()
            ));
        }
        if let Some(i) = cb.iter().position(|v| !v.is_finite()) {
            out.push(format!("{name}.codebook[{i}] = {} is not finite", cb[i]));
        }
        if let Some(i) = cb.windows(2).position(|w| w[1] < w[0]) {
            out.push(format!(
                "{name}.codebook is not ascending: [{i}] = {} > [{}] = {}",
                cb[i],
                i + 1,
                cb[i + 1]
            ));
        }
    }

    // means range.
    for a in 0..3 {
        let (lo, hi) = (meta.means.mins[a], meta.means.maxs[a]);
        if !lo.is_finite() || !hi.is_finite() {
            out.push(format!(
                "means mins/maxs on axis {a} are not finite ({lo}, {hi})"
            ));
        } else if lo > hi {
            out.push(format!("means.mins[{a}] = {lo} > means.maxs[{a}] = {hi}"));
        }
    }

    // files: fixed counts per key, unique names, at the root, present, in bundle order.
    let mut arrays = vec![
        ("means", &meta.means.files, 2),
        ("quats", &meta.quats.files, 1),
        ("scales", &meta.scales.files, 1),
        ("sh0", &meta.sh0.files, 1),
    ];
    if let Some(shn) = &meta.sh_n {
        arrays.push(("shN", &shn.files, 2));
    }
    for (key, files, n) in &arrays {
        if files.len() != *n {
            out.push(format!(
                "{key}.files has {} names, must have {n}",
                files.len()
            ));
        }
    }
    let names = meta.files();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            out.push(format!("file name `{name}` is used twice"));
        }
        if *name == "meta.json" || name.contains('/') || name.contains('\\') || name.is_empty() {
            out.push(format!(
                "file name `{name}` must be a plain name at the root, not meta.json"
            ));
        }
        if sog.image(name).is_none() {
            out.push(format!(
                "meta.json names `{name}` but there is no such texture"
            ));
        }
    }
    let stored: Vec<&str> = sog.images.iter().map(|(n, _)| n.as_str()).collect();
    if stored != names && names.iter().all(|n| stored.contains(n)) {
        out.push(format!(
            "textures are stored in the order {stored:?}; the bundle order is {names:?}"
        ));
    }

    // Per-splat textures: identical W×H, W·H ≥ count, sides within WebP's limit.
    let mut per_splat: Vec<(&str, &Image)> = Vec::new();
    for (files, slot) in [
        (&meta.means.files, 0),
        (&meta.means.files, 1),
        (&meta.quats.files, 0),
        (&meta.scales.files, 0),
        (&meta.sh0.files, 0),
    ] {
        per_splat.extend(named(sog, files, slot));
    }
    if let Some(shn) = &meta.sh_n {
        per_splat.extend(named(sog, &shn.files, 1));
    }
    for (name, img) in sog.images.iter().map(|(n, i)| (n.as_str(), i)) {
        if img.width == 0 || img.height == 0 || img.width > MAX_SIDE || img.height > MAX_SIDE {
            out.push(format!(
                "`{name}` is {}x{}; WebP sides must be 1..={MAX_SIDE}",
                img.width, img.height
            ));
        }
        if img.rgba.len() != img.width as usize * img.height as usize * 4 {
            out.push(format!(
                "`{name}` holds {} bytes, not {}x{} RGBA",
                img.rgba.len(),
                img.width,
                img.height
            ));
        }
    }
    let sized = |img: &Image| img.rgba.len() == img.width as usize * img.height as usize * 4;
    if let Some((first, base)) = per_splat.first().copied() {
        for (name, img) in &per_splat[1..] {
            if (img.width, img.height) != (base.width, base.height) {
                out.push(format!(
                    "`{name}` is {}x{} but `{first}` is {}x{}; per-splat textures must match",
                    img.width, img.height, base.width, base.height
                ));
            }
        }
        for (name, img) in &per_splat {
            if (img.width as usize) * (img.height as usize) < count {
                out.push(format!(
                    "`{name}` has {} texels, fewer than count {count}",
                    img.width as usize * img.height as usize
                ));
            }
        }
    }

    // quats alpha: mode tag 252..=255 for every splat.
    if let Some((name, quats)) = named(sog, &meta.quats.files, 0)
        && sized(quats)
    {
        let n = count.min(quats.rgba.len() / 4);
        let bad: Vec<usize> = (0..n).filter(|&i| quats.rgba[i * 4 + 3] < 252).collect();
        if let Some(&first) = bad.first() {
            out.push(format!(
                    "`{name}`: {} splats have an alpha (mode tag) outside 252..=255, first at texel {first} (alpha {})",
                    bad.len(),
                    quats.rgba[first * 4 + 3]
                ));
        }
    }

    // SH palette: bands, centroid atlas shape, labels in range.
    if let Some(shn) = &meta.sh_n {
        if !(1..=3).contains(&shn.bands) {
            out.push(format!("shN.bands is {}, must be 1, 2 or 3", shn.bands));
        }
        if shn.count == 0 || shn.count > MAX_PALETTE {
            out.push(format!(
                "shN.count is {}, must be 1..={MAX_PALETTE}",
                shn.count
            ));
        }
        if let Some((name, centroids)) = named(sog, &shn.files, 0) {
            let k = sh_coeffs(shn.bands.clamp(1, 3)) as u32;
            if centroids.width != 64 * k {
                out.push(format!(
                    "`{name}` is {} wide; {} bands need 64·{k} = {} (the engine derives the band count from this width)",
                    centroids.width,
                    shn.bands,
                    64 * k
                ));
            }
            let rows = shn.count.div_ceil(64);
            if centroids.height != rows {
                out.push(format!(
                    "`{name}` is {} rows high; shN.count {} needs ceil(count/64) = {rows}",
                    centroids.height, shn.count
                ));
            }
        }
        if let Some((name, labels)) = named(sog, &shn.files, 1)
            && sized(labels)
        {
            let n = count.min(labels.rgba.len() / 4);
            let label =
                |i: usize| u32::from(labels.rgba[i * 4]) | (u32::from(labels.rgba[i * 4 + 1]) << 8);
            let bad: Vec<usize> = (0..n).filter(|&i| label(i) >= shn.count).collect();
            if let Some(&first) = bad.first() {
                out.push(format!(
                        "`{name}`: {} labels are not below shN.count {}, first at texel {first} (label {})",
                        bad.len(),
                        shn.count,
                        label(first)
                    ));
            }
        }
    }
    out
}

/// The texture in slot `slot` of a `files` array, with its name.
fn named<'a>(sog: &'a Sog, files: &'a [String], slot: usize) -> Option<(&'a str, &'a Image)> {
    let name = files.get(slot)?;
    sog.image(name).map(|img| (name.as_str(), img))
}
