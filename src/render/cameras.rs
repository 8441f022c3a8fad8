//! Where the pictures are taken from: the training cameras of an INRIA `cameras.json`, or an
//! orbit fitted to the scene by the rule of `tests/browser/cameras.mjs` (so our renders can be
//! compared with the PlayCanvas engine's): centre = per-axis median of the finite centres,
//! radius = the 0.9-quantile of the distances to it (at least 10⁻³), a 50° vertical field of
//! view at the distance that fits that radius, 20° above the centre, azimuth 2πk/N + 0.3, y up.

use std::path::Path;

use serde_json::Value;

use super::Camera;
use crate::{Error, Result, Scene};

/// Vertical field of view of the orbit cameras, degrees.
pub const ORBIT_FOV_DEG: f32 = 50.0;
/// Elevation of the orbit cameras above the centre, degrees.
pub const ORBIT_ELEVATION_DEG: f32 = 20.0;

/// The element at quantile `q` of a sorted list, as cameras.mjs picks it.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64).floor() as usize).min(sorted.len() - 1)]
}

/// `count` orbit cameras of `size`×`size` pixels around `scene` (see the module docs).
pub fn orbit(scene: &Scene, count: usize, size: u32) -> Vec<Camera> {
    let finite: Vec<[f64; 3]> = scene
        .positions
        .iter()
        .filter(|p| p.iter().all(|v| v.is_finite()))
        .map(|p| p.map(f64::from))
        .collect();
    let mut center = [0.0f64; 3];
    if !finite.is_empty() {
        for (axis, c) in center.iter_mut().enumerate() {
            let mut values: Vec<f64> = finite.iter().map(|p| p[axis]).collect();
            values.sort_by(f64::total_cmp);
            *c = quantile(&values, 0.5);
        }
    }
    let mut distances: Vec<f64> = finite
        .iter()
        .map(|p| {
            ((p[0] - center[0]).powi(2) + (p[1] - center[1]).powi(2) + (p[2] - center[2]).powi(2))
                .sqrt()
        })
        .collect();
    distances.sort_by(f64::total_cmp);
    let radius = if distances.is_empty() {
        1e-3
    } else {
        quantile(&distances, 0.9).max(1e-3)
    };
    let fov = f64::from(ORBIT_FOV_DEG).to_radians();
    let distance = radius / (fov / 2.0).sin();
    let elevation = f64::from(ORBIT_ELEVATION_DEG).to_radians();
    (0..count)
        .map(|k| {
            let azimuth = std::f64::consts::TAU * k as f64 / count as f64 + 0.3;
            let eye = [
                center[0] + distance * elevation.cos() * azimuth.sin(),
                center[1] + distance * elevation.sin(),
                center[2] + distance * elevation.cos() * azimuth.cos(),
            ];
            let focal = 0.5 * size as f64 / (fov / 2.0).tan();
            look_at(format!("orbit {k}"), eye, center, focal, size, size)
        })
        .collect()
}

/// A camera at `eye` looking at `target` with y up (the engine's `lookAt`), in OpenCV axes.
pub fn look_at(
    name: String,
    eye: [f64; 3],
    target: [f64; 3],
    focal: f64,
    width: u32,
    height: u32,
) -> Camera {
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let cross = |a: [f64; 3], b: [f64; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let normal = |a: [f64; 3]| {
        let n = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        a.map(|v| v / n)
    };
    let forward = normal(sub(target, eye));
    let right = normal(cross(forward, [0.0, 1.0, 0.0]));
    let down = cross(forward, right);
    let rotation = [right, down, forward];
    let translation = [0, 1, 2]
        .map(|k| -(rotation[k][0] * eye[0] + rotation[k][1] * eye[1] + rotation[k][2] * eye[2]));
    Camera {
        name,
        rotation: rotation.map(|r| r.map(|v| v as f32)),
        translation: translation.map(|v| v as f32),
        fx: focal as f32,
        fy: focal as f32,
        cx: 0.5 * width as f32,
        cy: 0.5 * height as f32,
        width,
        height,
    }
}

/// Reads an INRIA trainer `cameras.json`: a list of `{id, img_name, width, height, position,
/// rotation, fx, fy}`, `rotation` the 3×3 camera-to-world matrix (rows), OpenCV axes. Every
/// field is checked; an error names the file, the entry and the field.
pub fn read_cameras_json(path: &Path) -> Result<Vec<Camera>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Error::parse(path, format!("line {}", e.line()), format!("not JSON: {e}")))?;
    let Value::Array(entries) = value else {
        return Err(Error::parse(
            path,
            "top level",
            "expected a list of cameras (INRIA cameras.json)",
        ));
    };
    if entries.is_empty() {
        return Err(Error::parse(
            path,
            "top level",
            "the list of cameras is empty",
        ));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| camera_entry(path, i, entry))
        .collect()
}

