//! Human-readable rendering of an [`Evaluation`]: one aligned row per attribute.

use std::fmt::Write;

use super::{ErrorStats, Evaluation, Sizes};

/// A number in at most ~9 characters: 4 significant digits, in plain notation when the
/// rounded magnitude lies in [1e-3, 1e5), scientific otherwise; "0" for zero, "-" for a
/// missing or non-finite value.
pub(crate) fn number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return "-".into();
    }
    // The exponent after rounding to 4 significant digits decides the notation, so that
    // 0.99999 prints as "1.000", not "1.0000".
    let scientific = format!("{x:.3e}");
    let exponent: i32 = scientific
        .rsplit('e')
        .next()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    if (-3..5).contains(&exponent) {
        let decimals = (3 - exponent).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        scientific
    }
}

/// A byte count with a decimal unit (B, kB, MB, GB).
pub(crate) fn bytes(n: u64) -> String {
    let units = [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")];
    for (scale, unit) in units {
        if n as f64 >= scale {
            return format!("{:.1} {unit}", n as f64 / scale);
        }
    }
    format!("{n} B")
}

/// Renders rows of cells with each column padded to its widest cell.
pub(crate) fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn row(name: &str, stats: &ErrorStats, unit: &str) -> Vec<String> {
    let mut note = String::new();
    if stats.skipped > 0 {
        note = format!("{} values not comparable", stats.skipped);
    }
    vec![
        name.into(),
        number(stats.rmse),
        number(stats.p99),
        number(stats.max),
        unit.into(),
        note,
    ]
}

fn sizes_line(s: &Sizes) -> String {
    let per_splat =
        |v: Option<f64>| v.map_or(String::new(), |b| format!(" ({} B/splat)", number(b)));
    let ratio = s.ratio.map_or("-".into(), |r| format!("{r:.2}×"));
    format!(
        "size: {}{} → {}{}, ratio {ratio}\n",
        bytes(s.input_bytes),
        per_splat(s.input_bytes_per_splat),
        bytes(s.output_bytes),
        per_splat(s.output_bytes_per_splat),
    )
}

impl Evaluation {
    /// The errors as an aligned table (attribute, RMSE, p99, max, unit), preceded by a line on
    /// the matching and followed by the sizes when known.
    pub fn table(&self) -> String {
        let m = &self.matching;
        let mut out = format!(
            "matched {} of {} decoded splats to {} originals: {} originals unmatched, \
             max distance {}\n",
            m.matched,
            m.decoded_splats,
            m.original_splats,
            m.originals_unmatched,
            number(m.max_distance),
        );
        if m.counts_differ {
            let _ = writeln!(
                out,
                "note: splat counts differ ({} original, {} decoded)",
                m.original_splats, m.decoded_splats
            );
        }
        if m.decoded_unmatched > 0 || m.shared > 0 {
            let _ = writeln!(
                out,
                "note: {} decoded splats have no finite centre, {} share an original",
                m.decoded_unmatched, m.shared
            );
        }
        let header = ["attribute", "RMSE", "p99", "max", "unit", ""];
        let mut rows = vec![header.map(String::from).to_vec()];
        rows.push(row("position", &self.position, "world units"));
        if let Some(rel) = &self.position_relative {
            let unit = format!("of bbox diagonal {}", number(self.bbox_diagonal));
            rows.push(row("position (relative)", rel, &unit));
        }
        rows.push(row("log-scale", &self.log_scale, "ln(σ)"));
        rows.push(row("rotation", &self.rotation_deg, "degrees"));
        rows.push(row("opacity", &self.opacity, "[0,1]"));
        let psnr = self
            .color_dc_psnr_db
            .map_or(String::new(), |p| format!(", PSNR {p:.1} dB"));
        rows.push(row("DC colour", &self.color_dc, &format!("[0,1]{psnr}")));
        rows.push(row(
            "DC colour (α-weighted)",
            &self.color_dc_weighted,
            "[0,1]",
        ));
        for band in &self.sh {
            rows.push(row(
                &format!("SH band {}", band.band),
                &band.error,
                "coefficient",
            ));
        }
        out.push_str(&aligned(&rows));
        if self.sh_bands_dropped > 0 {
            let _ = writeln!(
                out,
                "SH bands not compared: {} (original has {}, decoded {})",
                self.sh_bands_dropped, self.sh_bands_original, self.sh_bands_decoded
            );
        }
        if let Some(sizes) = &self.sizes {
            out.push_str(&sizes_line(sizes));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compact() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1.23456), "1.235");
        assert_eq!(number(1234.5), "1234");
        assert_eq!(number(0.012345), "0.01235");
        assert_eq!(number(1.5e-5), "1.500e-5");
        assert_eq!(number(f64::NAN), "-");
        assert_eq!(number(0.99999994), "1.000");
        assert_eq!(number(99999.9), "1.000e5");
        assert_eq!(number(-0.0009999), "-9.999e-4");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(15_300_000), "15.3 MB");
    }

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["a".to_string(), "1".into(), "x".into()],
            vec!["long name".to_string(), "22".into(), "y".into()],
        ];
        let text = aligned(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find('x'), lines[1].find('y'));
        assert_eq!(lines[0].find('1'), Some("long name".len() + 2));
    }

    #[test]
    fn table_names_every_row_and_the_sizes() {
        let mut e = Evaluation {
            sh: vec![super::super::BandError {
                band: 1,
                error: ErrorStats::default(),
            }],
            sh_bands_original: 3,
            sh_bands_decoded: 1,
            sh_bands_dropped: 2,
            ..Evaluation::default()
        };
        e.sizes = Some(super::super::sizes(2_000_000, 100_000, 1000));
        let text = e.table();
        for needle in [
            "position",
            "rotation",
            "opacity",
            "DC colour",
            "SH band 1",
            "not compared: 2",
            "ratio 20.00×",
            "2000 B/splat",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }
}
