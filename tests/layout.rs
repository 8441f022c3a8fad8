//! The import rules of ARCHITECTURE.md, checked on the source text: data flows one way, so
//! a layer never names the layers after it.
//!
//! - `src/encode/` names no file format (`formats`): it ends at `Encoded`.
//! - `src/formats/` names no backend: writers take encoded values, not devices.
//! - `src/backend/` names neither formats nor the encoder's drivers' callers (`api`).
//! - `src/render/` draws a `Scene`: it names neither formats, the encoder, `eval` nor the
//!   front ends (it may open a wgpu device through `backend::wgpu`).
//! - Only the front ends (`src/cli/`, and `src/lib.rs`) name the entry-point module `api`.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every line of `src/<layer>` that names one of `forbidden` (outside comments).
fn offences(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in forbidden {
                if code.contains(word) {
                    found.push(format!(
                        "{}:{}: names `{word}`: {}",
                        file.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn encode_names_no_file_format() {
    let found = offences(
        "encode",
        &["crate::formats", "formats::", "super::super::formats"],
    );
    assert!(
        found.is_empty(),
        "encode/ must end at Encoded:\n{}",
        found.join("\n")
    );
}

#[test]
fn formats_name_no_backend() {
    let found = offences("formats", &["crate::backend", "backend::"]);
    assert!(
        found.is_empty(),
        "formats/ must not know backends:\n{}",
        found.join("\n")
    );
}

#[test]
fn backends_name_neither_formats_nor_front_ends() {
    let found = offences("backend", &["crate::formats", "crate::api", "crate::cli"]);
    assert!(
        found.is_empty(),
        "backend/ is a leaf:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_renderer_draws_scenes_only() {
    let found = offences(
        "render",
        &[
            "crate::formats",
            "crate::encode",
            "crate::eval",
            "crate::api",
            "crate::cli",
        ],
    );
    assert!(
        found.is_empty(),
        "render/ takes a Scene and returns pictures:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_front_ends_call_the_entry_points() {
    let mut found = Vec::new();
    for layer in ["encode", "formats", "backend", "eval", "render"] {
        found.extend(offences(layer, &["crate::api"]));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The rule catches what it is meant to catch (a test of the test).
#[test]
fn the_scanner_finds_a_planted_import() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/formats");
    assert!(
        sources(&dir).iter().any(|f| std::fs::read_to_string(f)
            .unwrap()
            .contains("crate::encode")),
        "formats/ writes Encoded, so it names crate::encode; the scanner must see that"
    );
    assert!(!offences("formats", &["crate::encode"]).is_empty());
}
