//! The FreeBSD personality's system calls, one errno path per test, each
//! with the check of `sys/vm/vm_mmap.c` (or `vm_map.c`, `vm_unix.c`) that
//! decides it, plus the behaviours where FreeBSD differs from Linux.

use vmcore::personality::FREEBSD;
use vmcore::personality::freebsd::abi::*;
use vmcore::{Access, Errno, Machine, MachineConfig, SysResult};

const ARENA: u64 = 0x3000_0000_0000;
const RW: u64 = PROT_READ | PROT_WRITE;
const ANON: u64 = MAP_ANON | MAP_PRIVATE;
const FIXED: u64 = ANON | MAP_FIXED;
const K: u64 = 4096;

fn freebsd() -> Machine {
    Machine::new(MachineConfig {
        personality: &FREEBSD,
        ..MachineConfig::default()
    })
}

fn errno<T: std::fmt::Debug>(r: SysResult<T>) -> Errno {
    r.expect_err("the call should fail").errno
}

/// A machine with `[ARENA, ARENA + pages)` mapped private read-write.
/// (`lines` lists the entries in the arena, as the `maps` operation.)
fn mapped(pages: u64) -> Machine {
    let mut m = freebsd();
    m.mmap(1, ARENA, pages * K, RW, FIXED, -1, 0).unwrap();
    m
}

fn lines(m: &Machine) -> Vec<String> {
    m.maps(1)
        .unwrap()
        .iter()
        .filter(|l| l.start >= ARENA && l.start < ARENA + (64 << 30))
        .map(|l| format!("{:x}-{:x} {} {}", l.start, l.end, l.perms, l.backing))
        .collect()
}

// ----- mmap (kern_mmap) -----

#[test]
fn mmap_with_an_unknown_prot_bit_is_einval() {
    let mut m = freebsd();
    assert_eq!(
        errno(m.mmap(1, 0, K, RW | 0x10_0000, ANON, -1, 0)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.mmap(1, 0, K, 0x8, ANON, -1, 0)), Errno::EINVAL);
}

#[test]
fn mmap_beyond_its_own_prot_max_is_enotsup() {
    let mut m = freebsd();
    let prot = RW | PROT_READ << PROT_MAX_SHIFT;
    assert_eq!(
        errno(m.mmap(1, ARENA, K, prot, FIXED, -1, 0)),
        Errno::ENOTSUP
    );
}

#[test]
fn mmap_of_length_zero_is_einval() {
    let mut m = freebsd();
    assert_eq!(errno(m.mmap(1, 0, 0, RW, ANON, -1, 0)), Errno::EINVAL);
}

#[test]
fn mmap_anon_with_a_descriptor_or_an_offset_is_einval() {
    let mut m = freebsd();
    let fd = m.open(1, "f", K).unwrap();
    assert_eq!(
        errno(m.mmap(1, 0, K, RW, ANON, fd as i64, 0)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.mmap(1, 0, K, RW, ANON, -1, K)), Errno::EINVAL);
}

#[test]
fn mmap_stack_needs_read_write_and_no_descriptor() {
    let mut m = freebsd();
    let s = MAP_STACK | ANON;
    assert_eq!(
        errno(m.mmap(1, 0, 64 * K, PROT_READ, s, -1, 0)),
        Errno::EINVAL
    );
    let fd = m.open(1, "f", K).unwrap();
    assert_eq!(
        errno(m.mmap(1, 0, 64 * K, RW, MAP_STACK, fd as i64, 0)),
        Errno::EINVAL
    );
}

#[test]
fn mmap_stack_no_larger_than_its_guard_page_is_einval() {
    let mut m = freebsd();
    let s = MAP_STACK | FIXED;
    assert_eq!(errno(m.mmap(1, ARENA, K, RW, s, -1, 0)), Errno::EINVAL);
}

#[test]
fn mmap_with_an_undefined_flag_is_einval() {
    let mut m = freebsd();
    for bad in [MAP_RESERVED0080, MAP_RESERVED0100, 0x10_0000] {
        assert_eq!(errno(m.mmap(1, 0, K, RW, ANON | bad, -1, 0)), Errno::EINVAL);
    }
    // MAP_RESERVED0020 and MAP_RESERVED0040 are dropped, not refused.
    assert!(
        m.mmap(
            1,
            0,
            K,
            RW,
            ANON | MAP_RESERVED0020 | MAP_RESERVED0040,
            -1,
            0
        )
        .is_ok()
    );
}

#[test]
fn mmap_excl_without_fixed_is_einval() {
    let mut m = freebsd();
    assert_eq!(
        errno(m.mmap(1, ARENA, K, RW, ANON | MAP_EXCL, -1, 0)),
        Errno::EINVAL
    );
}

