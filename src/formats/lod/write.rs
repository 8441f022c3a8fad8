//! Writing a streamed SOG: the manifest's JSON, and a [`Writer`] that takes one chunk SOG at a
//! time and puts the whole output in place at the end, manifest last.
//!
//! The chunk folders are written into a hidden staging folder beside them
//! (`.lod-meta.json.<pid>.chunks`); [`Writer::finish`] moves an older manifest and older
//! chunk folders of the same names aside, renames the new chunks into place and writes the
//! manifest through [`atomic`]. Until that last rename there is no `lod-meta.json`, so an
//! interrupted run never leaves a manifest naming missing or mixed chunks; a failed run
//! (an error, or the writer dropped unfinished) removes what it wrote and puts back what it
//! moved aside.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::plan::{Bound, Node, Plan};
use crate::encode::Encoded;
use crate::formats::{WriteReport, atomic, sog};
use crate::{Error, Result};

/// What the manifest says besides the plan.
#[derive(Debug, Clone, Default)]
pub struct Header<'a> {
    /// `asset.generator`.
    pub generator: &'a str,
    /// Top-level `model` (`"antialiased"`, `"2dgs"`), when the scene has one.
    pub model: Option<&'a str>,
    /// Top-level `extras`, written as given (numbers not rounded).
    pub extras: Option<&'a Value>,
}

/// The manifest, byte for byte as splat-transform 3.10.2 writes it (compact JSON, keys in its
/// order, every number through JavaScript's `+v.toPrecision(7)` and `JSON.stringify`), with
/// `model` and `extras` after the tree when there are any.
pub fn manifest_json(plan: &Plan, header: &Header) -> Vec<u8> {
    let mut out = String::with_capacity(256 + 160 * plan.units.len());
    let total: u64 = plan.counts.iter().sum();
    out += r#"{"version":1,"asset":{"generator":"#;
    out += &string(header.generator);
    out += &format!(
        r#","chunkGaussians":{},"chunkExtent":{},"chunkMinGaussians":{}}},"count":{total},"counts":["#,
        plan.chunking.gaussians(),
        number(plan.chunking.extent),
        plan.chunking.min_gaussians(),
    );
    out += &join(plan.counts.iter().map(u64::to_string));
    out += &format!(r#"],"lodLevels":{},"filenames":["#, plan.counts.len());
    out += &join(plan.filenames().iter().map(|f| string(f)));
    out += r#"],"tree":"#;
    node(&mut out, &plan.tree);
    if let Some(model) = header.model {
        out += r#","model":"#;
        out += &string(model);
    }
    if let Some(extras) = header.extras {
        out += r#","extras":"#;
        out += &extras.to_string();
    }
    out.push('}');
    out.into_bytes()
}

/// Appends a tree node, depth first, without recursion (a deep tree cannot overflow).
fn node(out: &mut String, root: &Node) {
    enum Step<'a> {
        Open(&'a Node),
        Text(&'static str),
    }
    let mut stack = vec![Step::Open(root)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Text(t) => *out += t,
            Step::Open(n) => {
                *out += r#"{"bound":"#;
                bound(out, n.bound());
                match n {
                    Node::Inner { children, .. } => {
                        *out += r#","children":["#;
                        stack.push(Step::Text("]}"));
                        stack.push(Step::Open(&children[1]));
                        stack.push(Step::Text(","));
                        stack.push(Step::Open(&children[0]));
                    }
                    Node::Leaf { lods, .. } => {
                        *out += r#","lods":{"#;
                        *out += &join(lods.iter().map(|(level, r)| {
                            format!(
                                r#""{level}":{{"file":{},"offset":{},"count":{}}}"#,
                                r.file, r.offset, r.count
                            )
                        }));
                        *out += "}}";
                    }
                }
            }
        }
    }
}

fn bound(out: &mut String, b: &Bound) {
    let three = |v: &[f64; 3]| join(v.iter().map(|x| number(*x)));
    *out += &format!(r#"{{"min":[{}],"max":[{}]}}"#, three(&b.min), three(&b.max));
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(",")
}

fn string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// `v` as splat-transform's replacer and `JSON.stringify` write it: integers as they are,
/// other numbers rounded to 7 significant digits (`+v.toPrecision(7)`), non-finite as `null`.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "null".into();
    }
    if v.fract() == 0.0 {
        return js_number(v);
    }
    js_number(to_precision_7(v))
}

