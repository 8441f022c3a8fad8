//! Which splat meshes a file shows and where: the default scene's node hierarchy, each node's
//! world matrix (`matrix`, or T · R · S, through its parents), and the placements splatpress can
//! apply to splats (translation and uniform positive scale). See [`super`], "What is read".

use std::path::Path;

use super::document::{self, EXTENSION, Gltf};
use crate::{Error, Result};

/// A world transform splatpress can apply to splats: p ↦ scale · p + translation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Uniform scale, positive.
    pub scale: f64,
    /// Translation, glTF axes.
    pub translation: [f64; 3],
}

/// One splat mesh to read, and where its node puts it (`None`: untransformed).
#[derive(Debug, Clone, Copy)]
pub struct Instance {
    /// Index into `meshes`.
    pub mesh: usize,
    /// The world transform, `None` for the identity.
    pub place: Option<Placement>,
}

/// A 4×4 matrix, column-major as glTF stores it.
type Mat4 = [f64; 16];

const IDENTITY: Mat4 = [
    1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.,
];

fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut m = [0.0; 16];
    for c in 0..4 {
        for r in 0..4 {
            m[c * 4 + r] = (0..4).map(|k| a[k * 4 + r] * b[c * 4 + k]).sum();
        }
    }
    m
}

/// The node's local matrix: `matrix`, else T · R · S.
fn local(node: &document::Node) -> Mat4 {
    if let Some(m) = node.matrix {
        return m;
    }
    let [tx, ty, tz] = node.translation.unwrap_or([0.0; 3]);
    let [x, y, z, w] = node.rotation.unwrap_or([0.0, 0.0, 0.0, 1.0]);
    let [sx, sy, sz] = node.scale.unwrap_or([1.0; 3]);
    let r = [
        [
            1. - 2. * (y * y + z * z),
            2. * (x * y + w * z),
            2. * (x * z - w * y),
        ],
        [
            2. * (x * y - w * z),
            1. - 2. * (x * x + z * z),
            2. * (y * z + w * x),
        ],
        [
            2. * (x * z + w * y),
            2. * (y * z - w * x),
            1. - 2. * (x * x + y * y),
        ],
    ];
    let s = [sx, sy, sz];
    let mut m = IDENTITY;
    for c in 0..3 {
        for row in 0..3 {
            m[c * 4 + row] = r[c][row] * s[c];
        }
    }
    m[12] = tx;
    m[13] = ty;
    m[14] = tz;
    m
}

/// The placement a world matrix stands for, if it is a translation and a uniform positive
/// scale (within 1e-6, relative); `None` when it is anything else.
fn placement(m: &Mat4) -> Option<Placement> {
    let scale = (m[0] * m[0] + m[1] * m[1] + m[2] * m[2]).sqrt();
    if !(scale.is_finite() && scale > 0.0) || m.iter().any(|v| !v.is_finite()) {
        return None;
    }
    for c in 0..3 {
        for r in 0..3 {
            let want = if c == r { scale } else { 0.0 };
            if (m[c * 4 + r] - want).abs() > 1e-6 * scale {
                return None;
            }
        }
    }
    let bottom = [m[3], m[7], m[11], m[15]];
    if bottom
        .iter()
        .zip([0.0, 0.0, 0.0, 1.0])
        .any(|(a, b)| (a - b).abs() > 1e-9)
    {
        return None;
    }
    Some(Placement {
        scale,
        translation: [m[12], m[13], m[14]],
    })
}

fn has_splats(doc: &Gltf, mesh: usize) -> bool {
    doc.meshes[mesh]
        .primitives
        .iter()
        .any(|p| p.splats().is_some())
}

/// The splat meshes to read and their placements (module docs, "What is read").
pub fn instances(path: &Path, doc: &Gltf) -> Result<Vec<Instance>> {
    let nodes = &doc.nodes;
    let mut parent: Vec<Option<usize>> = vec![None; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        for &child in &node.children {
            let c = child as usize;
            if c >= nodes.len() {
                return Err(Error::parse(
                    path,
                    format!("nodes[{i}].children"),
                    format!("node index {child} out of range ({} nodes)", nodes.len()),
                ));
            }
            if let Some(other) = parent[c] {
                return Err(Error::parse(
                    path,
                    format!("nodes[{i}].children"),
                    format!("node {child} is already a child of node {other}"),
                ));
            }
            parent[c] = Some(i);
        }
        if let Some(mesh) = node.mesh
            && mesh as usize >= doc.meshes.len()
        {
            return Err(Error::parse(
                path,
                format!("nodes[{i}].mesh"),
                format!(
                    "mesh index {mesh} out of range ({} meshes)",
                    doc.meshes.len()
                ),
            ));
        }
    }
    let roots: Vec<usize> = if doc.scenes.is_empty() {
        (0..nodes.len()).filter(|&i| parent[i].is_none()).collect()
    } else {
        let s = doc.scene.unwrap_or(0) as usize;
        let scene = doc.scenes.get(s).ok_or_else(|| {
            Error::parse(
                path,
                "scene",
                format!("scene index {s} out of range ({} scenes)", doc.scenes.len()),
            )
        })?;
        let mut roots = Vec::with_capacity(scene.nodes.len());
        for &n in &scene.nodes {
            if n as usize >= nodes.len() {
                return Err(Error::parse(
                    path,
                    format!("scenes[{s}].nodes"),
                    format!("node index {n} out of range ({} nodes)", nodes.len()),
                ));
            }
            roots.push(n as usize);
        }
        roots
    };

    let mut found = Vec::new();
    let mut visits = 0usize;
    let mut stack: Vec<(usize, Mat4)> = roots.iter().rev().map(|&r| (r, IDENTITY)).collect();
    while let Some((i, above)) = stack.pop() {
        visits += 1;
        if visits > nodes.len() {
            return Err(Error::parse(
                path,
                format!("nodes[{i}]"),
                "the node hierarchy has a cycle or a node listed twice",
            ));
        }
        let world = mul(&above, &local(&nodes[i]));
        if let Some(mesh) = nodes[i].mesh.map(|m| m as usize)
            && has_splats(doc, mesh)
        {
            let place = placement(&world).ok_or_else(|| {
                let name = nodes[i]
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n:?})"))
                    .unwrap_or_default();
                Error::parse(
                    path,
                    format!("nodes[{i}]{name}"),
                    "its world transform rotates, mirrors or unevenly scales the splats; splatpress applies node transforms of translation and uniform scale only (turning splats would need their SH rotated)",
                )
            })?;
            let identity = place.scale == 1.0 && place.translation == [0.0; 3];
            found.push(Instance {
                mesh,
                place: (!identity).then_some(place),
            });
        }
        for &child in nodes[i].children.iter().rev() {
            stack.push((child as usize, world));
        }
    }
    if found.is_empty() {
        found = (0..doc.meshes.len())
            .filter(|&m| has_splats(doc, m))
            .map(|mesh| Instance { mesh, place: None })
            .collect();
    }
    if found.is_empty() {
        return Err(Error::parse(
            path,
            "meshes",
            format!("no mesh primitive has the {EXTENSION} extension: this .glb holds no splats"),
        ));
    }
    Ok(found)
}