#[test]
fn mmap_shared_and_private_together_is_einval() {
    let mut m = freebsd();
    let f = MAP_ANON | MAP_SHARED | MAP_PRIVATE;
    assert_eq!(errno(m.mmap(1, 0, K, RW, f, -1, 0)), Errno::EINVAL);
}

#[test]
fn mmap_guard_takes_only_prot_none_and_its_own_flags() {
    let mut m = freebsd();
    let g = MAP_GUARD | MAP_FIXED;
    assert_eq!(
        errno(m.mmap(1, ARENA, K, PROT_READ, g, -1, 0)),
        Errno::EINVAL
    );
    assert_eq!(
        errno(m.mmap(1, ARENA, K, 0, g | MAP_PRIVATE, -1, 0)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.mmap(1, ARENA, K, 0, g, -1, K)), Errno::EINVAL);
    assert_eq!(m.mmap(1, ARENA, K, 0, g, -1, 0), Ok(ARENA));
    assert_eq!(lines(&m), ["300000000000-300000001000 ---p guard"]);
    assert!(m.load(1, ARENA).is_err());
}

#[test]
fn mmap_whose_size_wraps_is_enomem() {
    let mut m = freebsd();
    assert_eq!(
        errno(m.mmap(1, 0, u64::MAX - 10, RW, ANON, -1, 0)),
        Errno::ENOMEM
    );
}

#[test]
fn mmap_aligned_below_a_page_or_past_63_is_einval() {
    let mut m = freebsd();
    for shift in [2u64, 11, 64, 255] {
        let f = ANON | shift << MAP_ALIGNMENT_SHIFT;
        assert_eq!(
            errno(m.mmap(1, 0, K, RW, f, -1, 0)),
            Errno::EINVAL,
            "{shift}"
        );
    }
    assert!(m.mmap(1, 0, K, RW, ANON | MAP_ALIGNED_SUPER, -1, 0).is_ok());
    assert!(
        m.mmap(1, 0, K, RW, ANON | 12 << MAP_ALIGNMENT_SHIFT, -1, 0)
            .is_ok()
    );
}

#[test]
fn mmap_aligned_rounds_the_first_fit_up() {
    let mut m = freebsd();
    let a = m.mmap(1, ARENA + K, K, RW, ANON | 21 << MAP_ALIGNMENT_SHIFT, -1, 0);
    assert_eq!(a, Ok(ARENA + (2 << 20)));
}

#[test]
fn mmap_fixed_unaligned_like_its_offset_is_einval() {
    let mut m = freebsd();
    assert_eq!(
        errno(m.mmap(1, ARENA + 1, K, RW, FIXED, -1, 0)),
        Errno::EINVAL
    );
    // An address with the offset's remainder is fine.
    let fd = m.open(1, "f", 2 * K).unwrap();
    let f = MAP_PRIVATE | MAP_FIXED;
    assert_eq!(
        m.mmap(1, ARENA + 0x10, K, PROT_READ, f, fd as i64, 0x10),
        Ok(ARENA + 0x10)
    );
}

#[test]
fn mmap_fixed_outside_the_user_map_is_einval() {
    let mut m = freebsd();
    for at in [0, 0x8000_0000_0000, 0x7fff_ffff_f000, !0xfffu64] {
        let len = if at == 0x7fff_ffff_f000 { 2 * K } else { K };
        assert_eq!(
            errno(m.mmap(1, at, len, RW, FIXED, -1, 0)),
            Errno::EINVAL,
            "{at:#x}"
        );
    }
}

#[test]
fn mmap_32bit_fixed_above_2g_is_einval_and_unfixed_lands_below() {
    let mut m = freebsd();
    let f = FIXED | MAP_32BIT;
    assert_eq!(errno(m.mmap(1, ARENA, K, RW, f, -1, 0)), Errno::EINVAL);
    let a = m.mmap(1, ARENA, K, RW, ANON | MAP_32BIT, -1, 0).unwrap();
    assert!(a + K <= 1 << 31);
}

#[test]
fn mmap_of_a_closed_descriptor_is_ebadf() {
    let mut m = freebsd();
    assert_eq!(
        errno(m.mmap(1, 0, K, PROT_READ, MAP_PRIVATE, 7, 0)),
        Errno::EBADF
    );
}

#[test]
fn mmap_of_a_file_without_shared_or_private_is_einval() {
    let mut m = freebsd();
    let fd = m.open(1, "f", K).unwrap();
    assert_eq!(
        errno(m.mmap(1, 0, K, PROT_READ, 0, fd as i64, 0)),
        Errno::EINVAL
    );
}

#[test]
fn mmap_readable_of_a_write_only_descriptor_is_eacces() {
    let mut m = freebsd();
    let fd = m.open_with(1, "f", K, Access::WriteOnly).unwrap();
    assert_eq!(
        errno(m.mmap(1, 0, K, PROT_READ, MAP_PRIVATE, fd as i64, 0)),
        Errno::EACCES
    );
    // A private mapping may still be written.
    assert!(
        m.mmap(1, 0, K, PROT_WRITE, MAP_PRIVATE, fd as i64, 0)
            .is_ok()
    );
}