/// `+v.toPrecision(7)`: the decimal of 7 significant digits nearest the exact value of `v`,
/// ties away from zero, read back as the nearest double.
fn to_precision_7(v: f64) -> f64 {
    // 48 significant digits of the exact binary value: enough to see the 8th digit without
    // a carry from the rounding of the 48th (a double is never that close to a tie).
    let exact = format!("{:.47e}", v.abs());
    let (mantissa, exponent) = exact.split_once('e').expect("exponent form");
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut kept: u64 = digits[..7]
        .iter()
        .fold(0, |n, d| n * 10 + u64::from(d - b'0'));
    let mut exponent: i32 = exponent.parse().expect("exponent");
    if digits[7] >= b'5' {
        kept += 1;
        if kept == 10_000_000 {
            kept = 1_000_000;
            exponent += 1;
        }
    }
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}{kept}e{}", exponent - 6)
        .parse()
        .expect("a decimal")
}

/// JavaScript's `Number::toString` (ECMA-262 §6.1.6.1.20) for a finite double: the shortest
/// digits that read back as `v`, in plain notation for decimal exponents −7 < n ≤ 21.
pub fn js_number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let shortest = format!("{:e}", v.abs());
    let (mantissa, exponent) = shortest.split_once('e').expect("exponent form");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    let n = exponent.parse::<i32>().expect("exponent") + 1;
    let sign = if v < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e = if e >= 0 {
            format!("+{e}")
        } else {
            e.to_string()
        };
        match k {
            1 => format!("{digits}e{e}"),
            _ => format!("{}.{}e{e}", &digits[..1], &digits[1..]),
        }
    };
    format!("{sign}{body}")
}

/// What a streamed SOG write put on disk.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LodWritten {
    /// Each chunk SOG as written (its folder name and its files), in `filenames` order.
    pub chunks: Vec<(String, WriteReport)>,
    /// Bytes of the manifest.
    pub manifest_bytes: u64,
    /// Everything: the chunks' files and the manifest.
    pub total_bytes: u64,
}

/// Writes `encoded` as an unbundled SOG at `path` (a chunk folder of [`Writer::chunk_path`]).
pub fn write_chunk(path: &Path, encoded: &Encoded, webp_effort: u8) -> Result<WriteReport> {
    sog::write(path, &sog::textures::sog(encoded), webp_effort)
}

/// Writes a streamed SOG one chunk at a time; see the module notes. Dropping it unfinished
/// removes what it wrote.
pub struct Writer {
    manifest: PathBuf,
    dir: PathBuf,
    staging: PathBuf,
    /// The output folder, when this writer created it (removed again on failure).
    created_dir: bool,
    written: LodWritten,
    finished: bool,
}

