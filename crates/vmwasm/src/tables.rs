//! The page-table tree of a process as plain JavaScript objects: every
//! table frame reachable from CR3 with its present entries, as the pmap
//! walks them out of the simulated frames (`Pmap::visit_tables`).
//!
//! The output is bounded: at most `limit` leaf entries (4 KiB and 2 MiB
//! pages) are listed, and at most `3 * limit + 1` tables (what `limit`
//! leaves in separate page tables need). Past that the walk stops, every
//! table with present entries left out says `truncated: true`, and so does
//! the whole view.

use core::fmt::Write as _;
use vmcore::arch::x86_64::{Pte, level_name};
use vmcore::pmap::TableVisitor;
use vmcore::{Machine as Core, Pfn, VirtAddr};
use wasm_bindgen::prelude::*;

/// Leaves listed when the caller gives no limit.
pub const DEFAULT_LIMIT: u64 = 4096;
/// The largest limit a caller may ask for.
pub const MAX_LIMIT: u64 = 1 << 20;

/// The largest integer a JavaScript Number holds exactly.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// One step of the way from the root object to a value.
#[derive(Clone, Copy)]
enum Seg {
    Key(&'static str),
    Index(u32),
}

/// The tree is written as JSON and parsed in one call (building thousands
/// of objects property by property across the wasm boundary costs ten
/// times more). JSON has no BigInt: a number past 2^53 is written as a
/// placeholder string and replaced by a BigInt after parsing ([`Seg`]
/// paths in `fixups`); only upper-half addresses are that large.
struct Walker {
    limit: u64,
    max_tables: u64,
    leaves: u64,
    tables: u64,
    truncated: bool,
    json: String,
    path: Vec<Seg>,
    fixups: Vec<(Vec<Seg>, &'static str, u64)>,
    /// Entries listed so far in each open table, root first.
    listed: Vec<u32>,
}

impl Walker {
    /// `"key":value,` for a number that may need a BigInt.
    fn num(&mut self, key: &'static str, v: u64) {
        if v <= MAX_SAFE {
            let _ = write!(self.json, "\"{key}\":{v},");
        } else {
            let _ = write!(self.json, "\"{key}\":\"{v:#x}\",");
            self.fixups.push((self.path.clone(), key, v));
        }
    }
}

impl TableVisitor for Walker {
    fn table(&mut self, pfn: Pfn, level: u8, start: VirtAddr, last: VirtAddr, used: u32) {
        self.tables += 1;
        let _ = write!(
            self.json,
            "{{\"pfn\":{},\"level\":{level},\"name\":\"{}\",\"used\":{used},",
            pfn.0,
            level_name(level)
        );
        self.num("start", start.0);
        self.num("last", last.0);
        self.json.push_str("\"entries\":[");
        self.path.push(Seg::Key("entries"));
        self.listed.push(0);
    }

    fn entry(&mut self, index: usize, pte: Pte, va: VirtAddr, level: u8, leaf: bool) -> bool {
        if self.leaves >= self.limit || (!leaf && self.tables >= self.max_tables) {
            return false;
        }
        let listed = self.listed.last_mut().expect("inside a table");
        if *listed > 0 {
            self.json.push(',');
        }
        self.path.push(Seg::Index(*listed));
        *listed += 1;
        let _ = write!(
            self.json,
            "{{\"index\":{index},\"entry\":\"{:#018x}\",\"flags\":[",
            pte.0
        );
        for (k, f) in pte.flag_names().iter().enumerate() {
            let _ = write!(self.json, "{}\"{f}\"", if k > 0 { "," } else { "" });
        }
        let _ = write!(
            self.json,
            "],\"pfn\":{},\"leaf\":{leaf},\"huge\":{},",
            pte.pfn().0,
            leaf && level == 2
        );
        self.num("va", va.0);
        self.json.push_str("\"table\":");
        if leaf {
            self.leaves += 1;
            self.json.push_str("null}");
            self.path.pop();
        } else {
            // The table follows; `end_table` closes this entry.
            self.path.push(Seg::Key("table"));
        }
        true
    }

    fn end_table(&mut self, cut: bool) {
        self.truncated |= cut;
        let _ = write!(self.json, "],\"truncated\":{cut}}}");
        self.path.pop(); // "entries"
        self.listed.pop();
        if !self.listed.is_empty() {
            // Close the entry that led here.
            self.json.push('}');
            self.path.pop(); // "table"
            self.path.pop(); // the entry's index
        }
    }
}

/// The tree of `pid`'s page tables (null when there is no such process).
pub fn page_tables(m: &Core, pid: u32, limit: u64) -> JsValue {
    let Some(p) = m.process(pid) else {
        return JsValue::NULL;
    };
    let cr3 = p.pmap.cr3();
    let mut w = Walker {
        limit,
        max_tables: limit.saturating_mul(3).saturating_add(1),
        leaves: 0,
        tables: 0,
        truncated: false,
        json: String::with_capacity(4096),
        path: vec![Seg::Key("root")],
        fixups: Vec::new(),
        listed: Vec::new(),
    };
    p.pmap.visit_tables(m.phys(), &mut w);
    let root = core::mem::take(&mut w.json);
    let mut json = format!(
        "{{\"pid\":{pid},\"cr3\":{},\"resident\":{},\"limit\":{limit},\"tables\":{},\"leaves\":{},\"truncated\":{},\"root\":",
        cr3.0,
        p.pmap.resident_pages(),
        w.tables,
        w.leaves,
        w.truncated
    );
    json.push_str(&root);
    json.push('}');
    let Ok(out) = js_sys::JSON::parse(&json) else {
        // Cannot happen: the text above is well-formed JSON.
        return JsValue::NULL;
    };
    for (path, key, v) in &w.fixups {
        let mut o = out.clone();
        for seg in path {
            let k = match *seg {
                Seg::Key(k) => JsValue::from_str(k),
                Seg::Index(i) => JsValue::from(i),
            };
            o = js_sys::Reflect::get(&o, &k).unwrap_or(JsValue::UNDEFINED);
        }
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(key), &JsValue::from(*v));
    }
    out
}
