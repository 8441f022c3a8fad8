//! Text-level edits: PLY headers (counts, property types, format lines, extra elements) and
//! JSON documents (meta.json, glTF): numbers made huge, negative or NaN-ish, arrays shortened
//! or blown up, keys removed, file names pointed elsewhere.

use serde_json::Value;

use crate::rng::Rng;

/// Counts written into `element` lines and JSON numbers.
const HUGE: [&str; 12] = [
    "0",
    "1",
    "-1",
    "255",
    "256",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
];

/// Number-like tokens JSON parsers and PLY ASCII readers choke on.
const NAN_ISH: [&str; 9] = [
    "NaN", "nan", "inf", "-inf", "1e999", "-1e999", "1e-999", "-0", "0x10",
];

/// PLY scalar type names, and a list type.
const PLY_TYPES: [&str; 10] = [
    "char",
    "uchar",
    "short",
    "ushort",
    "int",
    "uint",
    "float",
    "double",
    "int64",
    "list uchar int",
];

/// The byte length of a PLY header (through `end_header\n`), if the text has one in its first MiB.
pub fn ply_header_len(data: &[u8]) -> Option<usize> {
    let window = &data[..data.len().min(1 << 20)];
    let marker = b"end_header";
    let at = window.windows(marker.len()).position(|w| w == marker)?;
    let nl = window[at..].iter().position(|&b| b == b'\n')?;
    Some(at + nl + 1)
}

/// Offsets where a PLY's sections start: after the header, and at each line of the header.
pub fn ply_points(data: &[u8]) -> Vec<usize> {
    let Some(end) = ply_header_len(data) else {
        return Vec::new();
    };
    let mut points: Vec<usize> = data[..end]
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    points.push(end.saturating_sub(1));
    points
}

/// Edits one line of the PLY header (keeping the payload as it is). Returns false when the
/// file has no header to edit.
pub fn ply_header(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    let Some(end) = ply_header_len(data) else {
        return false;
    };
    let text = String::from_utf8_lossy(&data[..end]).into_owned();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let find = |lines: &[String], word: &str| -> Vec<usize> {
        (0..lines.len())
            .filter(|&i| lines[i].starts_with(word))
            .collect()
    };
    let elements = find(&lines, "element ");
    let properties = find(&lines, "property ");
    match rng.below(9) {
        0 | 1 if !elements.is_empty() => {
            let i = *rng.pick(&elements);
            let words: Vec<&str> = lines[i].split_whitespace().collect();
            let old = words.get(2).copied().unwrap_or("");
            let new = match rng.below(4) {
                0 => old
                    .parse::<u64>()
                    .map_or("1".into(), |n| (n.wrapping_add(1)).to_string()),
                1 => old
                    .parse::<u64>()
                    .map_or("0".into(), |n| n.saturating_sub(1).to_string()),
                2 => old
                    .parse::<u64>()
                    .map_or("2".into(), |n| n.saturating_mul(2).to_string()),
                _ => rng.pick(&HUGE).to_string(),
            };
            log.push(format!("header: `{}` count {old} -> {new}", lines[i]));
            lines[i] = format!(
                "element {} {new}",
                words.get(1).copied().unwrap_or("vertex")
            );
        }
        2 if !properties.is_empty() => {
            let i = *rng.pick(&properties);
            let name = lines[i]
                .split_whitespace()
                .last()
                .unwrap_or("x")
                .to_string();
            let ty = rng.pick(&PLY_TYPES);
            log.push(format!("header: `{}` -> type {ty}", lines[i]));
            lines[i] = format!("property {ty} {name}");
        }
        3 if !properties.is_empty() => {
            let i = *rng.pick(&properties);
            log.push(format!("header: removed `{}`", lines[i]));
            lines.remove(i);
        }
        4 if !properties.is_empty() => {
            let i = *rng.pick(&properties);
            let j = *rng.pick(&properties);
            let action = if rng.chance(1, 2) {
                lines.insert(j, lines[i].clone());
                "duplicated"
            } else {
                lines.swap(i, j);
                "swapped with another"
            };
            log.push(format!("header: {action} `{}`", lines[i]));
        }
        5 => {
            let formats = [
                "format ascii 1.0",
                "format binary_little_endian 1.0",
                "format binary_big_endian 1.0",
                "format binary_little_endian 2.0",
                "format binary_little_endian",
                "format",
            ];
            let new = rng.pick(&formats);
            match find(&lines, "format").first() {
                Some(&i) if rng.chance(7, 8) => {
                    log.push(format!("header: `{}` -> `{new}`", lines[i]));
                    lines[i] = new.to_string();
                }
                Some(&i) => {
                    log.push(format!("header: removed `{}`", lines[i]));
                    lines.remove(i);
                }
                None => return false,
            }
        }
        6 => {
            // A new element before another: huge counts of empty, fixed or list rows.
            let at = elements
                .first()
                .copied()
                .unwrap_or(lines.len().saturating_sub(1));
            let count = rng.pick(&HUGE);
            let props: &[&str] = match rng.below(3) {
                0 => &[],
                1 => &["property uchar a"],
                _ => &["property list uchar int vertex_indices"],
            };
            log.push(format!(
                "header: inserted `element extra {count}` with {} properties before line {at}",
                props.len()
            ));
            for p in props.iter().rev() {
                lines.insert(at, p.to_string());
            }
            lines.insert(at, format!("element extra {count}"));
        }
        7 => {
            let i = 1 + rng.below(lines.len().saturating_sub(1).max(1));
            let junk = [
                "comment ",
                "obj_info x",
                "element",
                "element vertex",
                "property float",
                "property list float",
                "bogus line",
                "",
            ];
            let line = rng.pick(&junk);
            log.push(format!("header: inserted `{line}` at line {i}"));
            lines.insert(i.min(lines.len()), line.to_string());
        }
        _ => {
            let i = rng
                .below(lines.len().max(1))
                .min(lines.len().saturating_sub(1));
            log.push(format!("header: removed line {} (`{}`)", i + 1, lines[i]));
            lines.remove(i);
        }
    }
    let crlf = rng.chance(1, 16);
    let sep = if crlf { "\r\n" } else { "\n" };
    if crlf {
        log.push("header: CRLF line endings".into());
    }
    let mut head = lines.join(sep);
    head.push_str(sep);
    data.splice(..end, head.into_bytes());
    true
}

