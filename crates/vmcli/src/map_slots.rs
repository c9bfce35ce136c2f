//! `--map-slots N` of `vmplay run`, `host` and `diff`: `p1` starts with N
//! free map slots below `vm.max_map_count`.
//!
//! Linux counts a process's VMAs (`mm->map_count`) against
//! `vm.max_map_count`; the rules that depend on it (`do_mmap`,
//! `split_vma`, `vms_gather_munmap_vmas`, mremap's checks) are modelled in
//! vmcore's `vm/split.rs`. The host's scenario process holds some 30
//! mappings of its own (program, libraries, heap, stack) and makes
//! fillers until N slots are left (vmhost's `map_count.rs`); the
//! simulator's `p1` holds only its stack, so its `max_map_count` is set to
//! that baseline plus N. Both then meet the limit at the same line.

use vmcore::{Machine, MachineConfig};

/// The value of `--map-slots`: a whole number of slots.
pub fn parse(v: Option<&String>) -> Result<u64, String> {
    let v = v.ok_or("--map-slots needs N (free map slots)")?;
    v.parse::<u64>()
        .ok()
        .filter(|&n| n <= LIMIT_MAX)
        .ok_or_else(|| {
            format!("--map-slots takes a whole number of free map slots from 0 to {LIMIT_MAX}, not '{v}'")
        })
}

/// The largest `vm.max_map_count` the kernel accepts (an `int` sysctl).
const LIMIT_MAX: u64 = i32::MAX as u64;

/// `cfg` with `max_map_count` set so that `p1` starts with `slots` free
/// map slots (its own entries, the stack, counted as Linux counts VMAs).
pub fn config(cfg: MachineConfig, slots: Option<u64>) -> Result<MachineConfig, String> {
    let Some(slots) = slots else {
        return Ok(cfg);
    };
    let own = Machine::new(cfg).process_view(1).map_or(0, |p| p.entries) as u64;
    let limit = own + slots;
    if limit > LIMIT_MAX {
        return Err(format!(
            "--map-slots {slots}: p1 starts with {own} mapping(s), so vm.max_map_count would be {limit}, above {LIMIT_MAX}"
        ));
    }
    Ok(MachineConfig {
        max_map_count: limit as usize,
        ..cfg
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_above_the_stack() {
        let c = config(MachineConfig::reference(), Some(3)).unwrap();
        assert_eq!(c.max_map_count, 4);
        let c = config(MachineConfig::reference(), None).unwrap();
        assert_eq!(c.max_map_count, 65_530);
        assert!(parse(Some(&"-1".into())).unwrap_err().contains("'-1'"));
        assert!(parse(Some(&"2147483648".into())).is_err());
        assert_eq!(parse(Some(&"0".into())), Ok(0));
        assert!(parse(None).is_err());
        assert!(
            config(MachineConfig::reference(), Some(LIMIT_MAX))
                .unwrap_err()
                .contains("above")
        );
    }
}