/// One entry of a `cameras.json`, with what an error needs to name it.
struct Entry<'a> {
    path: &'a Path,
    index: usize,
    value: &'a Value,
}

impl Entry<'_> {
    /// Where an error in field `name` is: the camera and the field.
    fn at(&self, name: &str) -> String {
        format!("camera {}, field `{name}`", self.index)
    }

    /// Field `name` as `read` takes it, or an error naming the file, the camera and the field
    /// and saying what was `expected`.
    fn field<T>(
        &self,
        name: &str,
        expected: &str,
        read: impl FnOnce(&Value) -> Option<T>,
    ) -> Result<T> {
        self.value
            .get(name)
            .and_then(read)
            .ok_or_else(|| Error::parse(self.path, self.at(name), expected))
    }

    /// Field `name` as a finite number.
    fn number(&self, name: &str) -> Result<f64> {
        self.field(name, "expected a finite number", |v| {
            v.as_f64().filter(|v| v.is_finite())
        })
    }

    /// Field `name` as a size in pixels, 1 to 16384.
    fn size(&self, name: &str) -> Result<u32> {
        self.field(name, "expected a whole number of pixels, 1 to 16384", |v| {
            v.as_u64()
                .filter(|v| (1..=16384).contains(v))
                .map(|v| v as u32)
        })
    }
}

/// 3 finite numbers.
fn vector(v: &Value) -> Option<[f64; 3]> {
    let list = v.as_array()?;
    if list.len() != 3 {
        return None;
    }
    let mut out = [0.0; 3];
    for (o, x) in out.iter_mut().zip(list) {
        *o = x.as_f64().filter(|x| x.is_finite())?;
    }
    Some(out)
}

fn camera_entry(path: &Path, index: usize, entry: &Value) -> Result<Camera> {
    let fields = Entry {
        path,
        index,
        value: entry,
    };
    let position = fields.field("position", "expected 3 finite numbers", vector)?;
    let rotation = fields.field(
        "rotation",
        "expected a 3×3 matrix of finite numbers",
        |v| {
            let rows = v.as_array().filter(|rows| rows.len() == 3)?;
            let r: Vec<[f64; 3]> = rows.iter().filter_map(vector).collect();
            (r.len() == 3).then(|| [r[0], r[1], r[2]])
        },
    )?;
    let (width, height) = (fields.size("width")?, fields.size("height")?);
    let (fx, fy) = (fields.number("fx")?, fields.number("fy")?);
    if fx <= 0.0 || fy <= 0.0 {
        return Err(Error::parse(
            path,
            fields.at("fx"),
            "focal lengths must be positive",
        ));
    }
    let name = entry
        .get("img_name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| entry.get("id").map(|id| format!("camera {id}")))
        .unwrap_or_else(|| format!("camera {index}"));
    // World → camera = transpose of camera → world; t = −Rᵀ_c2w · position.
    let w2c = [0, 1, 2].map(|r| [0, 1, 2].map(|c| rotation[c][r]));
    let translation = [0, 1, 2]
        .map(|k| -(w2c[k][0] * position[0] + w2c[k][1] * position[1] + w2c[k][2] * position[2]));
    Ok(Camera {
        name,
        rotation: w2c.map(|r| r.map(|v| v as f32)),
        translation: translation.map(|v| v as f32),
        fx: fx as f32,
        fy: fy as f32,
        cx: 0.5 * width as f32,
        cy: 0.5 * height as f32,
        width,
        height,
    })
}

/// `camera` scaled so that its longer side is at most `size` pixels (focal lengths and
/// principal point scaled alike); unchanged when already that small.
pub fn fit(camera: &Camera, size: u32) -> Camera {
    let long = camera.width.max(camera.height);
    if long <= size {
        return camera.clone();
    }
    let s = size as f32 / long as f32;
    let width = ((camera.width as f32 * s).round() as u32).max(1);
    let height = ((camera.height as f32 * s).round() as u32).max(1);
    Camera {
        fx: camera.fx * width as f32 / camera.width as f32,
        fy: camera.fy * height as f32 / camera.height as f32,
        cx: 0.5 * width as f32,
        cy: 0.5 * height as f32,
        width,
        height,
        ..camera.clone()
    }
}

/// At most `count` of `cameras`, evenly spaced through the list (all when there are fewer).
pub fn spread(cameras: Vec<Camera>, count: usize) -> Vec<Camera> {
    if cameras.len() <= count || count == 0 {
        return cameras;
    }
    let n = cameras.len();
    (0..count).map(|k| cameras[k * n / count].clone()).collect()
}