/// Replaces one token of an ASCII PLY body (after the header) with a NaN-ish, huge or empty one.
pub fn ply_ascii_token(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    let Some(start) = ply_header_len(data) else {
        return false;
    };
    let body = &data[start..];
    let tokens: Vec<(usize, usize)> = {
        let mut out = Vec::new();
        let mut i = 0;
        while i < body.len() && out.len() < 100_000 {
            while i < body.len() && body[i].is_ascii_whitespace() {
                i += 1;
            }
            let s = i;
            while i < body.len() && !body[i].is_ascii_whitespace() {
                i += 1;
            }
            if i > s {
                out.push((start + s, start + i));
            }
        }
        out
    };
    if tokens.is_empty() {
        return false;
    }
    let (s, e) = *rng.pick(&tokens);
    let new: String = match rng.below(3) {
        0 => rng.pick(&NAN_ISH).to_string(),
        1 => rng.pick(&HUGE).to_string(),
        _ => ["", "\n", " 1 2 3", "x", "1.0.0", "--1"][rng.below(6)].to_string(),
    };
    log.push(format!(
        "body: token `{}` at byte {s} -> `{}`",
        String::from_utf8_lossy(&data[s..e]),
        new.escape_debug()
    ));
    data.splice(s..e, new.into_bytes());
    true
}

/// Mutates a JSON document: either structurally (a parsed value, re-serialised) or as text (a
/// number token replaced by something JSON has no number for). Returns false on non-JSON.
pub fn json(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    if rng.chance(1, 4) {
        return json_text(rng, data, log);
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(data) else {
        return false;
    };
    let mut paths = Vec::new();
    collect_paths(&value, String::new(), &mut paths);
    if paths.is_empty() {
        return false;
    }
    let path = rng.pick(&paths).clone();
    let Some(node) = value.pointer_mut(&path) else {
        return false;
    };
    let what = edit_value(rng, node);
    log.push(format!("json: {path}: {what}"));
    *data = serde_json::to_vec(&value).unwrap_or_default();
    true
}

/// Every JSON pointer in `value`, the root excluded, up to a bound (big codebooks).
fn collect_paths(value: &Value, at: String, out: &mut Vec<String>) {
    if out.len() > 4096 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                collect_paths(v, p, out);
            }
        }
        Value::Array(items) => {
            // Long arrays (codebooks): a few entries stand for all.
            for (i, v) in items.iter().enumerate().take(8) {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                collect_paths(v, p, out);
            }
        }
        _ => {}
    }
}

