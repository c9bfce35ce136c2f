//! The machine-independent VM layer: map entries, the anonymous layer
//! (amaps and anons, after NetBSD UVM), memory objects and the fault
//! handler.
pub mod amap;
pub mod anon;
mod collapse;
pub mod entries;
mod entry_tree;
mod fault;
pub mod map;
mod mapops;
pub mod object;
mod page_alloc;
pub mod slab;
mod wire;
