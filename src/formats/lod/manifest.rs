//! `lod-meta.json`: the manifest of a streamed SOG, parsed and checked in full before any
//! chunk is read. Every error names the field at fault (`tree.children[1].lods.2.file`).
//!
//! The layout, as splat-transform 3.10.2 writes it (`writeLod`) and reads it (`parseLodMeta`,
//! `collectFilesByLod`): `version` (1, or absent in pre-versioning files), `asset.generator`,
//! `count` (all levels), `counts` (one a level; absent in pre-versioning files), `lodLevels`,
//! `filenames` (each chunk's SOG, relative to the manifest), and `tree`: nodes with a `bound`
//! and either two `children` or, at a leaf, `lods`: `{ "<level>": {file, offset, count} }`,
//! a range of splats of chunk `filenames[file]`.

use serde_json::{Map, Value};

/// Most LOD levels a manifest may declare (the engine's writers use a handful).
pub const MAX_LEVELS: u64 = 256;
/// Deepest tree accepted (a balanced kd-tree of 2^48 leaves is beyond any scene; the JSON
/// parser's own nesting limit of 128 stops a tree at about 63 levels anyway).
pub const MAX_DEPTH: usize = 48;
/// Most splats a manifest may declare in all (2^32: beyond any scene a SOG chunk set holds).
pub const MAX_SPLATS: u64 = 1 << 32;

/// One leaf's range of one level: splats `offset..offset + count` of chunk `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Index into [`Manifest::filenames`].
    pub file: usize,
    /// First splat of the range in the chunk.
    pub offset: u64,
    /// Splats in the range.
    pub count: u64,
}

/// A leaf of the tree: where it is (`tree.children[0].children[1]`) and its ranges by level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The leaf's field path, for messages.
    pub field: String,
    /// (level, range), levels ascending.
    pub lods: Vec<(u32, Range)>,
}

/// A checked manifest: every index in range, every count bounded, the tree flattened to its
/// leaves in tree order (depth first, `children[0]` before `children[1]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `asset.generator`, empty when absent.
    pub generator: String,
    /// Splats per level: `counts`, or the leaves' sums when a pre-versioning file has none.
    pub counts: Vec<u64>,
    /// `filenames`: each chunk's SOG, relative to the manifest's folder.
    pub filenames: Vec<String>,
    /// The leaves in tree order.
    pub leaves: Vec<Leaf>,
    /// `model` (`"antialiased"`, `"2dgs"`), when the manifest names one.
    pub model: Option<String>,
    /// `extras`, when the manifest carries them.
    pub extras: Option<Value>,
}

impl Manifest {
    /// Number of levels (`lodLevels`).
    pub fn levels(&self) -> u32 {
        self.counts.len() as u32
    }