/// Changes one JSON node; returns what it did.
fn edit_value(rng: &mut Rng, node: &mut Value) -> String {
    let what = match &mut *node {
        Value::Number(_) => {
            let new = match rng.below(5) {
                0 => Value::from(u64::MAX),
                1 => Value::from(-1),
                2 => Value::from(0),
                3 => serde_json::from_str(HUGE[rng.below(HUGE.len())]).unwrap_or(Value::Null),
                _ => Value::from(rng.pick(&NAN_ISH).to_string()),
            };
            let what = format!("number {node} -> {new}");
            *node = new;
            what
        }
        Value::String(s) => {
            let names = [
                "",
                ".",
                "..",
                "../means_l.webp",
                "/dev/zero",
                "/proc/self/mem",
                "meta.json",
                "means_l.webp",
                "sh0.webp",
                "missing.webp",
                "a/b.webp",
                "data:application/octet-stream;base64,AAAA",
                "2dgs",
            ];
            let new = rng.pick(&names).to_string();
            let what = format!("string `{s}` -> `{new}`");
            *s = new;
            what
        }
        Value::Array(items) => match rng.below(4) {
            0 => {
                items.clear();
                "array emptied".into()
            }
            1 => {
                let keep = rng.below(items.len().max(1));
                items.truncate(keep);
                format!("array cut to {keep} entries")
            }
            2 if !items.is_empty() => {
                // Up to 100,000 copies, but at most ~8 MiB more text: a bigger input is only
                // slower to read, not more interesting.
                let first = items[0].clone();
                let size = serde_json::to_vec(&first).map_or(1, |v| v.len().max(1));
                let copies = [1usize, 10, 1000, 100_000][rng.below(4)]
                    .min((8 << 20) / size)
                    .max(1);
                items.extend(std::iter::repeat_n(first, copies));
                format!("array grew by {copies} copies of its first entry")
            }
            _ => {
                items.push(Value::Null);
                "array got a null entry".into()
            }
        },
        Value::Object(map) => {
            if map.is_empty() || rng.chance(1, 4) {
                map.insert("extra".into(), Value::from(u64::MAX));
                return "object got a key `extra`".into();
            }
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            map.remove(&key);
            format!("object lost key `{key}`")
        }
        other => {
            let new = [
                Value::Null,
                Value::from(true),
                Value::from(0),
                Value::from("x"),
            ][rng.below(4)]
            .clone();
            let what = format!("{other} -> {new}");
            *other = new;
            what
        }
    };
    // Sometimes the node's type changes altogether (number → string, array → object…).
    if !rng.chance(1, 8) {
        return what;
    }
    let new = [
        Value::Null,
        Value::from(1.5),
        Value::from("7"),
        Value::Array(vec![]),
        serde_json::json!({}),
    ][rng.below(5)]
    .clone();
    let what = format!("{what}; then the node became {new}");
    *node = new;
    what
}

/// Replaces one number token of the JSON text with `NaN`, `1e999` and the like (not JSON).
fn json_text(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    let mut numbers = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < data.len() && numbers.len() < 10_000 {
        let b = data[i];
        if in_string {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let s = i;
            while i < data.len()
                && matches!(data[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                i += 1;
            }
            numbers.push((s, i));
            continue;
        }
        i += 1;
    }
    if numbers.is_empty() {
        return false;
    }
    let (s, e) = *rng.pick(&numbers);
    let new = if rng.chance(1, 2) {
        rng.pick(&NAN_ISH).to_string()
    } else {
        format!(
            "{}{}",
            rng.pick(&HUGE),
            rng.pick(&["", "0000000000", ".5", "e30"])
        )
    };
    log.push(format!(
        "json text: number `{}` at byte {s} -> `{new}`",
        String::from_utf8_lossy(&data[s..e])
    ));
    data.splice(s..e, new.into_bytes());
    true
}

/// Reshapes a streamed SOG manifest's tree: nests it deeply, gives a leaf children or a node
/// lods too, repeats a leaf (overlapping ranges), or gives a node one or three children.
/// Returns false on non-JSON or a manifest without a tree.
pub fn lod_tree(rng: &mut Rng, data: &mut Vec<u8>, log: &mut Vec<String>) -> bool {
    let Ok(mut value) = serde_json::from_slice::<Value>(data) else {
        return false;
    };
    let Some(tree) = value.get_mut("tree") else {
        return false;
    };
    let what = match rng.below(5) {
        0 => {
            let depth = *rng.pick(&[40usize, 48, 49, 60, 63, 64, 200]);
            let mut node = tree.take();
            for _ in 0..depth {
                node = serde_json::json!({"children": [node, {"lods": {}}]});
            }
            *tree = node;
            format!("tree nested {depth} deep")
        }
        1 => {
            let copy = tree.clone();
            if let Some(obj) = tree.as_object_mut() {
                obj.insert(
                    "lods".into(),
                    serde_json::json!({"0": {"file": 0, "offset": 0, "count": 1}}),
                );
                obj.insert("children".into(), serde_json::json!([copy.clone(), copy]));
            }
            "root given both children and lods".into()
        }
        2 => {
            let first = tree.pointer("/children/0").cloned();
            match (first, tree.pointer_mut("/children")) {
                (Some(leaf), Some(Value::Array(children))) => {
                    children.push(leaf);
                    "a third child (a repeated subtree)".into()
                }
                _ => "no children to repeat".into(),
            }
        }
        3 => {
            if let Some(Value::Array(children)) = tree.pointer_mut("/children") {
                children.truncate(1);
            }
            "one child".into()
        }
        _ => {
            let copy = tree.clone();
            *tree = serde_json::json!({"children": [copy.clone(), copy]});
            "tree doubled (every range read twice)".into()
        }
    };
    log.push(format!("lod tree: {what}"));
    *data = serde_json::to_vec(&value).unwrap_or_default();
    true
}
