//! Memory objects: the lower layer of a mapping (UVM's `uvm_object`, Linux's
//! `address_space`). A regular file, a memfd and the hidden file behind a
//! shared anonymous mapping are all the same thing here: a size and a page
//! cache of frames indexed by page offset.

use crate::addr::{PAGE_SIZE, Pfn};
use serde::Serialize;
use std::collections::BTreeMap;

/// The id of an object in the machine's object table.
pub type ObjId = u32;

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum ObjKind {
    /// A regular file on a disk file system (writes dirty the page cache).
    File(String),
    /// An anonymous memory file from `memfd_create` (shmem).
    Memfd(String),
    /// The unnamed shmem file behind a `MAP_SHARED|MAP_ANONYMOUS` mapping.
    Shmem,
}

#[derive(Clone, Debug, Serialize)]
pub struct Object {
    pub kind: ObjKind,
    /// The file size in bytes (`i_size`).
    pub size: u64,
    /// The page cache: page index -> frame.
    pub pages: BTreeMap<u64, Pfn>,
    /// Large folios of a regular file's page cache: first page -> pages.
    /// ext4 caches a long `write` in folios as large as the remaining
    /// length and the index alignment allow (`fgf_set_order`); pages not
    /// listed are single-page folios.
    pub folios: BTreeMap<u64, u64>,
    /// References: the name in the file system, open files, map entries.
    pub refs: u32,
}

impl Object {
    pub fn new(kind: ObjKind, size: u64) -> Object {
        Object {
            kind,
            size,
            pages: BTreeMap::new(),
            folios: BTreeMap::new(),
            refs: 0,
        }
    }
    /// Whether page `index` lies wholly beyond the end of the file (SIGBUS).
    pub fn beyond_eof(&self, index: u64) -> bool {
        index.saturating_mul(PAGE_SIZE) >= self.size
    }
    /// The folio holding page `index`: (first page, pages).
    pub fn folio_of(&self, index: u64) -> (u64, u64) {
        match self.folios.range(..=index).next_back() {
            Some((&head, &n)) if index < head + n => (head, n),
            _ => (index, 1),
        }
    }
    /// shmem objects never need write-back and map writable on a read fault
    /// (no `page_mkwrite`); regular files track dirtiness per write.
    pub fn is_shmem(&self) -> bool {
        !matches!(self.kind, ObjKind::File(_))
    }
}

/// An open file description (`struct file`): shared by descriptors that
/// `fork` copied.
#[derive(Clone, Debug, Serialize)]
pub struct OpenFile {
    pub object: ObjId,
    /// Never given to another open file, unlike the slab id (which is
    /// reused once this one is closed everywhere).
    pub serial: u64,
    /// Descriptors (in any process) naming this open file.
    pub refs: u32,
}