    /// Parses and checks a manifest; the error is (field, message).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, (String, String)> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            let message = if e.to_string().contains("recursion limit") {
                format!("nested too deeply (a tree of more than {MAX_DEPTH} levels): {e}")
            } else {
                format!("not valid JSON: {e}")
            };
            ("JSON".to_string(), message)
        })?;
        let root = value
            .as_object()
            .ok_or_else(|| err("(top level)", "expected a JSON object"))?;
        match root.get("version") {
            None => {}
            Some(v) if v.as_u64() == Some(1) => {}
            Some(v) => {
                return Err(err(
                    "version",
                    format!("unsupported version {v} (1 is read)"),
                ));
            }
        }
        let generator = match root.get("asset").and_then(|a| a.get("generator")) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(err("asset.generator", "expected a string")),
        };
        let levels =
            uint(root.get("lodLevels"), "lodLevels")?.ok_or_else(|| err("lodLevels", "missing"))?;
        if levels == 0 || levels > MAX_LEVELS {
            return Err(err(
                "lodLevels",
                format!("{levels} levels: expected 1 to {MAX_LEVELS}"),
            ));
        }
        let declared = match root.get("counts") {
            None => None,
            Some(Value::Array(items)) => {
                if items.len() as u64 != levels {
                    return Err(err(
                        "counts",
                        format!("{} entries but lodLevels is {levels}", items.len()),
                    ));
                }
                let mut counts = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let field = format!("counts[{i}]");
                    let n = uint(Some(item), &field)?.unwrap_or(0);
                    if n > MAX_SPLATS {
                        return Err(err(&field, format!("{n} splats: more than {MAX_SPLATS}")));
                    }
                    counts.push(n);
                }
                Some(counts)
            }
            Some(_) => return Err(err("counts", "expected an array of splat counts")),
        };
        let filenames = filenames(root.get("filenames"))?;
        let model = match root.get("model") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(err("model", "expected a string")),
        };
        let extras = root.get("extras").filter(|v| !v.is_null()).cloned();
        let tree = root.get("tree").ok_or_else(|| err("tree", "missing"))?;
        let leaves = walk(tree, levels as u32, filenames.len())?;

        // Per-level sums of the leaves, checked against `counts` and `count`.
        let mut sums = vec![0u64; levels as usize];
        for leaf in &leaves {
            for (level, range) in &leaf.lods {
                let sum = &mut sums[*level as usize];
                *sum = sum.saturating_add(range.count);
                if *sum > MAX_SPLATS {
                    return Err(err(
                        &leaf.field,
                        format!("level {level} holds more than {MAX_SPLATS} splats"),
                    ));
                }
            }
        }
        if let Some(counts) = &declared {
            for (level, (&declared, &found)) in counts.iter().zip(&sums).enumerate() {
                if declared != found {
                    return Err(err(
                        &format!("counts[{level}]"),
                        format!("says {declared} splats but the tree's leaves hold {found}"),
                    ));
                }
            }
        }
        let total: u64 = sums.iter().sum();
        if let Some(count) = uint(root.get("count"), "count")?
            && count != total
        {
            return Err(err(
                "count",
                format!("says {count} splats but the levels hold {total}"),
            ));
        }
        check_disjoint(&leaves)?;
        Ok(Manifest {
            generator,
            counts: sums,
            filenames,
            leaves,
            model,
            extras,
        })
    }
}

fn err(field: &str, message: impl Into<String>) -> (String, String) {
    (field.to_string(), message.into())
}

/// A non-negative integer field, `None` when absent.
fn uint(value: Option<&Value>, field: &str) -> Result<Option<u64>, (String, String)> {
    match value {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| err(field, format!("expected a non-negative integer, found {v}"))),
    }
}

