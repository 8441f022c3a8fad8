//! `splatpress info`: counts, bounds, per-attribute ranges and non-finite counts of a scene.
//! STUB: owned by the eval helper.

use crate::Scene;

/// Summary statistics of a scene.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {}

impl Stats {
    /// Human table.
    pub fn table(&self) -> String {
        todo!()
    }
}

/// Computes the statistics of `scene`.
pub fn stats(scene: &Scene) -> Stats {
    let _ = Stats::table;
    let _ = scene;
    todo!()
}
