//! The page-table tree of a process as plain JavaScript objects: every
//! table frame reachable from CR3 with its present entries, read straight
//! out of the simulated frames (the tables are real 512-entry tables).
//!
//! The output is bounded: at most `limit` leaf entries (4 KiB and 2 MiB
//! pages) are listed, and at most `3 * limit + 1` tables (what `limit`
//! leaves in separate page tables need). Past that the walk stops, every
//! table with present entries left out says `truncated: true`, and so does
//! the whole view.

use core::fmt::Write as _;
use vmcore::arch::x86_64::{ENTRIES, Pte, level_name};
use vmcore::phys::PhysMem;
use vmcore::{Machine as Core, Pfn, PhysAddr};
use wasm_bindgen::prelude::*;

/// Leaves listed when the caller gives no limit.
pub const DEFAULT_LIMIT: u64 = 4096;
/// The largest limit a caller may ask for.
pub const MAX_LIMIT: u64 = 1 << 20;

/// The largest integer a JavaScript Number holds exactly.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// Bytes covered by one entry of a table at `level` (4 = PML4 .. 1 = PT).
fn shift_of(level: u8) -> u32 {
    12 + 9 * (u32::from(level) - 1)
}

/// The canonical address of an offset in the 48-bit linear space.
fn canon(lin: u64) -> u64 {
    if lin >= 1 << 47 {
        lin | 0xffff_0000_0000_0000
    } else {
        lin
    }
}

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
struct Walker<'a> {
    phys: &'a PhysMem,
    limit: u64,
    max_tables: u64,
    leaves: u64,
    tables: u64,
    truncated: bool,
    json: String,
    path: Vec<Seg>,
    fixups: Vec<(Vec<Seg>, &'static str, u64)>,
}

impl Walker<'_> {
    /// `"key":value,` for a number that may need a BigInt.
    fn num(&mut self, key: &'static str, v: u64) {
        if v <= MAX_SAFE {
            let _ = write!(self.json, "\"{key}\":{v},");
        } else {
            let _ = write!(self.json, "\"{key}\":\"{v:#x}\",");
            self.fixups.push((self.path.clone(), key, v));
        }
    }

    /// The table in frame `pfn` at `level`, covering linear addresses from
    /// `base`, as a JSON object.
    fn table(&mut self, pfn: Pfn, level: u8, base: u64) {
        self.tables += 1;
        let shift = shift_of(level);
        let span = 1u64 << (shift + 9);
        let used = self.phys.table_entries(pfn);
        let _ = write!(
            self.json,
            "{{\"pfn\":{},\"level\":{level},\"name\":\"{}\",\"used\":{used},",
            pfn.0,
            level_name(level)
        );
        self.num("start", canon(base));
        self.num("last", canon(base + (span - 1)));
        self.json.push_str("\"entries\":[");
        self.path.push(Seg::Key("entries"));
        let mut cut = false;
        let mut seen = 0u32;
        let mut listed = 0u32;
        let mut idx = 0usize;
        while seen < used && idx < ENTRIES {
            let e = Pte(self
                .phys
                .read_u64(PhysAddr((pfn.0 << 12) | (idx as u64 * 8))));
            let i = idx;
            idx += 1;
            if e.is_unused() {
                continue;
            }
            seen += 1;
            if !e.is_present() {
                continue;
            }
            let leaf = level == 1 || (level == 2 && e.is_huge());
            if self.leaves >= self.limit || (!leaf && self.tables >= self.max_tables) {
                cut = true;
                break;
            }
            if listed > 0 {
                self.json.push(',');
            }
            self.path.push(Seg::Index(listed));
            listed += 1;
            let lin = base + ((i as u64) << shift);
            let _ = write!(
                self.json,
                "{{\"index\":{i},\"entry\":\"{:#018x}\",\"flags\":[",
                e.0
            );
            for (k, f) in e.flag_names().iter().enumerate() {
                let _ = write!(self.json, "{}\"{f}\"", if k > 0 { "," } else { "" });
            }
            let _ = write!(
                self.json,
                "],\"pfn\":{},\"leaf\":{leaf},\"huge\":{},",
                e.pfn().0,
                leaf && level == 2
            );
            self.num("va", canon(lin));
            self.json.push_str("\"table\":");
            if leaf {
                self.leaves += 1;
                self.json.push_str("null");
            } else {
                self.path.push(Seg::Key("table"));
                self.table(e.pfn(), level - 1, lin);
                self.path.pop();
            }
            self.json.push('}');
            self.path.pop();
        }
        self.path.pop();
        if cut {
            self.truncated = true;
        }
        let _ = write!(self.json, "],\"truncated\":{cut}}}");
    }
}

/// The tree of `pid`'s page tables (null when there is no such process).
pub fn page_tables(m: &Core, pid: u32, limit: u64) -> JsValue {
    let Some(p) = m.process(pid) else {
        return JsValue::NULL;
    };
    let cr3 = p.pmap.cr3();
    let mut w = Walker {
        phys: m.phys(),
        limit,
        max_tables: limit.saturating_mul(3).saturating_add(1),
        leaves: 0,
        tables: 0,
        truncated: false,
        json: String::with_capacity(4096),
        path: vec![Seg::Key("root")],
        fixups: Vec::new(),
    };
    w.table(cr3, 4, 0);
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
