//! Architecture models. Only x86_64 (4-level paging) exists today.
pub mod x86_64;
