//! Every input the reader fuzzer (`cargo xtask fuzz`, `fuzz/`) found that once hung, crashed or
//! over-allocated a reader, trimmed, under `tests/fuzz/`. Each is read through
//! `formats::read` within a time bound, and through `splatpress info` under an address-space
//! limit: names ending `_should_read` must give a scene, names ending
//! `_should_fail` an error that names the file; nothing may panic. A folder is read as a SOG
//! folder.
//!
//! Inputs that need size to show the bug (a meta.json naming one texture 100,000 times) are
//! built in code below instead of stored.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::util;

/// Longer than any of these inputs needs by far; a hang shows as a failure, not a stuck test.
const BOUND: Duration = Duration::from_secs(30);

/// What a regression input must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Read,
    Fail,
}

fn fuzz_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz"))
}

/// Every stored regression input with its expectation, from its name.
fn inputs() -> Vec<(PathBuf, Expect)> {
    let mut out: Vec<(PathBuf, Expect)> = std::fs::read_dir(fuzz_dir())
        .expect("tests/fuzz exists")
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            let expect = if stem.ends_with("_should_read") {
                Expect::Read
            } else if stem.ends_with("_should_fail") {
                Expect::Fail
            } else {
                return None;
            };
            Some((p, expect))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `formats::read` on another thread: Ok(result) or Err(why it did not finish cleanly).
fn read_bounded(path: &Path) -> Result<splatpress::Result<splatpress::Scene>, String> {
    let (tx, rx) = mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(|| splatpress::formats::read(&owned));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(BOUND) {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(_)) => Err("the reader panicked".into()),
        Err(_) => Err(format!("no result within {BOUND:?} (hang)")),
    }
}

/// Checks one input against its expectation through the library.
fn check_library(path: &Path, expect: Expect) {
    let name = path.file_name().unwrap().to_string_lossy();
    match (read_bounded(path), expect) {
        (Err(why), _) => panic!("{}: {why}", path.display()),
        (Ok(Ok(scene)), Expect::Read) => {
            scene
                .check_columns()
                .unwrap_or_else(|e| panic!("{}: inconsistent scene: {e}", path.display()));
        }
        (Ok(Err(e)), Expect::Fail) => {
            let message = e.to_string();
            assert!(
                message.contains(name.as_ref()),
                "{}: the error does not name the input: {message}",
                path.display()
            );
        }
        (Ok(Ok(scene)), Expect::Fail) => panic!(
            "{}: expected an error, read {} splats",
            path.display(),
            scene.len()
        ),
        (Ok(Err(e)), Expect::Read) => panic!("{}: expected a scene, got: {e}", path.display()),
    }
}

#[test]
fn stored_inputs_read_or_fail_cleanly() {
    let inputs = inputs();
    assert!(
        !inputs.is_empty(),
        "no inputs under {}",
        fuzz_dir().display()
    );
    for (path, expect) in inputs {
        check_library(&path, expect);
    }
}

/// Address space `info` may use on a regression input (KiB, for `ulimit -v`): the binary and
/// one thread need far less, and an over-allocation (a 1 GiB buffer reserved for an entry
/// that only claims to be 4 GiB) fails instead of passing unseen.
const INFO_ADDRESS_SPACE_KIB: u64 = 768 * 1024;

#[test]
fn stored_inputs_through_info_within_768_mib() {
    let dir = util::temp_dir("fuzz-info");
    for (path, expect) in inputs() {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg("-c")
            .arg(format!(
                "ulimit -v {INFO_ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
            ))
            .arg(util::splatpress_bin())
            .arg("info")
            .arg(&path)
            .env("RAYON_NUM_THREADS", "1")
            .env("MALLOC_ARENA_MAX", "2")
            .current_dir(dir.path());
        let ran = util::Ran::new(cmd);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match expect {
            Expect::Read => {
                ran.success();
            }
            Expect::Fail => {
                assert_eq!(ran.output.status.code(), Some(1), "{}", ran.report());
                assert!(
                    ran.stderr().contains(&name) && !ran.stderr().contains("panicked"),
                    "{}",
                    ran.report()
                );
            }
        }
    }
}

/// A SOG folder whose meta.json names one small texture 100,000 times: each name was read
/// into memory (100,000 copies); now the list's length is rejected before anything is read.
#[test]
fn sog_meta_naming_a_texture_100000_times_fails_fast() {
    let dir = util::temp_dir("fuzz-sog-files");
    let sog = dir.path().join("scene");
    let options = splatpress::Options {
        backend: splatpress::BackendChoice::Cpu,
        sh_iterations: 1,
        ..splatpress::Options::default()
    };
    let input = splatpress::Input::Sample {
        count: 64,
        bands: 1,
    };
    splatpress::compress_file(&input, &sog, &options, &()).unwrap();
    let meta_path = sog.join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    for key in ["means", "shN"] {
        let original = meta[key]["files"].clone();
        let first = original[0].clone();
        meta[key]["files"] = serde_json::Value::Array(vec![first; 100_000]);
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
        let started = std::time::Instant::now();
        let message = match read_bounded(&sog) {
            Ok(Err(e)) => e.to_string(),
            Ok(Ok(_)) => panic!("{key}: read a meta naming a texture 100,000 times"),
            Err(why) => panic!("{key}: {why}"),
        };
        assert!(
            message.contains("meta.json") && message.contains(&format!("`{key}.files`")),
            "{message}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{key}: took {:?}",
            started.elapsed()
        );
        meta[key]["files"] = original;
    }
}
