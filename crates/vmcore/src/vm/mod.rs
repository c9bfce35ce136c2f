//! The machine-independent VM layer: map entries, the anonymous layer
//! (amaps and anons, after NetBSD UVM), memory objects and the fault
//! handler.
pub mod amap;
pub mod anon;
mod collapse;
pub mod entries;
mod entry_tree;
mod fault;
mod fork;
mod guard;
pub mod hugetlb;
pub mod loan;
pub mod map;
pub(crate) mod mapops;
mod mincore;
pub mod object;
pub(crate) mod page_alloc;
pub(crate) mod place;
pub mod policy;
mod populate;
pub(crate) mod protect;
pub(crate) mod reclaim;
pub(crate) mod remap;
pub mod slab;
mod split;
pub mod swap;
pub mod swap_state;
mod uvm_merge;
mod wire;
