//! Image metrics between two renders of one view (`eval --render`): PSNR, SSIM and the PSNR
//! over foreground pixels. Colours are clamped to [0, 1] first, as an 8-bit display would.

/// PSNR reported for identical pictures (the mean squared error is 0) and the ceiling of
/// every PSNR, so reports stay finite and JSON-safe.
pub const MAX_PSNR_DB: f64 = 100.0;
/// A pixel is foreground when either render's coverage exceeds this.
pub const FOREGROUND_ALPHA: f32 = 0.05;

/// SSIM window: 11×11 Gaussian, σ = 1.5 (Wang et al. 2004).
const SSIM_RADIUS: usize = 5;
const SSIM_SIGMA: f64 = 1.5;
/// SSIM stabilisers for a dynamic range of 1: (0.01)² and (0.03)².
const SSIM_C1: f64 = 1e-4;
const SSIM_C2: f64 = 9e-4;

/// 10·log10(1 / mse), capped at [`MAX_PSNR_DB`].
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse <= 0.0 {
        MAX_PSNR_DB
    } else {
        (-10.0 * mse.log10()).min(MAX_PSNR_DB)
    }
}

fn clamp01(v: f32) -> f64 {
    f64::from(v.clamp(0.0, 1.0))
}

/// Mean squared error over the R, G, B values of all pixels of equal-sized `a` and `b`.
pub fn mse(a: &[[f32; 3]], b: &[[f32; 3]]) -> f64 {
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| {
            (0..3)
                .map(|c| (clamp01(p[c]) - clamp01(q[c])).powi(2))
                .sum::<f64>()
        })
        .sum();
    sum / (3 * a.len().max(1)) as f64
}

/// PSNR over RGB of two pictures.
pub fn psnr(a: &[[f32; 3]], b: &[[f32; 3]]) -> f64 {
    psnr_from_mse(mse(a, b))
}

/// PSNR over the pixels where either coverage exceeds [`FOREGROUND_ALPHA`], and the share of
/// pixels that are foreground; `None` for the PSNR when no pixel is.
pub fn masked_psnr(
    a: &[[f32; 3]],
    alpha_a: &[f32],
    b: &[[f32; 3]],
    alpha_b: &[f32],
) -> (Option<f64>, f64) {
    let mut sum = 0.0;
    let mut count = 0usize;
    for i in 0..a.len() {
        if alpha_a[i] > FOREGROUND_ALPHA || alpha_b[i] > FOREGROUND_ALPHA {
            count += 1;
            sum += (0..3)
                .map(|c| (clamp01(a[i][c]) - clamp01(b[i][c])).powi(2))
                .sum::<f64>();
        }
    }
    let share = count as f64 / a.len().max(1) as f64;
    if count == 0 {
        return (None, share);
    }
    (Some(psnr_from_mse(sum / (3 * count) as f64)), share)
}

/// The normalised 1-D Gaussian of the SSIM window.
fn window() -> [f64; 2 * SSIM_RADIUS + 1] {
    let mut w = [0.0; 2 * SSIM_RADIUS + 1];
    for (i, v) in w.iter_mut().enumerate() {
        let x = i as f64 - SSIM_RADIUS as f64;
        *v = (-x * x / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp();
    }
    let total: f64 = w.iter().sum();
    w.map(|v| v / total)
}

/// Separable Gaussian filter over the positions where the window fits inside the picture
/// ("valid"): output (width − 10) × (height − 10).
fn filter(values: &[f64], width: usize, height: usize) -> Vec<f64> {
    let w = window();
    let n = 2 * SSIM_RADIUS + 1;
    let (ow, oh) = (width + 1 - n, height + 1 - n);
    let mut rows = vec![0.0; ow * height];
    for y in 0..height {
        for x in 0..ow {
            rows[y * ow + x] = (0..n).map(|k| w[k] * values[y * width + x + k]).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..n).map(|k| w[k] * rows[(y + k) * ow + x]).sum();
        }
    }
    out
}

/// Mean SSIM of two pictures of `width` × `height`, computed per colour channel (R, G, B,
/// each clamped to [0, 1]) over every position where the 11×11 window fits, then averaged
/// over the channels. Pictures smaller than the window are compared as one window.
pub fn ssim(a: &[[f32; 3]], b: &[[f32; 3]], width: usize, height: usize) -> f64 {
    let n = 2 * SSIM_RADIUS + 1;
    let mut total = 0.0;
    for c in 0..3 {
        let x: Vec<f64> = a.iter().map(|p| clamp01(p[c])).collect();
        let y: Vec<f64> = b.iter().map(|p| clamp01(p[c])).collect();
        if width < n || height < n {
            total += global_ssim(&x, &y);
            continue;
        }
        let products = |f: &dyn Fn(usize) -> f64| -> Vec<f64> { (0..x.len()).map(f).collect() };
        let mx = filter(&x, width, height);
        let my = filter(&y, width, height);
        let mxx = filter(&products(&|i| x[i] * x[i]), width, height);
        let myy = filter(&products(&|i| y[i] * y[i]), width, height);
        let mxy = filter(&products(&|i| x[i] * y[i]), width, height);
        let mut sum = 0.0;
        for i in 0..mx.len() {
            let (ux, uy) = (mx[i], my[i]);
            let vx = mxx[i] - ux * ux;
            let vy = myy[i] - uy * uy;
            let cov = mxy[i] - ux * uy;
            sum += ((2.0 * ux * uy + SSIM_C1) * (2.0 * cov + SSIM_C2))
                / ((ux * ux + uy * uy + SSIM_C1) * (vx + vy + SSIM_C2));
        }
        total += sum / mx.len() as f64;
    }
    total / 3.0
}

/// SSIM with the whole picture as one (uniform) window.
fn global_ssim(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let ux = x.iter().sum::<f64>() / n;
    let uy = y.iter().sum::<f64>() / n;
    let vx = x.iter().map(|v| (v - ux).powi(2)).sum::<f64>() / n;
    let vy = y.iter().map(|v| (v - uy).powi(2)).sum::<f64>() / n;
    let cov = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - ux) * (b - uy))
        .sum::<f64>()
        / n;
    ((2.0 * ux * uy + SSIM_C1) * (2.0 * cov + SSIM_C2))
        / ((ux * ux + uy * uy + SSIM_C1) * (vx + vy + SSIM_C2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_pictures() {
        let a: Vec<[f32; 3]> = (0..400).map(|i| [i as f32 / 400.0, 0.5, 0.1]).collect();
        assert_eq!(psnr(&a, &a), MAX_PSNR_DB);
        assert!((ssim(&a, &a, 20, 20) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psnr_of_a_uniform_error() {
        let a = vec![[0.5f32; 3]; 100];
        let b = vec![[0.6f32; 3]; 100];
        assert!((psnr(&a, &b) - 20.0).abs() < 1e-4);
    }
}
