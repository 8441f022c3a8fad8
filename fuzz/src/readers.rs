//! The reader table: one row per reader the fuzzer drives. Adding a reader is one row: its
//! name, how its input is laid out on disk, which structure-aware mutations fit it, how to
//! generate seeds, and which shared real files seed it.

use crate::seeds;

/// How a case is put on disk before `formats::read` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// One file under this name (the suffix selects the format).
    File(&'static str),
    /// A SOG folder: `meta.json` and the textures; the folder is read.
    Folder,
    /// A SOG meta file under this name with the textures beside it; the meta file is read.
    MetaFile(&'static str),
}

/// Which structure-aware mutations apply, beside the byte mutations every reader gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// PLY text header: counts, types, format line, extra elements.
    Ply,
    /// PLY header plus ASCII body tokens.
    PlyAscii,
    /// No header: records of fixed size.
    Records(usize),
    /// A ZIP: header fields, and entries mutated and repacked.
    Zip,
    /// meta.json edits, texture bytes.
    SogFiles,
    /// A streamed SOG: lod-meta.json edits (fields, tree shape, depth), chunk bundles mutated
    /// or removed.
    LodFiles,
    /// glb chunk lengths, JSON and BIN chunks repacked.
    Glb,
    /// gzip / ZSTD streams, mutated inside and recompressed; header words made huge.
    Streams,
}

/// One fuzzed reader.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    /// Name on the command line and in reports.
    pub name: &'static str,
    /// How a case is laid out on disk.
    pub form: Form,
    /// Structure-aware mutations that fit.
    pub shape: Shape,
    /// Writes generated seeds (small scenes through the library's writers or by hand) into
    /// the folder given, one sub-folder a seed; an error when the writer is not built.
    pub generate: fn(&std::path::Path) -> Result<usize, String>,
    /// Real files (or folders) under the shared data directory used as seeds when present.
    pub shared: &'static [&'static str],
}

/// Every reader the fuzzer drives (one row each: kept on one line, hence no rustfmt).
#[rustfmt::skip]
pub const READERS: &[Reader] = &[
    Reader { name: "ply", form: Form::File("case.ply"), shape: Shape::Ply, generate: seeds::ply_binary, shared: &["gaussiansplats3d-pr477/lod5_tile_0.ply", "gaussiansplats3d-pr477/lod3_tile_0.ply", "mujoco_warp/fox.ply"] },
    Reader { name: "ply-ascii", form: Form::File("case.ply"), shape: Shape::PlyAscii, generate: seeds::ply_ascii, shared: &[] },
    Reader { name: "compressed-ply", form: Form::File("case.compressed.ply"), shape: Shape::Ply, generate: seeds::compressed_ply, shared: &["playcanvas-engine/biker.compressed.ply"] },
    Reader { name: "splat", form: Form::File("case.splat"), shape: Shape::Records(32), generate: seeds::splat, shared: &["marcelpadilla-splats/plant.splat"] },
    Reader { name: "sog-bundle", form: Form::File("case.sog"), shape: Shape::Zip, generate: seeds::sog_bundle, shared: &["playcanvas-engine/playbot/0_0"] },
    Reader { name: "sog-folder", form: Form::Folder, shape: Shape::SogFiles, generate: seeds::sog_folder, shared: &["playcanvas-engine/playbot/0_0"] },
    Reader { name: "sog-meta", form: Form::MetaFile("scene.json"), shape: Shape::SogFiles, generate: seeds::sog_folder, shared: &[] },
    Reader { name: "spz", form: Form::File("case.spz"), shape: Shape::Streams, generate: seeds::spz, shared: &[] },
    Reader { name: "glb", form: Form::File("case.glb"), shape: Shape::Glb, generate: seeds::glb, shared: &[] },
    Reader { name: "lod-meta", form: Form::MetaFile("lod-meta.json"), shape: Shape::LodFiles, generate: seeds::lod_meta, shared: &[] },
];

/// Readers named by the issue that do not exist yet, with the reason (listed in reports).
pub const PENDING: &[(&str, &str)] = &[];

/// The row called `name`.
pub fn by_name(name: &str) -> Option<&'static Reader> {
    READERS.iter().find(|r| r.name == name)
}
