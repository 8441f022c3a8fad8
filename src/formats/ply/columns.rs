//! Maps the vertex element's properties to scene columns by name, and scatters row-major
//! `f32` vertex rows into those columns.

use std::path::Path;

use super::Element;
use crate::scene::{Model, bands_for_rest_count, sh_coeffs};
use crate::{Error, Result, Scene};

/// Rows per task when scattering in parallel: large enough to amortise the task, small enough
/// to spread over the cores.
const PARALLEL_ROWS: usize = 16 * 1024;

/// Where each scene field is in a vertex row. Indices count the vertex element's scalar
/// properties only (list properties are not part of the row matrix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VertexLayout {
    /// Scalar properties per row: the row stride of the matrix.
    pub stride: usize,
    position: [usize; 3],
    rotation: [usize; 4],
    /// `scale_2` is `None` for 2DGS scenes.
    scale: [Option<usize>; 3],
    opacity: usize,
    dc: [usize; 3],
    /// `f_rest_0..n-1`.
    rest: Vec<usize>,
    /// True when `rest` is `first, first + 1, …` (the usual case), so a row's SH copy is one memcpy.
    rest_contiguous: bool,
    bands: u8,
    model: Model,
}

impl VertexLayout {
    /// Finds every required property of `vertex` by name; `path` names the file in errors.
    pub fn new(vertex: &Element, path: &Path) -> Result<VertexLayout> {
        let mut scalar_index = Vec::with_capacity(vertex.properties.len());
        let mut stride = 0;
        for p in &vertex.properties {
            scalar_index.push(stride);
            stride += usize::from(p.list_count.is_none());
        }
        let find = |name: &str| -> Result<Option<usize>> {
            match vertex.property(name) {
                None => Ok(None),
                Some((_, p)) if p.list_count.is_some() => Err(Error::parse(
                    path,
                    format!("element `{}`, property `{name}`", vertex.name),
                    "is a list property; expected a scalar (float, double or an integer type)",
                )),
                Some((i, _)) => Ok(Some(scalar_index[i])),
            }
        };
        let need = |name: &str| -> Result<usize> {
            find(name)?.ok_or_else(|| {
                Error::parse(
                    path,
                    "header",
                    format!("element `{}` has no property `{name}`", vertex.name),
                )
            })
        };
        let position = [need("x")?, need("y")?, need("z")?];
        let rotation = [
            need("rot_0")?,
            need("rot_1")?,
            need("rot_2")?,
            need("rot_3")?,
        ];
        let scale = [
            Some(need("scale_0")?),
            Some(need("scale_1")?),
            find("scale_2")?,
        ];
        let opacity = need("opacity")?;
        let dc = [need("f_dc_0")?, need("f_dc_1")?, need("f_dc_2")?];

        let rest_names: Vec<&str> = vertex
            .properties
            .iter()
            .filter_map(|p| p.name.strip_prefix("f_rest_"))
            .collect();
        let mut rest = Vec::with_capacity(rest_names.len());
        for j in 0..rest_names.len() {
            let index = find(&format!("f_rest_{j}"))?.ok_or_else(|| {
                Error::parse(
                    path,
                    "header",
                    format!(
                        "element `{}` has {} f_rest properties but no `f_rest_{j}`: expected f_rest_0..f_rest_{} with no gaps",
                        vertex.name,
                        rest_names.len(),
                        rest_names.len() - 1
                    ),
                )
            })?;
            rest.push(index);
        }
        let bands = bands_for_rest_count(rest.len()).ok_or_else(|| {
            Error::parse(
                path,
                "header",
                format!(
                    "element `{}` has {} f_rest properties: expected 0, 9, 24 or 45 (SH bands 0 to 3)",
                    vertex.name,
                    rest.len()
                ),
            )
        })?;
        let rest_contiguous = rest.windows(2).all(|w| w[1] == w[0] + 1);
        let model = if scale[2].is_some() {
            Model::Default
        } else {
            Model::TwoD
        };
        Ok(VertexLayout {
            stride,
            position,
            rotation,
            scale,
            opacity,
            dc,
            rest,
            rest_contiguous,
            bands,
            model,
        })
    }

