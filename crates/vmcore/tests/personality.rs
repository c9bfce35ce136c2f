//! The personality seam: a machine built with a second personality takes
//! its layout, errno numbers, system calls and ABI names from it, and from
//! nothing else. The stub below is no real kernel; every number in it
//! differs from Linux's on purpose.

use vmcore::event::SignalCode;
use vmcore::personality::linux::abi::*;
use vmcore::personality::{
    AbiNames, Calls, ErrnoTable, Kernel, LINUX, Layout, MapPolicy, MergeRule, Personality,
    Placement,
};
use vmcore::{AccessError, Errno, Event, Machine, MachineConfig};

/// Every errno numbered 1000 + its Linux number.
const STUB_ERRNO: &[(Errno, i32)] = &[
    (Errno::EPERM, 1001),
    (Errno::ENOENT, 1002),
    (Errno::ESRCH, 1003),
    (Errno::EBADF, 1009),
    (Errno::EAGAIN, 1011),
    (Errno::ENOMEM, 1012),
    (Errno::EACCES, 1013),
    (Errno::EFAULT, 1014),
    (Errno::EBUSY, 1016),
    (Errno::EEXIST, 1017),
    (Errno::ENODEV, 1019),
    (Errno::EINVAL, 1022),
    (Errno::EFBIG, 1027),
    (Errno::ENOSYS, 1038),
    (Errno::EOVERFLOW, 1075),
    (Errno::EOPNOTSUPP, 1095),
    (Errno::ENOTSUP, 1096),
];

/// A user space that ends at 1 TiB, a stack, heap and mmap base of its own,
/// and no mremap.
static STUB: Personality = Personality {
    name: "stub",
    kernel: Kernel::Linux,
    layout: Layout {
        task_size: 0x100_0000_0000,
        mmap_min_addr: 0x10_0000,
        mmap_base: 0xf0_0000_0000,
        stack_top: 0xff_ffff_0000,
        stack_size: 64 * 1024,
        stack_rlimit: 1 << 20,
        stack_guard_gap: 16 * 4096,
        brk_start: 0x4000_0000,
    },
    errno: ErrnoTable(STUB_ERRNO),
    names: AbiNames {
        prot: &[("PROT_READ", 1), ("PROT_WRITE", 2)],
        map: &[("MAP_PRIVATE", 2)],
        madv: &[],
        ms: &[],
        mcl: &[],
        mlock: &[],
        mremap: &[],
        inherit: &[],
        prot_macro: None,
        map_aligned: false,
        raw_numbers: false,
    },
    calls: Calls::all().difference(Calls::MREMAP),
    map_policy: MapPolicy {
        placement: Placement::TopDown,
        merge: MergeRule::Linux,
    },
};

fn stub_machine() -> Machine {
    Machine::new(MachineConfig {
        personality: &STUB,
        ..MachineConfig::default()
    })
}

fn ok(m: &Machine) {
    if let Err(e) = m.check() {
        panic!("invariant broken: {e}");
    }
}

const RW: u64 = PROT_READ | PROT_WRITE;
const PA: u64 = MAP_PRIVATE | MAP_ANONYMOUS;

#[test]
fn a_machine_is_linux_unless_told_otherwise() {
    let m = Machine::new(MachineConfig::default());
    assert_eq!(m.personality().name, "linux");
    assert_eq!(m.layout().task_size, LINUX.layout.task_size);
}

#[test]
fn the_first_stack_sits_below_the_personalitys_stack_top() {
    let m = stub_machine();
    let maps = m.maps(1).unwrap();
    assert_eq!(maps.len(), 1);
    assert_eq!(maps[0].start, 0xff_ffff_0000 - 64 * 1024);
    assert_eq!(maps[0].end, 0xff_ffff_0000);
    ok(&m);
}

#[test]
fn the_heap_starts_at_the_personalitys_brk_start() {
    let mut m = stub_machine();
    assert_eq!(m.brk(1, 0), Ok(0x4000_0000));
    assert_eq!(m.brk(1, 0x4000_2000), Ok(0x4000_2000));
    ok(&m);
}

#[test]
fn placement_starts_below_the_personalitys_mmap_base() {
    let mut m = stub_machine();
    let a = m.mmap(1, 0, 0x2000, RW, PA, -1, 0).unwrap();
    assert_eq!(a, 0xf0_0000_0000 - 0x2000);
    // A hint below mmap_min_addr is raised to it (round_hint_to_min).
    let b = m.mmap(1, 0x1000, 0x1000, RW, PA, -1, 0).unwrap();
    assert_eq!(b, 0x10_0000);
    ok(&m);
}

#[test]
fn user_space_ends_at_the_personalitys_task_size() {
    let mut m = stub_machine();
    let top = 0x100_0000_0000u64;
    let e = m
        .mmap(1, top - 0x1000, 0x2000, RW, PA | MAP_FIXED, -1, 0)
        .unwrap_err();
    assert_eq!(e.errno, Errno::ENOMEM);
    match m.load(1, top) {
        Err(AccessError::Signal(s)) => assert_eq!(s.code, SignalCode::SegvMaperr),
        other => panic!("expected SIGSEGV, got {other:?}"),
    }
    // Linux would have mapped this; the stub's user space ends below it.
    assert!(
        Machine::new(MachineConfig::default())
            .mmap(1, top, 0x1000, RW, PA | MAP_FIXED, -1, 0)
            .is_ok()
    );
    ok(&m);
}

#[test]
fn errno_numbers_reaching_the_caller_are_the_personalitys() {
    let mut m = stub_machine();
    m.take_events();
    let e = m.munmap(1, 0x1234, 0x1000).unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL);
    assert_eq!(m.personality().errno_number(e.errno), 1022);
    let ret = m.take_events().into_iter().find_map(|ev| match ev {
        Event::SyscallReturn { result, errno, .. } => Some((result, errno)),
        _ => None,
    });
    assert_eq!(ret, Some((-1022, Some("EINVAL"))));
}

#[test]
fn a_call_the_personality_lacks_answers_enosys_and_changes_nothing() {
    let mut m = stub_machine();
    let a = m.mmap(1, 0, 0x1000, RW, PA, -1, 0).unwrap();
    let before = m.maps(1).unwrap();
    m.take_events();
    let e = m.mremap(1, a, 0x1000, 0x2000, 0, 0).unwrap_err();
    assert_eq!(e.errno, Errno::ENOSYS);
    assert_eq!(m.maps(1).unwrap(), before);
    let ret = m.take_events().into_iter().find_map(|ev| match ev {
        Event::SyscallReturn { name, result, .. } => Some((name, result)),
        _ => None,
    });
    assert_eq!(ret, Some(("mremap", -1038)));
    // Linux has it.
    let mut l = Machine::new(MachineConfig::default());
    let a = l.mmap(1, 0, 0x1000, RW, PA, -1, 0).unwrap();
    assert!(l.mremap(1, a, 0x1000, 0x2000, 1, 0).is_ok());
    ok(&m);
}

#[test]
fn the_config_names_its_personality() {
    let m = stub_machine();
    assert_eq!(format!("{:?}", m.config().personality), "stub");
}