#[test]
fn mmap_shared_writable_of_a_read_only_descriptor_is_eacces() {
    let mut m = freebsd();
    let fd = m.open_with(1, "f", K, Access::ReadOnly).unwrap();
    assert_eq!(
        errno(m.mmap(1, 0, K, RW, MAP_SHARED, fd as i64, 0)),
        Errno::EACCES
    );
    assert!(m.mmap(1, 0, K, RW, MAP_PRIVATE, fd as i64, 0).is_ok());
}

#[test]
fn mmap_past_the_largest_file_offset_is_einval() {
    let mut m = freebsd();
    let fd = m.open(1, "f", K).unwrap();
    let off = 0x7fff_ffff_ffff_f000;
    assert_eq!(
        errno(m.mmap(1, 0, 2 * K, PROT_READ, MAP_SHARED, fd as i64, off)),
        Errno::EINVAL
    );
    assert_eq!(
        errno(m.mmap(1, 0, K, PROT_READ, MAP_SHARED, fd as i64, 1 << 63)),
        Errno::EINVAL
    );
}

#[test]
fn mmap_excl_over_a_mapping_is_enomem_and_plain_fixed_replaces() {
    let mut m = mapped(2);
    m.store(1, ARENA, 7).unwrap();
    assert_eq!(
        errno(m.mmap(1, ARENA, K, RW, FIXED | MAP_EXCL, -1, 0)),
        Errno::ENOMEM
    );
    assert_eq!(m.load(1, ARENA), Ok(7));
    assert_eq!(m.mmap(1, ARENA, K, RW, FIXED, -1, 0), Ok(ARENA));
    assert_eq!(m.load(1, ARENA), Ok(0));
}

#[test]
fn mmap_hint_takes_the_first_fit_at_or_above_it() {
    let mut m = freebsd();
    assert_eq!(m.mmap(1, ARENA, K, RW, ANON, -1, 0), Ok(ARENA));
    assert_eq!(m.mmap(1, ARENA, K, RW, ANON, -1, 0), Ok(ARENA + K));
    m.mmap(1, ARENA + 4 * K, K, RW, FIXED, -1, 0).unwrap();
    assert_eq!(
        m.mmap(1, ARENA + 2 * K, 3 * K, RW, ANON, -1, 0),
        Ok(ARENA + 5 * K)
    );
    // Touching anonymous entries with the same protection are one.
    assert_eq!(
        lines(&m),
        [
            "300000000000-300000002000 rw-p anon",
            "300000004000-300000008000 rw-p anon"
        ]
    );
}

#[test]
fn mmap_stack_leaves_a_guard_gap_below_that_it_grows_into() {
    let mut m = freebsd();
    m.mmap(1, ARENA, 64 * K, RW, MAP_STACK | FIXED, -1, 0)
        .unwrap();
    assert_eq!(
        lines(&m),
        [
            "300000000000-300000020000 ---p guard",
            "300000020000-300000040000 rw-p anon"
        ]
    );
    assert_eq!(m.load(1, ARENA + 0x1_ffff), Ok(0));
    // Grown by 128 KiB less the guard page, an entry of its own.
    assert_eq!(
        lines(&m),
        [
            "300000000000-300000001000 ---p guard",
            "300000001000-300000020000 rw-p anon",
            "300000020000-300000040000 rw-p anon"
        ]
    );
    // The guard page itself never becomes stack.
    assert!(m.load(1, ARENA).is_err());
    m.check().unwrap();
}

// ----- munmap (kern_munmap) -----

#[test]
fn munmap_of_length_zero_is_einval() {
    let mut m = mapped(1);
    assert_eq!(errno(m.munmap(1, ARENA, 0)), Errno::EINVAL);
}

#[test]
fn munmap_below_the_map_or_wrapping_is_einval() {
    let mut m = freebsd();
    assert_eq!(errno(m.munmap(1, 0, K)), Errno::EINVAL);
    assert_eq!(errno(m.munmap(1, !0xfffu64, 2 * K)), Errno::EINVAL);
    assert_eq!(errno(m.munmap(1, 0x7fff_ffff_f000, 2 * K)), Errno::EINVAL);
}

#[test]
fn munmap_rounds_the_start_down_and_skips_holes() {
    let mut m = mapped(4);
    assert_eq!(m.munmap(1, ARENA + 1, K), Ok(()));
    assert_eq!(lines(&m), ["300000002000-300000004000 rw-p anon"]);
    assert_eq!(m.munmap(1, ARENA + (1 << 20), K), Ok(()));
}

// ----- mprotect (kern_mprotect, vm_map_protect) -----

#[test]
fn mprotect_with_an_unknown_bit_is_einval() {
    let mut m = mapped(1);
    assert_eq!(errno(m.mprotect(1, ARENA, K, 0x8)), Errno::EINVAL);
}

