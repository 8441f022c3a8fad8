//! SOG → Scene with the PlayCanvas engine's decoder formulas (`sog-format.md` §5.2).
//!
//! This is the conformance oracle: it follows the engine, not our encoder, so an encoder bug
//! shows up as a decode difference. Everything is validated before indexing; malformed input
//! gives an `Err` naming the texture and texel, never a panic.

use super::{Image, Sog};
use crate::scene::{Model, Scene, sh_coeffs};

/// Opacity logit for α ≤ 0 (the engine's `decompress` clamp).
pub const MIN_LOGIT: f32 = -40.0;
/// Opacity logit for α ≥ 1.
pub const MAX_LOGIT: f32 = 40.0;

/// Linear interpolation as the shaders' `mix`.
fn mix(a: f64, b: f64, t: f64) -> f64 {
    a * (1.0 - t) + b * t
}

/// Position from the 16-bit value `q` on one axis: un-normalise, then undo the symmetric log.
pub fn position(min: f64, max: f64, q: u16) -> f32 {
    let n = mix(min, max, f64::from(q) / 65535.0);
    (n.signum() * (n.abs().exp() - 1.0)) as f32
}

/// Quaternion (w, x, y, z) from a `quats.webp` texel; an invalid mode gives the identity.
pub fn rotation(texel: [u8; 4]) -> [f32; 4] {
    let comp = |b: u8| (f64::from(b) / 255.0 - 0.5) * std::f64::consts::SQRT_2;
    let (a, b, c) = (comp(texel[0]), comp(texel[1]), comp(texel[2]));
    let d = (1.0 - a * a - b * b - c * c).max(0.0).sqrt();
    let q = match texel[3].wrapping_sub(252) {
        0 => [d, a, b, c],
        1 => [a, d, b, c],
        2 => [a, b, d, c],
        3 => [a, b, c, d],
        _ => return [1.0, 0.0, 0.0, 0.0],
    };
    q.map(|v| v as f32)
}

/// Opacity logit from the alpha byte: −ln(1/α − 1), clamped to ±40 at α = 0 and 1.
pub fn opacity_logit(alpha: u8) -> f32 {
    let a = f64::from(alpha) / 255.0;
    if a <= 0.0 {
        MIN_LOGIT
    } else if a >= 1.0 {
        MAX_LOGIT
    } else {
        (-(1.0 / a - 1.0).ln()) as f32
    }
}

fn image<'a>(sog: &'a Sog, files: &[String], slot: usize, what: &str) -> Result<&'a Image, String> {
    let name = files
        .get(slot)
        .ok_or_else(|| format!("meta.json `{what}` has no file #{slot}"))?;
    let img = sog
        .image(name)
        .ok_or_else(|| format!("texture `{name}` ({what}) is missing"))?;
    let needed = img.width as usize * img.height as usize * 4;
    if img.rgba.len() != needed {
        return Err(format!(
            "texture `{name}` holds {} bytes, {}x{} RGBA needs {needed}",
            img.rgba.len(),
            img.width,
            img.height
        ));
    }
    Ok(img)
}

fn codebook(values: &[f32], what: &str) -> Result<[f32; 256], String> {
    values
        .try_into()
        .map_err(|_| format!("{what} codebook has {} entries, expected 256", values.len()))
}

