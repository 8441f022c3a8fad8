//! How many scenes a batch runs at once, and on what: one worker per CUDA device (the devices
//! `CUDA_VISIBLE_DEVICES` leaves), one wgpu worker on a machine whose only GPU is not NVIDIA's,
//! CPU workers otherwise. `--jobs` sets the number; CUDA workers are dealt to the devices in
//! turn.

use serde::Serialize;

use crate::backend::select::Choice;

/// Where a worker's scenes run first (under `auto`, each scene may still fall back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CUDA device with this ordinal.
    Cuda(usize),
    Wgpu,
    Cpu,
}

/// What the machine offers, as far as planning needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    /// CUDA devices visible (0 without a driver).
    pub cuda_devices: usize,
    /// Whether wgpu finds a hardware adapter.
    pub gpu_adapter: bool,
    /// CPU threads.
    pub cpu_threads: usize,
}

/// The workers' kinds, one entry per worker. `Err` when the backend asked for has no device.
pub fn plan(choice: Choice, jobs: Option<usize>, machine: Machine) -> Result<Vec<Kind>, String> {
    let count = |default: usize| jobs.unwrap_or(default).max(1);
    let cuda = |n: usize| {
        (0..n)
            .map(|i| Kind::Cuda(i % machine.cuda_devices))
            .collect()
    };
    Ok(match choice {
        Choice::Cuda if machine.cuda_devices == 0 => {
            return Err("--backend cuda, but no CUDA device is visible".into());
        }
        Choice::Cuda => cuda(count(machine.cuda_devices)),
        Choice::Auto if machine.cuda_devices > 0 => cuda(count(machine.cuda_devices)),
        Choice::Wgpu => vec![Kind::Wgpu; count(1)],
        Choice::Auto if machine.gpu_adapter => vec![Kind::Wgpu; count(1)],
        Choice::Auto | Choice::Cpu => vec![Kind::Cpu; count(default_cpu_workers(machine))],
    })
}

/// One CPU worker per four threads: each scene's k-means already uses every thread, and a
/// few scenes in flight keep them busy through the serial parts (reading, WebP).
fn default_cpu_workers(machine: Machine) -> usize {
    (machine.cpu_threads / 4).max(1)
}

/// How many workers of each kind ran, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub cuda: usize,
    pub wgpu: usize,
    pub cpu: usize,
    /// The CUDA device of each CUDA worker, in worker order.
    pub cuda_devices: Vec<usize>,
}

impl Counts {
    pub fn of(kinds: &[Kind]) -> Self {
        let mut counts = Counts::default();
        for kind in kinds {
            match kind {
                Kind::Cuda(ordinal) => {
                    counts.cuda += 1;
                    counts.cuda_devices.push(*ordinal);
                }
                Kind::Wgpu => counts.wgpu += 1,
                Kind::Cpu => counts.cpu += 1,
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(cuda_devices: usize, gpu_adapter: bool, cpu_threads: usize) -> Machine {
        Machine {
            cuda_devices,
            gpu_adapter,
            cpu_threads,
        }
    }

    #[test]
    fn one_worker_per_cuda_device() {
        let kinds = plan(Choice::Auto, None, machine(4, true, 64)).unwrap();
        assert_eq!(
            kinds,
            [Kind::Cuda(0), Kind::Cuda(1), Kind::Cuda(2), Kind::Cuda(3)]
        );
        // CUDA_VISIBLE_DEVICES=1: the driver shows one device, ordinal 0.
        let one = plan(Choice::Cuda, None, machine(1, true, 64)).unwrap();
        assert_eq!(one, [Kind::Cuda(0)]);
        let counts = Counts::of(&kinds);
        assert_eq!((counts.cuda, counts.wgpu, counts.cpu), (4, 0, 0));
    }

    #[test]
    fn jobs_deal_cuda_workers_to_devices_in_turn() {
        let kinds = plan(Choice::Cuda, Some(5), machine(2, false, 8)).unwrap();
        assert_eq!(Counts::of(&kinds).cuda_devices, [0, 1, 0, 1, 0]);
        assert_eq!(
            plan(Choice::Auto, Some(0), machine(2, false, 8))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn without_cuda_auto_takes_a_gpu_adapter_then_the_cpu() {
        assert_eq!(
            plan(Choice::Auto, None, machine(0, true, 16)).unwrap(),
            [Kind::Wgpu]
        );
        assert_eq!(
            plan(Choice::Auto, None, machine(0, false, 16)).unwrap(),
            [Kind::Cpu; 4]
        );
        assert_eq!(
            plan(Choice::Cpu, None, machine(8, true, 2)).unwrap(),
            [Kind::Cpu]
        );
        assert_eq!(
            plan(Choice::Cpu, Some(3), machine(0, false, 2)).unwrap(),
            [Kind::Cpu; 3]
        );
        assert!(plan(Choice::Cuda, None, machine(0, true, 16)).is_err());
    }
}
