//! Writes a scene as a binary little-endian PLY in the INRIA trainer's property order.

use std::io::Write;
use std::path::Path;

use crate::formats::atomic;
use crate::scene::Model;
use crate::{Error, Result, Scene};

/// Rows encoded per `write_all`.
const BLOCK_ROWS: usize = 16 * 1024;

/// The header text for `scene`: `x y z nx ny nz f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3`,
/// without `scale_2` for 2DGS scenes.
pub(super) fn header_text(scene: &Scene) -> String {
    let mut names: Vec<String> = [
        "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend((0..scene.rest_len()).map(|j| format!("f_rest_{j}")));
    names.extend(["opacity", "scale_0", "scale_1"].map(String::from));
    if scene.model != Model::TwoD {
        names.push("scale_2".into());
    }
    names.extend(["rot_0", "rot_1", "rot_2", "rot_3"].map(String::from));
    let mut text = String::from("ply\nformat binary_little_endian 1.0\n");
    if let Some(comment) = super::header::model_comment(scene.model) {
        text.push_str(comment);
    }
    text.push_str(&format!("element vertex {}\n", scene.len()));
    for name in names {
        text.push_str(&format!("property float {name}\n"));
    }
    text.push_str("end_header\n");
    text
}

/// Writes `scene` to `path` atomically (see [`atomic::write_file`]).
pub(super) fn write(path: &Path, scene: &Scene) -> Result<()> {
    scene
        .check_columns()
        .map_err(|m| Error::output(path, format!("inconsistent scene: {m}")))?;
    let two_d = scene.model == Model::TwoD;
    atomic::write_file(path, |w| {
        w.write_all(header_text(scene).as_bytes())
            .map_err(|e| Error::io(path, e))?;
        let mut block = Vec::new();
        let mut start = 0;
        while start < scene.len() {
            let end = (start + BLOCK_ROWS).min(scene.len());
            block.clear();
            for i in start..end {
                let mut put = |v: f32| block.extend_from_slice(&v.to_le_bytes());
                scene.positions[i].into_iter().for_each(&mut put);
                [0.0; 3].into_iter().for_each(&mut put);
                scene.sh_dc[i].into_iter().for_each(&mut put);
                scene.rest(i).iter().copied().for_each(&mut put);
                put(scene.opacities[i]);
                let scales = &scene.log_scales[i];
                let kept = if two_d { 2 } else { 3 };
                scales[..kept].iter().copied().for_each(&mut put);
                scene.rotations[i].into_iter().for_each(&mut put);
            }
            w.write_all(&block).map_err(|e| Error::io(path, e))?;
            start = end;
        }
        Ok(())
    })
}
