//! Page replacement: which resident page goes when a new one needs a frame
//! (OSTEP chapter 22, "Beyond Physical Memory: Policies").

mod mt19937;

pub use mt19937::Mt19937;
