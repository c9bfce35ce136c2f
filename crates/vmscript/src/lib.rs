//! The .vms scenario language (in progress).