#[test]
fn mprotect_wrapping_is_einval() {
    let mut m = freebsd();
    assert_eq!(errno(m.mprotect(1, u64::MAX, 1, PROT_READ)), Errno::EINVAL);
}

#[test]
fn mprotect_beyond_the_prot_max_given_with_it_is_enotsup() {
    let mut m = mapped(1);
    assert_eq!(
        errno(m.mprotect(1, ARENA, K, RW | PROT_READ << PROT_MAX_SHIFT)),
        Errno::ENOTSUP
    );
}

#[test]
fn mprotect_beyond_the_maximum_is_eacces_and_changes_nothing() {
    let mut m = freebsd();
    m.mmap(1, ARENA, 2 * K, RW, FIXED, -1, 0).unwrap();
    m.mmap(
        1,
        ARENA + 2 * K,
        K,
        PROT_READ | PROT_READ << PROT_MAX_SHIFT,
        FIXED,
        -1,
        0,
    )
    .unwrap();
    assert_eq!(
        errno(m.mprotect(1, ARENA, 3 * K, PROT_READ | PROT_EXEC)),
        Errno::EACCES
    );
    assert_eq!(lines(&m)[0], "300000000000-300000002000 rw-p anon");
    // A maximum can shrink but never grow.
    m.mprotect(1, ARENA, K, PROT_READ | PROT_READ << PROT_MAX_SHIFT)
        .unwrap();
    assert_eq!(errno(m.mprotect(1, ARENA, K, RW)), Errno::EACCES);
    assert_eq!(
        errno(m.mprotect(1, ARENA, K, PROT_READ | RW << PROT_MAX_SHIFT)),
        Errno::EACCES
    );
}

#[test]
fn mprotect_skips_holes_and_guards_and_merges_back() {
    let mut m = mapped(3);
    m.store(1, ARENA + K, 1).unwrap();
    m.mmap(1, ARENA + 8 * K, K, 0, MAP_GUARD | MAP_FIXED, -1, 0)
        .unwrap();
    assert_eq!(m.mprotect(1, ARENA + K, 16 * K, PROT_READ), Ok(()));
    assert_eq!(lines(&m)[2], "300000008000-300000009000 ---p guard");
    m.mprotect(1, ARENA + K, 2 * K, RW).unwrap();
    assert_eq!(lines(&m)[0], "300000000000-300000003000 rw-p anon");
    assert_eq!(m.load(1, ARENA + K), Ok(1));
}

// ----- minherit (vm_map_inherit) -----

#[test]
fn minherit_wrapping_or_with_an_unknown_value_is_einval() {
    let mut m = mapped(1);
    assert_eq!(
        errno(m.minherit(1, u64::MAX, 2, INHERIT_NONE)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.minherit(1, ARENA, K, 4)), Errno::EINVAL);
    assert_eq!(errno(m.minherit(1, ARENA, K, 0xffff_ffff)), Errno::EINVAL);
}

#[test]
fn minherit_none_share_zero_give_the_child_nothing_the_pages_or_zeros() {
    let mut m = mapped(3);
    for i in 0..3 {
        m.store(1, ARENA + i * K, 9).unwrap();
    }
    m.minherit(1, ARENA, K, INHERIT_NONE).unwrap();
    m.minherit(1, ARENA + K, K, INHERIT_SHARE).unwrap();
    m.minherit(1, ARENA + 2 * K, K, INHERIT_ZERO).unwrap();
    let c = m.fork(1).unwrap();
    assert!(m.load(c, ARENA).is_err());
    m.store(c, ARENA + K, 5).unwrap();
    assert_eq!(m.load(1, ARENA + K), Ok(5));
    assert_eq!(m.load(c, ARENA + 2 * K), Ok(0));
    m.check().unwrap();
    // Back to COPY everywhere: the split entries merge again.
    m.minherit(1, ARENA, 3 * K, INHERIT_COPY).unwrap();
    assert_eq!(lines(&m), ["300000000000-300000003000 rw-p anon"]);
}

// ----- madvise (kern_madvise, vm_map_madvise) -----

#[test]
fn madvise_outside_the_user_map_is_einval() {
    let mut m = freebsd();
    assert_eq!(errno(m.madvise(1, 0, K, MADV_NORMAL)), Errno::EINVAL);
    assert_eq!(
        errno(m.madvise(1, ARENA, u64::MAX - 5, MADV_NORMAL)),
        Errno::EINVAL
    );
    assert_eq!(
        errno(m.madvise(1, 0x7fff_ffff_f000, 2 * K, MADV_NORMAL)),
        Errno::EINVAL
    );
}

#[test]
fn madvise_with_unknown_advice_is_einval_even_for_length_zero() {
    let mut m = mapped(1);
    assert_eq!(errno(m.madvise(1, ARENA, K, 11)), Errno::EINVAL);
    assert_eq!(errno(m.madvise(1, ARENA, 0, 0x7fff_ffff)), Errno::EINVAL);
}

