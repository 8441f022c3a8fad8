//! `sort_pairs` on the host: a stable parallel sort of (key, value) pairs.

use rayon::prelude::*;

use super::Cpu;
use crate::Result;
use crate::backend::Sort;

/// Stable sort of `values` by `keys`, both permuted in place.
pub fn sort_pairs(keys: &mut [u64], values: &mut [u32]) {
    let mut pairs: Vec<(u64, u32)> = keys.iter().copied().zip(values.iter().copied()).collect();
    pairs.par_sort_by_key(|p| p.0);
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        keys[i] = k;
        values[i] = v;
    }
}

impl Sort for Cpu {
    fn run_sort_pairs(&self, keys: &mut Vec<u64>, values: &mut Vec<u32>) -> Result<()> {
        sort_pairs(keys, values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_is_stable() {
        let mut keys = vec![3, 1, 3, 0, 1];
        let mut values = vec![0, 1, 2, 3, 4];
        sort_pairs(&mut keys, &mut values);
        assert_eq!(keys, [0, 1, 1, 3, 3]);
        assert_eq!(values, [3, 1, 4, 0, 2]);
    }
}