    /// A scene of `len` splats with zeroed columns shaped for this layout.
    pub fn empty_scene(&self, len: usize) -> Scene {
        Scene {
            positions: vec![[0.0; 3]; len],
            rotations: vec![[0.0; 4]; len],
            log_scales: vec![[0.0; 3]; len],
            opacities: vec![0.0; len],
            sh_dc: vec![[0.0; 3]; len],
            sh_bands: self.bands,
            sh_rest: vec![0.0; len * 3 * sh_coeffs(self.bands)],
            model: self.model,
            extras: None,
        }
    }

    /// Copies `rows` (row-major, `stride` values a row) into `out`, one row per splat,
    /// in parallel over blocks of rows.
    pub fn scatter(&self, rows: &[f32], out: ColumnsMut<'_>) {
        debug_assert_eq!(rows.len(), out.len() * self.stride);
        let n = out.len();
        if n <= PARALLEL_ROWS {
            self.scatter_serial(rows, out);
            return;
        }
        let half = n / 2;
        let (rows_a, rows_b) = rows.split_at(half * self.stride);
        let (out_a, out_b) = out.split_at(half);
        rayon::join(
            || self.scatter(rows_a, out_a),
            || self.scatter(rows_b, out_b),
        );
    }

    fn scatter_serial(&self, rows: &[f32], out: ColumnsMut<'_>) {
        let k = self.rest.len();
        for (i, row) in rows.chunks_exact(self.stride).enumerate() {
            let at = |j: usize| row[j];
            out.positions[i] = self.position.map(at);
            out.rotations[i] = self.rotation.map(at);
            out.log_scales[i] = self.scale.map(|s| s.map_or(f32::NEG_INFINITY, at));
            out.opacities[i] = row[self.opacity];
            out.sh_dc[i] = self.dc.map(at);
            if k > 0 {
                let dst = &mut out.sh_rest[i * k..(i + 1) * k];
                if self.rest_contiguous {
                    dst.copy_from_slice(&row[self.rest[0]..self.rest[0] + k]);
                } else {
                    for (d, &j) in dst.iter_mut().zip(&self.rest) {
                        *d = row[j];
                    }
                }
            }
        }
    }
}

/// Mutable views of a scene's columns over a range of splats, split for parallel filling.
pub(super) struct ColumnsMut<'a> {
    positions: &'a mut [[f32; 3]],
    rotations: &'a mut [[f32; 4]],
    log_scales: &'a mut [[f32; 3]],
    opacities: &'a mut [f32],
    sh_dc: &'a mut [[f32; 3]],
    sh_rest: &'a mut [f32],
    rest_len: usize,
}

impl<'a> ColumnsMut<'a> {
    /// Views all of `scene`'s columns.
    pub fn new(scene: &'a mut Scene) -> ColumnsMut<'a> {
        let rest_len = scene.rest_len();
        ColumnsMut {
            positions: &mut scene.positions,
            rotations: &mut scene.rotations,
            log_scales: &mut scene.log_scales,
            opacities: &mut scene.opacities,
            sh_dc: &mut scene.sh_dc,
            sh_rest: &mut scene.sh_rest,
            rest_len,
        }
    }

    /// Number of splats in view.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Splits into the first `mid` splats and the rest.
    pub fn split_at(self, mid: usize) -> (ColumnsMut<'a>, ColumnsMut<'a>) {
        let (p0, p1) = self.positions.split_at_mut(mid);
        let (r0, r1) = self.rotations.split_at_mut(mid);
        let (s0, s1) = self.log_scales.split_at_mut(mid);
        let (o0, o1) = self.opacities.split_at_mut(mid);
        let (d0, d1) = self.sh_dc.split_at_mut(mid);
        let (h0, h1) = self.sh_rest.split_at_mut(mid * self.rest_len);
        let k = self.rest_len;
        (
            ColumnsMut {
                positions: p0,
                rotations: r0,
                log_scales: s0,
                opacities: o0,
                sh_dc: d0,
                sh_rest: h0,
                rest_len: k,
            },
            ColumnsMut {
                positions: p1,
                rotations: r1,
                log_scales: s1,
                opacities: o1,
                sh_dc: d1,
                sh_rest: h1,
                rest_len: k,
            },
        )
    }
}