#[test]
fn madvise_protect_succeeds_for_root() {
    let mut m = freebsd();
    assert_eq!(m.madvise(1, 0, 0, MADV_PROTECT), Ok(()));
}

#[test]
fn madvise_dontneed_keeps_the_data_and_clears_referenced_and_modified() {
    let mut m = mapped(2);
    m.store(1, ARENA, 0x41).unwrap();
    assert_eq!(m.mincore(1, ARENA, K), Ok(vec![0x1f]));
    m.madvise(1, ARENA, 2 * K, MADV_DONTNEED).unwrap();
    assert_eq!(m.mincore(1, ARENA, 2 * K), Ok(vec![0x01, 0x00]));
    assert_eq!(m.load(1, ARENA), Ok(0x41));
    m.madvise(1, ARENA, K, MADV_FREE).unwrap();
    assert_eq!(m.load(1, ARENA), Ok(0x41));
    // Holes are skipped.
    assert_eq!(m.madvise(1, ARENA, 64 * K, MADV_DONTNEED), Ok(()));
}

#[test]
fn madvise_entry_advice_splits_and_merges_back() {
    let mut m = mapped(3);
    m.madvise(1, ARENA + K, K, MADV_NOSYNC).unwrap();
    assert_eq!(lines(&m).len(), 3);
    m.madvise(1, ARENA + K, K, MADV_AUTOSYNC).unwrap();
    assert_eq!(lines(&m).len(), 1);
    m.madvise(1, ARENA, K, MADV_NOCORE).unwrap();
    m.madvise(1, ARENA, K, MADV_CORE).unwrap();
    assert_eq!(lines(&m).len(), 1);
}

// ----- mincore (kern_mincore) -----

#[test]
fn mincore_past_the_user_map_or_wrapping_is_enomem() {
    let mut m = mapped(1);
    assert_eq!(errno(m.mincore(1, 0x7fff_ffff_f000, 2 * K)), Errno::ENOMEM);
    assert_eq!(errno(m.mincore(1, ARENA, u64::MAX - K)), Errno::ENOMEM);
}

#[test]
fn mincore_at_an_unmapped_start_is_enomem_even_for_length_zero() {
    let mut m = mapped(1);
    assert_eq!(errno(m.mincore(1, ARENA + K, 0)), Errno::ENOMEM);
    assert_eq!(m.mincore(1, ARENA, 0), Ok(vec![]));
}

#[test]
fn mincore_over_a_hole_is_enomem() {
    let mut m = mapped(1);
    m.mmap(1, ARENA + 2 * K, K, RW, FIXED, -1, 0).unwrap();
    assert_eq!(errno(m.mincore(1, ARENA, 3 * K)), Errno::ENOMEM);
}

#[test]
fn mincore_bytes_are_this_page_tables_bits() {
    let mut m = mapped(3);
    m.store(1, ARENA + 1, 1).unwrap();
    m.load(1, ARENA + K).unwrap();
    // Rounded down: the start is truncated to its page.
    assert_eq!(
        m.mincore(1, ARENA + 5, 3 * K - 5),
        Ok(vec![0x1f, 0x0b, 0x00])
    );
    // After fork the parent's pages are write-protected: not modified.
    let _c = m.fork(1).unwrap();
    assert_eq!(m.mincore(1, ARENA, K), Ok(vec![0x0b]));
}

// ----- mlock, munlock, mlockall (kern_mlock, vm_map_wire) -----

#[test]
fn mlock_and_munlock_of_a_wrapping_range_are_einval() {
    let mut m = mapped(1);
    assert_eq!(errno(m.mlock(1, u64::MAX, K)), Errno::EINVAL);
    assert_eq!(errno(m.munlock(1, u64::MAX, K)), Errno::EINVAL);
    assert_eq!(
        errno(m.mlock(1, ARENA, 0u64.wrapping_sub(K))),
        Errno::EINVAL
    );
}

#[test]
fn mlock_beyond_rlimit_memlock_is_enomem() {
    let mut m = mapped(2);
    m.setrlimit_memlock(1, Some(K)).unwrap();
    assert_eq!(m.mlock(1, ARENA, K), Ok(()));
    // One page wired already: a second one is over the limit.
    assert_eq!(errno(m.mlock(1, ARENA + K, K)), Errno::ENOMEM);
    m.setrlimit_memlock(1, None).unwrap();
    assert_eq!(m.mlock(1, ARENA + K, K), Ok(()));
}