fn filenames(value: Option<&Value>) -> Result<Vec<String>, (String, String)> {
    let items = match value {
        Some(Value::Array(items)) => items,
        None => return Err(err("filenames", "missing")),
        Some(_) => return Err(err("filenames", "expected an array of file names")),
    };
    let mut names = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("filenames[{i}]");
        let name = item
            .as_str()
            .ok_or_else(|| err(&field, "expected a string"))?;
        if name.is_empty()
            || std::path::Path::new(name).is_absolute()
            || name.starts_with(['/', '\\'])
            || name.split(['/', '\\']).any(|c| c == "..")
        {
            return Err(err(
                &field,
                format!("`{name}` is not a path inside the manifest's folder"),
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Flattens the tree to its leaves, depth first, without recursion; every node is checked.
fn walk(tree: &Value, levels: u32, files: usize) -> Result<Vec<Leaf>, (String, String)> {
    let mut leaves = Vec::new();
    // (node, field path, depth); children pushed in reverse so children[0] comes out first.
    let mut stack: Vec<(&Value, String, usize)> = vec![(tree, "tree".to_string(), 0)];
    while let Some((node, field, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(err(
                &field,
                format!("the tree is deeper than {MAX_DEPTH} levels"),
            ));
        }
        let node = node
            .as_object()
            .ok_or_else(|| err(&field, "expected a tree node (a JSON object)"))?;
        if let Some(bound) = node.get("bound") {
            check_bound(bound, &format!("{field}.bound"))?;
        }
        match (node.get("children"), node.get("lods")) {
            (Some(_), Some(_)) => {
                return Err(err(&field, "has both `children` and `lods`"));
            }
            (None, None) => {
                return Err(err(&field, "has neither `children` nor `lods`"));
            }
            (Some(children), None) => {
                let children = children
                    .as_array()
                    .ok_or_else(|| err(&format!("{field}.children"), "expected an array"))?;
                if children.len() != 2 {
                    return Err(err(
                        &format!("{field}.children"),
                        format!("{} children: a node has 2", children.len()),
                    ));
                }
                for (i, child) in children.iter().enumerate().rev() {
                    stack.push((child, format!("{field}.children[{i}]"), depth + 1));
                }
            }
            (None, Some(lods)) => {
                let lods = lods
                    .as_object()
                    .ok_or_else(|| err(&format!("{field}.lods"), "expected an object"))?;
                let ranges = leaf_ranges(lods, &field, levels, files)?;
                leaves.push(Leaf {
                    field,
                    lods: ranges,
                });
            }
        }
    }
    Ok(leaves)
}

fn leaf_ranges(
    lods: &Map<String, Value>,
    field: &str,
    levels: u32,
    files: usize,
) -> Result<Vec<(u32, Range)>, (String, String)> {
    let mut out = Vec::with_capacity(lods.len().min(levels as usize));
    for (key, value) in lods {
        let at = format!("{field}.lods.{key}");
        let level = key
            .parse::<u32>()
            .ok()
            .filter(|l| l.to_string() == *key && *l < levels)
            .ok_or_else(|| {
                err(
                    &at,
                    format!("`{key}` is not a level: expected 0 to {}", levels - 1),
                )
            })?;
        let object = value
            .as_object()
            .ok_or_else(|| err(&at, "expected {file, offset, count}"))?;
        let get = |name: &str| -> Result<u64, (String, String)> {
            let f = format!("{at}.{name}");
            uint(object.get(name), &f)?.ok_or_else(|| err(&f, "missing"))
        };
        let file = get("file")?;
        if file >= files as u64 {
            return Err(err(
                &format!("{at}.file"),
                format!("file {file} out of range: filenames has {files} entries"),
            ));
        }
        let offset = get("offset")?;
        let count = get("count")?;
        if offset > MAX_SPLATS || count > MAX_SPLATS {
            return Err(err(
                &at,
                format!("offset {offset}, count {count}: more than {MAX_SPLATS}"),
            ));
        }
        out.push((
            level,
            Range {
                file: file as usize,
                offset,
                count,
            },
        ));
    }
    out.sort_by_key(|(level, _)| *level);
    Ok(out)
}

fn check_bound(bound: &Value, field: &str) -> Result<(), (String, String)> {
    for side in ["min", "max"] {
        let f = format!("{field}.{side}");
        let ok = bound
            .get(side)
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() == 3 && a.iter().all(|v| v.as_f64().is_some()));
        if !ok {
            return Err(err(&f, "expected three numbers"));
        }
    }
    Ok(())
}

/// No two ranges of one chunk overlap (each splat of a chunk belongs to one leaf and level),
/// which also bounds what a read allocates by the chunks' own sizes.
fn check_disjoint(leaves: &[Leaf]) -> Result<(), (String, String)> {
    let mut ranges: Vec<(usize, u64, u64, &str, u32)> = leaves
        .iter()
        .flat_map(|leaf| {
            leaf.lods
                .iter()
                .filter(|(_, r)| r.count > 0)
                .map(|(level, r)| (r.file, r.offset, r.count, leaf.field.as_str(), *level))
        })
        .collect();
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        let (file, offset, count, _, _) = pair[0];
        let (next_file, next_offset, _, field, level) = pair[1];
        if file == next_file && offset + count > next_offset {
            return Err(err(
                &format!("{field}.lods.{level}"),
                format!("overlaps another leaf's range of filenames[{file}]"),
            ));
        }
    }
    Ok(())
}
