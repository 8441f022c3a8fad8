//! Per-reader counters, merged from every worker, and their JSON form (the worker's progress
//! file and `summary.json`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// What happened to one reader's cases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Cases run.
    pub cases: u64,
    /// Cases read into a consistent scene.
    pub ok: u64,
    /// Cases rejected with an error.
    pub err: u64,
    /// Errors whose message does not name the file read (reported, not a failure).
    pub err_unnamed: u64,
    /// One such message.
    pub err_unnamed_example: Option<String>,
    /// Findings by kind (`panic`, `bad-scene`, `alloc`, `timeout`, `crash`).
    pub findings: BTreeMap<String, u64>,
    /// Distinct findings: `kind at location: message` → count.
    pub signatures: BTreeMap<String, u64>,
    /// Largest allocation peak of one case, in bytes.
    pub peak_bytes: u64,
    /// The case seed of that case (for `--reproduce`).
    pub peak_case: Option<String>,
    /// Slowest case, in milliseconds.
    pub slowest_ms: u64,
    /// Worker-seconds spent.
    pub seconds: f64,
    /// Worker processes started (restarts included).
    pub workers: u64,
}

impl Stats {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Stats) {
        self.cases += other.cases;
        self.ok += other.ok;
        self.err += other.err;
        self.err_unnamed += other.err_unnamed;
        if self.err_unnamed_example.is_none() {
            self.err_unnamed_example
                .clone_from(&other.err_unnamed_example);
        }
        for (k, v) in &other.findings {
            *self.findings.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.signatures {
            *self.signatures.entry(k.clone()).or_default() += v;
        }
        if other.peak_bytes > self.peak_bytes {
            self.peak_bytes = other.peak_bytes;
            self.peak_case.clone_from(&other.peak_case);
        }
        self.slowest_ms = self.slowest_ms.max(other.slowest_ms);
        self.seconds += other.seconds;
        self.workers += other.workers;
    }

    /// Records one finding of `kind` with its signature.
    pub fn finding(&mut self, kind: &str, signature: String) {
        *self.findings.entry(kind.to_string()).or_default() += 1;
        *self.signatures.entry(signature).or_default() += 1;
    }

    /// Number of findings of every kind.
    pub fn total_findings(&self) -> u64 {
        self.findings.values().sum()
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        json!({
            "cases": self.cases,
            "ok": self.ok,
            "err": self.err,
            "err_unnamed": self.err_unnamed,
            "err_unnamed_example": self.err_unnamed_example,
            "findings": self.findings,
            "signatures": self.signatures,
            "peak_bytes": self.peak_bytes,
            "peak_case": self.peak_case,
            "slowest_ms": self.slowest_ms,
            "seconds": self.seconds,
            "workers": self.workers,
        })
    }

    /// Reads the JSON form back (missing fields count as zero).
    pub fn from_json(v: &Value) -> Stats {
        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let map = |k: &str| -> BTreeMap<String, u64> {
            v.get(k)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default()
        };
        Stats {
            cases: n("cases"),
            ok: n("ok"),
            err: n("err"),
            err_unnamed: n("err_unnamed"),
            err_unnamed_example: v
                .get("err_unnamed_example")
                .and_then(Value::as_str)
                .map(String::from),
            findings: map("findings"),
            signatures: map("signatures"),
            peak_bytes: n("peak_bytes"),
            peak_case: v.get("peak_case").and_then(Value::as_str).map(String::from),
            slowest_ms: n("slowest_ms"),
            seconds: v.get("seconds").and_then(Value::as_f64).unwrap_or(0.0),
            workers: n("workers"),
        }
    }
}