#[test]
fn mlock_over_a_hole_or_unmapped_start_is_enomem_and_wires_nothing() {
    let mut m = mapped(1);
    assert_eq!(errno(m.mlock(1, ARENA + K, K)), Errno::ENOMEM);
    assert_eq!(errno(m.munlock(1, ARENA + K, K)), Errno::ENOMEM);
    m.mmap(1, ARENA + 2 * K, K, RW, FIXED, -1, 0).unwrap();
    assert_eq!(errno(m.mlock(1, ARENA, 3 * K)), Errno::ENOMEM);
    assert_eq!(m.mincore(1, ARENA, K), Ok(vec![0]));
}

#[test]
fn mlock_of_prot_none_memory_is_enomem() {
    let mut m = freebsd();
    m.mmap(1, ARENA, K, PROT_NONE, FIXED, -1, 0).unwrap();
    assert_eq!(errno(m.mlock(1, ARENA, K)), Errno::ENOMEM);
}

#[test]
fn mlock_does_not_nest() {
    let mut m = mapped(1);
    m.mlock(1, ARENA, K).unwrap();
    m.mlock(1, ARENA, K).unwrap();
    assert_eq!(
        m.mincore(1, ARENA, K).unwrap()[0] & MINCORE_INCORE,
        MINCORE_INCORE
    );
    m.munlock(1, ARENA, K).unwrap();
    assert_eq!(m.munlock(1, ARENA, K), Ok(()));
    m.check().unwrap();
}

#[test]
fn mlockall_with_bad_flags_is_einval() {
    let mut m = freebsd();
    assert_eq!(errno(m.mlockall(1, 0)), Errno::EINVAL);
    assert_eq!(errno(m.mlockall(1, 4)), Errno::EINVAL);
}

#[test]
fn mlockall_current_beyond_rlimit_memlock_is_enomem() {
    let mut m = mapped(2);
    m.setrlimit_memlock(1, Some(K)).unwrap();
    assert_eq!(errno(m.mlockall(1, MCL_CURRENT)), Errno::ENOMEM);
    assert_eq!(m.mlockall(1, MCL_FUTURE), Ok(()));
}

// ----- msync (kern_msync, vm_map_sync) -----

#[test]
fn msync_wrapping_is_einval() {
    let mut m = mapped(1);
    assert_eq!(errno(m.msync(1, u64::MAX, 2, MS_SYNC)), Errno::EINVAL);
}

#[test]
fn msync_async_with_invalidate_is_einval_other_bits_are_ignored() {
    let mut m = mapped(1);
    assert_eq!(
        errno(m.msync(1, ARENA, K, MS_ASYNC | MS_INVALIDATE)),
        Errno::EINVAL
    );
    assert_eq!(errno(m.msync(1, ARENA, K, 0xffff_ffff)), Errno::EINVAL);
    assert_eq!(m.msync(1, ARENA, K, 0x8), Ok(()));
    assert_eq!(m.msync(1, ARENA, K, MS_SYNC), Ok(()));
}

#[test]
fn msync_unmapped_or_over_a_hole_is_enomem() {
    let mut m = mapped(1);
    assert_eq!(errno(m.msync(1, ARENA + K, K, MS_SYNC)), Errno::ENOMEM);
    m.mmap(1, ARENA + 2 * K, K, RW, FIXED, -1, 0).unwrap();
    assert_eq!(errno(m.msync(1, ARENA, 3 * K, MS_SYNC)), Errno::ENOMEM);
    // LEN 0 is the whole entry at the address.
    assert_eq!(m.msync(1, ARENA, 0, MS_SYNC), Ok(()));
}

#[test]
fn msync_invalidate_over_wired_memory_is_ebusy() {
    let mut m = mapped(2);
    m.mlock(1, ARENA, K).unwrap();
    assert_eq!(errno(m.msync(1, ARENA, 2 * K, MS_INVALIDATE)), Errno::EBUSY);
    assert_eq!(m.msync(1, ARENA + K, K, MS_INVALIDATE), Ok(()));
}

// ----- break and sbrk (kern_break, libc) -----

#[test]
fn brk_below_minbrk_sets_minbrk() {
    let mut m = freebsd();
    let minbrk = m.sbrk(1, 0).unwrap();
    m.brk(1, minbrk + 2 * K).unwrap();
    m.store(1, minbrk + K, 1).unwrap();
    m.brk(1, 0).unwrap();
    assert_eq!(m.sbrk(1, 0), Ok(minbrk));
    assert!(m.load(1, minbrk + K).is_err());
}

#[test]
fn break_growth_into_a_mapping_is_enomem() {
    let mut m = freebsd();
    let minbrk = m.sbrk(1, 0).unwrap();
    m.mmap(1, minbrk + 4 * K, K, RW, FIXED, -1, 0).unwrap();
    assert_eq!(errno(m.sbrk(1, 8 * K)), Errno::ENOMEM);
    assert_eq!(m.sbrk(1, 0), Ok(minbrk));
}

#[test]
fn sbrk_that_would_wrap_is_enomem() {
    let mut m = freebsd();
    assert_eq!(errno(m.sbrk(1, 0u64.wrapping_sub(1 << 62))), Errno::ENOMEM);
}