/// Decodes the first `meta.count` texels of `sog` into a scene.
pub fn decode(sog: &Sog) -> Result<Scene, String> {
    let meta = &sog.meta;
    if meta.version != 2 {
        return Err(format!(
            "meta.json version is {}, only SOG v2 is decoded",
            meta.version
        ));
    }
    let count = meta.count as usize;
    let means_l = image(sog, &meta.means.files, 0, "means")?;
    let means_u = image(sog, &meta.means.files, 1, "means")?;
    let quats = image(sog, &meta.quats.files, 0, "quats")?;
    let scales = image(sog, &meta.scales.files, 0, "scales")?;
    let sh0 = image(sog, &meta.sh0.files, 0, "sh0")?;
    let mut per_splat = vec![
        (&meta.means.files[0], means_l),
        (&meta.means.files[1], means_u),
        (&meta.quats.files[0], quats),
        (&meta.scales.files[0], scales),
        (&meta.sh0.files[0], sh0),
    ];
    let scale_cb = codebook(&meta.scales.codebook, "scales")?;
    let sh0_cb = codebook(&meta.sh0.codebook, "sh0")?;

    // SH: bands from the meta, cross-checked with the centroid width as the engine derives it.
    let sh = match &meta.sh_n {
        None => None,
        Some(shn) => {
            if !(1..=3).contains(&shn.bands) {
                return Err(format!("shN.bands is {}, expected 1, 2 or 3", shn.bands));
            }
            let k = sh_coeffs(shn.bands);
            let centroids = image(sog, &shn.files, 0, "shN")?;
            let labels = image(sog, &shn.files, 1, "shN")?;
            per_splat.push((&shn.files[1], labels));
            if centroids.width as usize != 64 * k {
                return Err(format!(
                    "centroid texture `{}` is {} wide; {} bands need 64·{k} = {}",
                    shn.files[0],
                    centroids.width,
                    shn.bands,
                    64 * k
                ));
            }
            let rows = centroids.height as usize;
            if shn.count == 0 || shn.count as usize > 64 * rows {
                return Err(format!(
                    "shN.count {} does not fit the {}-row centroid texture (64 entries a row)",
                    shn.count, rows
                ));
            }
            let cb = codebook(&shn.codebook, "shN")?;
            Some((shn.bands, k, shn.count as usize, centroids, labels, cb))
        }
    };

    let (w, h) = (means_l.width, means_l.height);
    for (name, img) in &per_splat {
        if (img.width, img.height) != (w, h) {
            return Err(format!(
                "texture `{name}` is {}x{}, but `{}` is {w}x{h}; per-splat textures must match",
                img.width, img.height, meta.means.files[0]
            ));
        }
    }
    if (w as usize) * (h as usize) < count {
        return Err(format!(
            "textures are {w}x{h} = {} texels, fewer than count {count}",
            w as usize * h as usize
        ));
    }

    let bands = sh.as_ref().map_or(0, |s| s.0);
    let model = Model::from_sog_name(meta.model.as_deref());
    let mut scene = Scene::with_capacity(count, bands, model);
    scene.extras = meta.extras.clone().filter(serde_json::Value::is_object);
    let (mins, maxs) = (meta.means.mins, meta.means.maxs);
    for i in 0..count {
        let (l, u) = (means_l.texel(i), means_u.texel(i));
        scene.positions.push(std::array::from_fn(|a| {
            position(mins[a], maxs[a], u16::from(l[a]) | (u16::from(u[a]) << 8))
        }));
        scene.rotations.push(rotation(quats.texel(i)));
        let s = scales.texel(i);
        scene
            .log_scales
            .push(std::array::from_fn(|a| scale_cb[usize::from(s[a])]));
        let c = sh0.texel(i);
        scene
            .sh_dc
            .push(std::array::from_fn(|a| sh0_cb[usize::from(c[a])]));
        scene.opacities.push(opacity_logit(c[3]));
        if let Some((_, k, palette, centroids, labels, cb)) = &sh {
            let t = labels.texel(i);
            let label = usize::from(t[0]) | (usize::from(t[1]) << 8);
            if label >= *palette {
                return Err(format!(
                    "splat {i}: SH label {label} is not below shN.count {palette}"
                ));
            }
            let (u, v) = ((label % 64) * k, label / 64);
            let row = v * centroids.width as usize;
            let start = scene.sh_rest.len();
            scene.sh_rest.resize(start + 3 * k, 0.0);
            for j in 0..*k {
                let texel = centroids.texel(row + u + j);
                for ch in 0..3 {
                    scene.sh_rest[start + ch * k + j] = cb[usize::from(texel[ch])];
                }
            }
        }
    }
    scene.check_columns()?;
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_formulas_hit_their_end_points() {
        // q = 0 → mins, q = 65535 → maxs; L⁻¹(ln 2) = 1, L⁻¹(−ln 3) = −2.
        assert!((position(-3f64.ln(), 2f64.ln(), 0) + 2.0).abs() < 1e-6);
        assert!((position(-3f64.ln(), 2f64.ln(), 65535) - 1.0).abs() < 1e-6);
        assert_eq!(position(0.0, 0.0, 1234), 0.0);
        assert_eq!(opacity_logit(0), -40.0);
        assert_eq!(opacity_logit(255), 40.0);
        // α = 51/255 = 0.2 → logit −ln 4
        assert!((opacity_logit(51) + 4f32.ln()).abs() < 1e-6);
        assert_eq!(rotation([9, 9, 9, 0]), [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(rotation([9, 9, 9, 251]), [1.0, 0.0, 0.0, 0.0]);
        // bytes 0 → −√2/2 for every stored component; the largest goes where the mode says.
        let h = -std::f32::consts::FRAC_1_SQRT_2;
        let r = rotation([0, 0, 255, 253]);
        assert!((r[0] - h).abs() < 1e-6 && (r[2] - h).abs() < 1e-6);
        assert!((r[3] + h).abs() < 1e-6);
        assert_eq!(r[1], 0.0); // 1 − ½ − ½ − ½ < 0 → clamped to 0
    }
}