impl Writer {
    /// Starts a write of the streamed SOG whose manifest is `manifest` (creating its folder
    /// when only that is missing).
    pub fn create(manifest: &Path) -> Result<Writer> {
        let dir = match manifest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if manifest.is_dir() {
            return Err(Error::output(
                manifest,
                "a directory is in the way of the manifest",
            ));
        }
        let created_dir = !dir.exists();
        if created_dir {
            std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let name = manifest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = dir.join(format!(".{name}.{}.chunks", std::process::id()));
        let writer = Writer {
            manifest: manifest.to_path_buf(),
            dir,
            staging,
            created_dir,
            written: LodWritten::default(),
            finished: false,
        };
        if writer.staging.exists() {
            std::fs::remove_dir_all(&writer.staging).map_err(|e| Error::io(&writer.staging, e))?;
        }
        std::fs::create_dir(&writer.staging).map_err(|e| Error::io(&writer.staging, e))?;
        Ok(writer)
    }

    /// Writes one chunk SOG as folder `folder` (`<level>_<index>`) of the staging area.
    pub fn chunk(
        &mut self,
        folder: &str,
        encoded: &Encoded,
        webp_effort: u8,
    ) -> Result<&WriteReport> {
        let report = sog::write(
            &self.chunk_path(folder),
            &sog::textures::sog(encoded),
            webp_effort,
        )?;
        Ok(self.record(folder, report))
    }

    /// Where chunk `folder` goes in the staging area: for callers that write chunks on other
    /// threads ([`write_chunk`]) and then [`Writer::record`] them, in `filenames` order.
    pub fn chunk_path(&self, folder: &str) -> PathBuf {
        self.staging.join(folder)
    }

    /// Records chunk `folder`, written at [`Writer::chunk_path`], as the next chunk.
    pub fn record(&mut self, folder: &str, report: WriteReport) -> &WriteReport {
        self.written.total_bytes += report.total_bytes;
        self.written.chunks.push((folder.to_string(), report));
        &self.written.chunks.last().expect("just pushed").1
    }

    /// Puts the chunks in place and writes `manifest` (its JSON) last.
    pub fn finish(mut self, manifest: &[u8]) -> Result<LodWritten> {
        let moved = self.swap_in(manifest);
        match moved {
            Ok(()) => {
                self.finished = true;
                self.remove_stale();
                let _ = std::fs::remove_dir_all(&self.staging);
                self.written.manifest_bytes = manifest.len() as u64;
                self.written.total_bytes += manifest.len() as u64;
                Ok(std::mem::take(&mut self.written))
            }
            Err(e) => Err(e), // Drop undoes what `swap_in` left
        }
    }

    /// Moves old outputs aside into the staging folder, the new chunks into place, then
    /// writes the manifest. On error, undoes every move it made.
    fn swap_in(&mut self, manifest: &[u8]) -> Result<()> {
        let old = self.staging.join(".old");
        std::fs::create_dir(&old).map_err(|e| Error::io(&old, e))?;
        // (from, to) of every rename made, to undo in reverse.
        let mut done: Vec<(PathBuf, PathBuf)> = Vec::new();
        let result = (|| {
            if self.manifest.exists() {
                let aside = old.join("manifest");
                std::fs::rename(&self.manifest, &aside)
                    .map_err(|e| Error::io(&self.manifest, e))?;
                done.push((self.manifest.clone(), aside));
            }
            for (folder, _) in &self.written.chunks {
                let target = self.dir.join(folder);
                if target.exists() || target.is_symlink() {
                    let aside = old.join(folder);
                    std::fs::rename(&target, &aside).map_err(|e| Error::io(&target, e))?;
                    done.push((target.clone(), aside));
                }
                let staged = self.staging.join(folder);
                std::fs::rename(&staged, &target).map_err(|e| Error::io(&target, e))?;
                done.push((staged, target));
            }
            atomic::write_bytes(&self.manifest, manifest)
        })();
        if result.is_err() {
            for (from, to) in done.iter().rev() {
                let _ = std::fs::rename(to, from);
            }
        }
        result
    }
}

impl Writer {
    /// After a rewrite: removes the chunk folders the replaced manifest named and the new one
    /// does not (only folders named as writers name them, `<level>_<index>`).
    fn remove_stale(&self) {
        let Ok(bytes) = std::fs::read(self.staging.join(".old").join("manifest")) else {
            return;
        };
        let Ok(old) = super::Manifest::parse(&bytes) else {
            return;
        };
        let ours = |folder: &str| self.written.chunks.iter().any(|(f, _)| f == folder);
        for name in &old.filenames {
            let Some(folder) = name.strip_suffix("/meta.json") else {
                continue;
            };
            let generated = folder.split_once('_').is_some_and(|(l, i)| {
                [l, i]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            });
            if generated && !ours(folder) {
                let _ = std::fs::remove_dir_all(self.dir.join(folder));
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.staging);
        if self.created_dir {
            let _ = std::fs::remove_dir(&self.dir); // only when empty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (16.0, "16"),
            (-3.0, "-3"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333"),
            (-2.0 / 3.0, "-0.6666667"),
            (123456.789, "123456.8"),
            (1234567.89, "1234568"),
            (12345678.9, "12345680"),
            (1.23456789e-7, "1.234568e-7"),
            (0.000001234567, "0.000001234567"),
            (1.5e-7, "1.5e-7"),
            (1.2345678e22, "1.2345678e+22"), // an integer: not rounded
            (1.2345678e-22, "1.234568e-22"),
            (1e21, "1e+21"),
            (123456.25, "123456.3"), // a tie, away from zero as JavaScript rounds
            (-123456.25, "-123456.3"),
            (9.9999999, "10"),
            (f64::INFINITY, "null"),
            (f64::NAN, "null"),
        ];
        for (v, want) in cases {
            assert_eq!(number(*v), *want, "{v}");
        }
    }
}