#[test]
fn wired_break_growth_beyond_rlimit_memlock_is_enomem() {
    let mut m = freebsd();
    m.mlockall(1, MCL_FUTURE).unwrap();
    m.setrlimit_memlock(1, Some(K)).unwrap();
    assert_eq!(errno(m.sbrk(1, 2 * K)), Errno::ENOMEM);
    let b = m.sbrk(1, K).unwrap();
    // Break growth under MCL_FUTURE is wired: faulted in at once.
    assert_eq!(
        m.mincore(1, b, K).unwrap()[0] & MINCORE_INCORE,
        MINCORE_INCORE
    );
}

#[test]
fn mremap_does_not_exist() {
    let mut m = mapped(1);
    assert_eq!(errno(m.mremap(1, ARENA, K, 2 * K, 0, 0)), Errno::ENOSYS);
}

#[test]
fn inherit_copy_of_shared_memory_makes_the_parent_copy_on_write_too() {
    let mut m = freebsd();
    let f = MAP_SHARED | MAP_ANON | MAP_FIXED;
    m.mmap(1, ARENA, K, RW, f, -1, 0).unwrap();
    m.store(1, ARENA, 1).unwrap();
    let sharer = m.fork(1).unwrap();
    m.minherit(1, ARENA, K, INHERIT_COPY).unwrap();
    let child = m.fork(1).unwrap();
    // vm_map_copy_entry: both entries are copy-on-write now.
    m.store(1, ARENA, 2).unwrap();
    m.store(child, ARENA, 3).unwrap();
    assert_eq!(m.load(sharer, ARENA), Ok(1));
    assert_eq!(m.load(child, ARENA), Ok(3));
    assert_eq!(m.load(1, ARENA), Ok(2));
    // The one that still shares it writes for itself and nobody else sees it.
    m.store(sharer, ARENA, 4).unwrap();
    assert_eq!(m.load(1, ARENA), Ok(2));
    m.check().unwrap();
}

#[test]
fn mmap_under_mcl_future_beyond_rlimit_memlock_is_enomem() {
    let mut m = freebsd();
    m.mlockall(1, MCL_FUTURE).unwrap();
    m.setrlimit_memlock(1, Some(2 * K)).unwrap();
    assert_eq!(m.mmap(1, ARENA, K, RW, FIXED, -1, 0), Ok(ARENA));
    assert_eq!(
        errno(m.mmap(1, ARENA + 4 * K, 2 * K, RW, FIXED, -1, 0)),
        Errno::ENOMEM
    );
    assert_eq!(
        m.mmap(1, ARENA + 4 * K, K, RW, FIXED, -1, 0),
        Ok(ARENA + 4 * K)
    );
    m.check().unwrap();
}

#[test]
fn a_read_fault_on_anonymous_memory_allocates_a_zeroed_page() {
    let mut m = mapped(2);
    let before = m.frames_summary().anon;
    assert_eq!(m.load(1, ARENA), Ok(0));
    // No shared zero page: the page is the entry's own, referenced but
    // not modified; a store then needs no copy.
    assert_eq!(m.frames_summary().anon, before + 1);
    assert_eq!(m.mincore(1, ARENA, K), Ok(vec![0x0b]));
    m.store(1, ARENA, 3).unwrap();
    assert_eq!(m.frames_summary().anon, before + 1);
    assert_eq!(m.mincore(1, ARENA, K), Ok(vec![0x1f]));
    m.check().unwrap();
}

// ----- lengths that wrap when rounded (size += pageoff; round_page) -----

#[test]
fn a_length_rounding_past_2_64_is_an_empty_range() {
    // kern_munmap, kern_mprotect, kern_msync, kern_minherit round the
    // length modulo 2^64: LEN -1 gives size 0, so nothing changes and the
    // call succeeds (msync: the whole entry at ADDR).
    let mut m = mapped(4);
    m.store(1, ARENA, 1).unwrap();
    let before = lines(&m);
    m.munmap(1, ARENA, u64::MAX).unwrap();
    m.munmap(1, ARENA + 1, u64::MAX - 0xffe).unwrap();
    m.mprotect(1, ARENA, u64::MAX, PROT_NONE).unwrap();
    m.minherit(1, ARENA, u64::MAX, INHERIT_NONE).unwrap();
    m.msync(1, ARENA, u64::MAX, MS_SYNC).unwrap();
    assert_eq!(m.mincore(1, ARENA, u64::MAX).unwrap(), Vec::<u8>::new());
    assert_eq!(lines(&m), before);
    assert_eq!(m.load(1, ARENA).unwrap(), 1);
    // Unmapped ADDR: msync and mincore still need the start mapped.
    let hole = ARENA + (1 << 30);
    assert_eq!(errno(m.msync(1, hole, u64::MAX, MS_SYNC)), Errno::ENOMEM);
    assert_eq!(errno(m.mincore(1, hole, u64::MAX)), Errno::ENOMEM);
    // A size that does not round to 0 still wraps the end: EINVAL.
    assert_eq!(
        errno(m.mprotect(1, ARENA, u64::MAX - 0xfff, PROT_READ)),
        Errno::EINVAL
    );
    // mlock and madvise add LEN first: addr + len < addr is EINVAL.
    assert_eq!(errno(m.mlock(1, ARENA, u64::MAX)), Errno::EINVAL);
    assert_eq!(
        errno(m.madvise(1, ARENA, u64::MAX, MADV_NORMAL)),
        Errno::EINVAL
    );
    m.check().unwrap();
}

