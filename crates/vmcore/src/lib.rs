//! vmcore — a whole virtual-memory subsystem, simulated down to x86_64 page
//! tables stored in simulated physical frames.
//!
//! Layers, each calling only downward (see `docs/architecture.md`):
//!
//! ```text
//!   sys       system calls: argument checks and errno, in the order of the
//!             personality's kernel (Linux today)
//!   vm        map entries, amaps and anons (NetBSD UVM), memory objects,
//!             the fault handler
//!   pmap      machine-independent mapping calls over the x86_64 model
//!   arch      x86_64: PTEs, 4-level tables in frames, the MMU walk, TLB
//!   phys      frames with real bytes, page descriptors, the allocator
//! ```
//!
//! Everything lives in one [`Machine`] value; nothing is global, nothing
//! does I/O, and the same inputs give the same result bit for bit.
#![forbid(unsafe_code)]

pub mod addr;
pub mod arch;
mod check;
pub mod errno;
pub mod event;
pub mod flags;
pub mod machine;
pub mod personality;
pub mod phys;
pub mod pmap;
mod sys;
pub mod trace;
pub mod view;
pub mod vm;

pub use addr::{PAGE_SIZE, Pfn, PhysAddr, VirtAddr, Vpn};
pub use errno::{Errno, SysError, SysResult};
pub use event::{Event, EventLog, Pid};
pub use machine::{AccessError, Backing, Fd, Machine, MachineConfig, MapsLine, Signal};
pub use personality::{Kernel, Personality, Sys};
pub use vm::loan::{Loan, LoanError, LoanId};
pub use vm::object::Access;