#[test]
fn minherit_keeps_the_low_byte_of_the_value() {
    // vm_inherit_t is a char: 0x102 is INHERIT_NONE, 0x29a (666) is 0x9a.
    let mut m = freebsd();
    m.mmap(
        1,
        ARENA,
        2 * K,
        RW,
        MAP_ANON | MAP_SHARED | MAP_FIXED,
        -1,
        0,
    )
    .unwrap();
    assert_eq!(errno(m.minherit(1, ARENA, K, 666)), Errno::EINVAL);
    assert_eq!(errno(m.minherit(1, ARENA, K, 0xffff_ffff)), Errno::EINVAL);
    m.minherit(1, ARENA, K, 0x100 | INHERIT_NONE).unwrap();
    m.minherit(1, ARENA + K, K, 0x100 | INHERIT_SHARE).unwrap();
    let c = m.fork(1).unwrap();
    assert!(m.load(c, ARENA).is_err());
    m.store(c, ARENA + K, 7).unwrap();
    assert_eq!(m.load(1, ARENA + K).unwrap(), 7);
    m.check().unwrap();
}

#[test]
fn a_file_mapping_enters_the_cached_pages_at_mmap() {
    // vm_map_pmap_enter (MAP_PREFAULT_PARTIAL): the object's resident pages
    // are mapped read-only, accessed and modified clear (mincore 0x01), up
    // to MAX_INIT_PT (96) pages, clipped to the object's size.
    let mut m = freebsd();
    let fd = m.open(1, "f", 100 * K).unwrap() as i64;
    m.mmap(1, ARENA, 100 * K, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0)
        .unwrap();
    let v = m.mincore(1, ARENA, 100 * K).unwrap();
    assert!(v[..96].iter().all(|&b| b == 0x01), "{v:x?}");
    assert!(v[96..].iter().all(|&b| b == 0), "{v:x?}");
    // MAP_PREFAULT_READ: every page; PROT_NONE: none.
    let b = ARENA + (1 << 20);
    m.mmap(
        1,
        b,
        100 * K,
        PROT_READ,
        MAP_SHARED | MAP_PREFAULT_READ | MAP_FIXED,
        fd,
        0,
    )
    .unwrap();
    assert!(m.mincore(1, b, 100 * K).unwrap().iter().all(|&b| b == 1));
    let n = ARENA + (2 << 20);
    m.mmap(1, n, 2 * K, PROT_NONE, MAP_SHARED | MAP_FIXED, fd, 0)
        .unwrap();
    assert_eq!(m.mincore(1, n, 2 * K).unwrap(), vec![0, 0]);
    // Past the end of the object nothing is entered.
    let q = ARENA + (3 << 20);
    m.mmap(1, q, 4 * K, RW, MAP_PRIVATE | MAP_FIXED, fd, 98 * K)
        .unwrap();
    assert_eq!(m.mincore(1, q, 4 * K).unwrap(), vec![1, 1, 0, 0]);
    // The entered page is read-only: a write still faults (and copies).
    m.store(1, q, 9).unwrap();
    assert_eq!(m.mincore(1, q, K).unwrap(), vec![0x1f]);
    m.check().unwrap();
}

#[test]
fn madv_willneed_enters_the_rest_of_a_file_mapping() {
    // vm_map_madvise -> vm_map_pmap_enter(MAP_PREFAULT_MADVISE): no
    // MAX_INIT_PT limit; a page already mapped keeps its bits.
    let mut m = freebsd();
    let fd = m.open(1, "f", 100 * K).unwrap() as i64;
    m.mmap(1, ARENA, 100 * K, RW, MAP_SHARED | MAP_FIXED, fd, 0)
        .unwrap();
    m.store(1, ARENA + 95 * K, 1).unwrap();
    assert_eq!(m.mincore(1, ARENA + 95 * K, 2 * K).unwrap(), vec![0x1f, 0]);
    m.madvise(1, ARENA, 100 * K, MADV_WILLNEED).unwrap();
    assert_eq!(
        m.mincore(1, ARENA + 95 * K, 5 * K).unwrap(),
        vec![0x1f, 1, 1, 1, 1]
    );
    m.check().unwrap();
}
