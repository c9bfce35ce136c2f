//! Browser tests of the exports: `wasm-pack test --headless --chrome crates/vmwasm`.
//!
//! The methods are called the way JavaScript calls them: every argument a
//! `JsValue`, every result a plain object read back with `Reflect`.

use js_sys::{Array, BigInt, Reflect, Uint8Array};
use vmwasm::{BAD_ARGUMENT, Fault, Machine};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ARENA: f64 = 0x3000_0000_0000u64 as f64;

fn n(x: f64) -> JsValue {
    JsValue::from_f64(x)
}
fn s(x: &str) -> JsValue {
    JsValue::from_str(x)
}
fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &s(k)).expect("an object")
}
fn num(v: &JsValue, k: &str) -> f64 {
    get(v, k)
        .as_f64()
        .unwrap_or_else(|| panic!("{k} is not a number in {v:?}"))
}
fn string(v: &JsValue, k: &str) -> String {
    get(v, k)
        .as_string()
        .unwrap_or_else(|| panic!("{k} is not a string in {v:?}"))
}
fn is_ok(v: &JsValue) -> bool {
    get(v, "ok") == JsValue::TRUE
}
fn small() -> Machine {
    let o = js_sys::Object::new();
    Reflect::set(&o, &s("frames"), &n(4096.0)).unwrap();
    Machine::new(o.into()).expect("valid options")
}
fn anon_rw(m: &Machine, addr: f64, len: f64) -> JsValue {
    m.mmap(
        n(1.0),
        n(addr),
        n(len),
        s("PROT_READ|PROT_WRITE"),
        s("MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED"),
        n(-1.0),
        n(0.0),
    )
    .expect("well-formed arguments")
}
/// The message of a thrown error, and whether it is a TypeError or RangeError.
fn thrown(r: Result<JsValue, JsValue>) -> (String, &'static str) {
    let e = r.expect_err("the call should throw");
    let kind = if e.is_instance_of::<js_sys::TypeError>() {
        "TypeError"
    } else if e.is_instance_of::<js_sys::RangeError>() {
        "RangeError"
    } else {
        "other"
    };
    let msg = e
        .dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default();
    (msg, kind)
}

#[wasm_bindgen_test]
fn version_is_semver() {
    let v = vmwasm::version();
    assert_eq!(v.split('.').count(), 3, "{v}");
}

#[wasm_bindgen_test]
fn mmap_store_load_round_trip() {
    let m = small();
    let r = anon_rw(&m, ARENA, 8192.0);
    assert!(is_ok(&r));
    assert_eq!(num(&r, "value"), ARENA);
    assert!(is_ok(
        &m.store(n(1.0), n(ARENA + 4097.0), n(0x41 as f64)).unwrap()
    ));
    let l = m.load(n(1.0), n(ARENA + 4097.0)).unwrap();
    assert!(is_ok(&l));
    assert_eq!(num(&l, "value"), 65.0);
    // an untouched page reads as zero
    assert_eq!(num(&m.load(n(1.0), n(ARENA)).unwrap(), "value"), 0.0);
    assert!(m.check().is_null(), "{:?}", m.check());
}

#[wasm_bindgen_test]
fn addresses_may_be_bigints() {
    let m = small();
    let a = JsValue::from(0x3000_0000_0000u64);
    let r = m
        .mmap(
            n(1.0),
            a.clone(),
            n(4096.0),
            n(3.0),
            n(0x32 as f64),
            JsValue::from(-1i64),
            JsValue::from(0u64),
        )
        .unwrap();
    assert!(is_ok(&r), "{r:?}");
    assert!(is_ok(&m.store(n(1.0), a.clone(), n(7.0)).unwrap()));
    assert_eq!(num(&m.load(n(1.0), a).unwrap(), "value"), 7.0);
}

#[wasm_bindgen_test]
fn syscall_failures_are_values_with_the_errno() {
    let m = small();
    let r = anon_rw(&m, ARENA, 0.0);
    assert!(!is_ok(&r));
    assert_eq!(string(&r, "errno"), "EINVAL");
    assert_eq!(num(&r, "code"), 22.0);
    assert!(!string(&r, "reason").is_empty());
    let r = m.munmap(n(1.0), n(ARENA + 1.0), n(4096.0)).unwrap();
    assert_eq!(string(&r, "errno"), "EINVAL");
    let r = m
        .mprotect(n(1.0), n(ARENA), n(4096.0), s("PROT_READ"))
        .unwrap();
    assert_eq!(string(&r, "errno"), "ENOMEM", "a hole");
    // a process that does not exist
    let r = m.munmap(n(42.0), n(ARENA), n(4096.0)).unwrap();
    assert!(!is_ok(&r));
    assert_eq!(string(&r, "errno"), "ESRCH");
}

#[wasm_bindgen_test]
fn bad_accesses_are_signals() {
    let m = small();
    let r = m.load(n(1.0), n(ARENA)).unwrap();
    assert!(!is_ok(&r));
    assert_eq!(string(&r, "signal"), "SIGSEGV");
    assert_eq!(string(&r, "code"), "segv_maperr");
    assert_eq!(num(&r, "addr"), ARENA);
    m.mmap(
        n(1.0),
        n(ARENA),
        n(4096.0),
        s("PROT_READ"),
        s("MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED"),
        n(-1.0),
        n(0.0),
    )
    .unwrap();
    let r = m.store(n(1.0), n(ARENA), n(1.0)).unwrap();
    assert_eq!(string(&r, "code"), "segv_accerr");
}

#[wasm_bindgen_test]
fn misuse_throws_a_clear_error() {
    let m = small();
    let cases: Vec<(JsValue, &str, &str)> = vec![
        (n(f64::NAN), "RangeError", "NaN"),
        (n(-4096.0), "RangeError", "negative"),
        (n(1.5), "RangeError", "integer"),
        (n(f64::INFINITY), "RangeError", "integer"),
        (n(2f64.powi(60)), "RangeError", "BigInt"),
        (JsValue::UNDEFINED, "TypeError", "undefined"),
        (JsValue::NULL, "TypeError", "null"),
        (s("0x1000"), "TypeError", "string"),
        (JsValue::TRUE, "TypeError", "true"),
        (Array::new().into(), "TypeError", "array"),
    ];
    for (bad, kind, word) in cases {
        let (msg, k) = thrown(m.munmap(n(1.0), bad.clone(), n(4096.0)));
        assert_eq!(k, kind, "{bad:?}: {msg}");
        assert!(
            msg.contains("munmap") && msg.contains("addr") && msg.contains(word),
            "{bad:?}: {msg}"
        );
    }
    // BigInts outside 0..2^64
    let huge = BigInt::from(u64::MAX) + BigInt::from(1u32);
    let (msg, k) = thrown(m.load(n(1.0), huge.into()));
    assert_eq!(k, "RangeError");
    assert!(msg.contains("2^64"), "{msg}");
    let (_, k) = thrown(m.load(n(1.0), JsValue::from(-1i64)));
    assert_eq!(k, "RangeError");
    // values with a narrower range
    let (msg, _) = thrown(m.store(n(1.0), n(ARENA), n(256.0)));
    assert!(msg.contains("value") && msg.contains("255"), "{msg}");
    let (msg, _) = thrown(m.munmap(n(2f64.powi(33)), n(ARENA), n(4096.0)));
    assert!(msg.contains("pid"), "{msg}");
    let (msg, _) = thrown(m.mmap(
        n(1.0),
        n(ARENA),
        n(4096.0),
        s("PROT_READ|PROT_WRITTEN"),
        s("MAP_PRIVATE"),
        n(-1.0),
        n(0.0),
    ));
    assert!(msg.contains("PROT_WRITTEN"), "{msg}");
    let (msg, _) = thrown(m.mmap(
        n(1.0),
        n(ARENA),
        n(4096.0),
        n(1.0),
        n(0x22 as f64),
        n(-2.0),
        n(0.0),
    ));
    assert!(msg.contains("fd"), "{msg}");
    let (msg, _) = thrown(m.open(n(1.0), s("no/slash"), n(10.0)));
    assert!(msg.contains("name"), "{msg}");
    let (msg, _) = thrown(m.exec_line(n(0.0), s("maps")));
    assert!(msg.contains("lineno"), "{msg}");
    let (msg, _) = thrown(m.exec_line(n(1.0), n(5.0)));
    assert!(msg.contains("text"), "{msg}");
    // and the machine still works
    assert!(is_ok(&anon_rw(&m, ARENA, 4096.0)));
    assert!(m.check().is_null());
}

#[wasm_bindgen_test]
fn options_are_checked() {
    let opts = |k: &str, v: JsValue| {
        let o = js_sys::Object::new();
        Reflect::set(&o, &s(k), &v).unwrap();
        JsValue::from(o)
    };
    assert!(Machine::new(JsValue::UNDEFINED).is_ok());
    assert!(Machine::new(opts("frames", n(10.0))).is_err());
    assert!(Machine::new(opts("frames", n(1e12))).is_err());
    assert!(Machine::new(opts("frames", n(262_144.0))).is_ok(), "1 GiB");
    assert!(
        Machine::new(opts("frames", n(262_145.0))).is_err(),
        "over 1 GiB"
    );
    assert!(Machine::new(opts("tlbSets", n(12.0))).is_err());
    assert!(Machine::new(opts("tlbWays", n(0.0))).is_err());
    assert!(Machine::new(opts("events", n(1.0))).is_err());
    assert!(
        Machine::new(opts("frame", n(4096.0))).is_err(),
        "a misspelt option"
    );
    assert!(Machine::new(s("big")).is_err());
    assert!(Machine::new(opts("personality", s("linux"))).is_ok());
    assert!(Machine::new(opts("personality", s("netbsd"))).is_ok());
    assert!(Machine::new(opts("personality", s("freebsd"))).is_ok());
    assert!(
        Machine::new(opts("personality", s("openbsd"))).is_err(),
        "no such personality"
    );
    assert!(Machine::new(opts("personality", n(1.0))).is_err());
    let m = Machine::new(opts("tlbSets", n(8.0))).unwrap();
    assert_eq!(num(&m.tlb(), "sets"), 8.0);
}

#[wasm_bindgen_test]
fn views_describe_the_machine() {
    let m = small();
    anon_rw(&m, ARENA, 16384.0);
    m.store(n(1.0), n(ARENA + 8192.0), n(9.0)).unwrap();

    let pv = m.process_view(n(1.0)).unwrap();
    assert_eq!(num(&pv, "pid"), 1.0);
    assert!(num(&pv, "cr3") > 0.0);
    assert!(m.process_view(n(99.0)).unwrap().is_null());

    let entries: Array = m.entries(n(1.0)).unwrap().dyn_into().unwrap();
    let arena = entries
        .iter()
        .find(|e| num(e, "start") == ARENA)
        .expect("the arena entry");
    assert_eq!(num(&arena, "end"), ARENA + 16384.0);
    assert_eq!(string(&arena, "perms"), "rw-p");
    assert_eq!(string(&arena, "backing"), "anon");
    assert!(m.entries(n(99.0)).unwrap().is_null());

    // page states: only the third page is resident, present, writable, dirty
    let st = m.page_states(n(1.0), n(ARENA), n(4.0)).unwrap();
    assert_eq!(st.len(), 4);
    assert_eq!(st[0] & 1, 0);
    assert_eq!(st[2] & 0b1111, 0b1111, "{st:?}");
    // the same bytes through wasm memory
    let len = m.load_page_states(n(1.0), n(ARENA), n(4.0)).unwrap();
    let mem: js_sys::WebAssembly::Memory = vmwasm::wasm_memory().dyn_into().unwrap();
    let view =
        Uint8Array::new_with_byte_offset_and_length(&mem.buffer(), m.page_states_ptr() as u32, len);
    assert_eq!(view.to_vec(), st);

    // the walk reaches the byte
    let w = m.walk(n(1.0), n(ARENA + 8192.0)).unwrap();
    assert_eq!(get(&w, "mapped"), JsValue::TRUE);
    assert_eq!(num(&w, "byte"), 9.0);
    let steps: Array = get(&w, "steps").dyn_into().unwrap();
    assert_eq!(steps.length(), 4);
    let names: Vec<String> = steps.iter().map(|st| string(&st, "name")).collect();
    assert_eq!(names, ["PML4", "PDPT", "PD", "PT"]);
    assert!(string(&steps.get(3), "entry").starts_with("0x"));
    let pfn = num(&w, "pfn");

    // the frame table: kinds through wasm memory agree with frame()
    let count = m.frame_count();
    assert_eq!(count, 4096);
    let kinds = Uint8Array::new_with_byte_offset_and_length(
        &mem.buffer(),
        m.frame_kinds_ptr() as u32,
        count,
    );
    assert_eq!(kinds.get_index(pfn as u32), 1, "an anonymous frame");
    assert_eq!(kinds.to_vec(), m.frame_kinds());
    let f = m.frame(n(pfn)).unwrap();
    assert_eq!(string(&f, "kind"), "anon");
    assert_eq!(num(&f, "mapcount"), 1.0);
    let by: Array = get(&f, "mapped_by").dyn_into().unwrap();
    assert_eq!(num(&by.get(0), "va"), ARENA + 8192.0);
    assert!(m.frame(n(count as f64)).unwrap().is_null());
    let sum = m.frames_summary();
    assert_eq!(num(&sum, "total"), 4096.0);
    assert!(num(&sum, "page_table") >= 4.0);

    // the TLB holds the translation the store used
    let t = m.tlb();
    let te: Array = get(&t, "entries").dyn_into().unwrap();
    assert!(
        te.iter()
            .any(|e| num(&e, "va") == ARENA + 8192.0 && num(&e, "pfn") == pfn)
    );
    assert!(num(&t, "misses") >= 1.0);

    // maps and smaps
    let maps = m.maps(n(1.0)).unwrap();
    let lines: Array = get(&maps, "value").dyn_into().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| num(&l, "start") == ARENA && string(&l, "backing") == "anon")
    );
    let smaps: Array = m.smaps(n(1.0)).unwrap().dyn_into().unwrap();
    assert!(smaps.length() >= 1);
}

#[wasm_bindgen_test]
fn fork_shares_pages_until_a_write() {
    let m = small();
    anon_rw(&m, ARENA, 8192.0);
    m.store(n(1.0), n(ARENA), n(1.0)).unwrap();
    let child = num(&m.fork(n(1.0)).unwrap(), "value");
    assert_eq!(m.processes().dyn_into::<Array>().unwrap().length(), 2);
    let st = m.page_states(n(child), n(ARENA), n(1.0)).unwrap();
    assert_ne!(st[0] & 0x20, 0, "shared after fork: {st:?}");
    m.store(n(child), n(ARENA), n(2.0)).unwrap();
    assert_eq!(num(&m.load(n(1.0), n(ARENA)).unwrap(), "value"), 1.0);
    assert_eq!(num(&m.load(n(child), n(ARENA)).unwrap(), "value"), 2.0);
    let am = m
        .amap(n(child), n(ARENA), JsValue::UNDEFINED, JsValue::UNDEFINED)
        .unwrap();
    assert!(!am.is_null());
    assert_eq!(num(&am, "anons"), 1.0);
    let ev = m.take_events(JsValue::UNDEFINED).unwrap();
    let events: Array = get(&ev, "events").dyn_into().unwrap();
    assert!(events.iter().any(|e| string(&e, "type") == "frame_copy"));
    assert!(events.iter().all(|e| !string(&e, "text").is_empty()));
    assert!(is_ok(&m.exit(n(child)).unwrap()));
    assert_eq!(m.processes().dyn_into::<Array>().unwrap().length(), 1);
    assert!(m.check().is_null(), "{:?}", m.check());
}

#[wasm_bindgen_test]
fn events_can_be_limited() {
    let m = small();
    anon_rw(&m, ARENA, 65536.0);
    m.fill(n(1.0), n(ARENA), n(65536.0), n(3.0)).unwrap();
    let ev = m.take_events(n(5.0)).unwrap();
    let events: Array = get(&ev, "events").dyn_into().unwrap();
    assert_eq!(events.length(), 5);
    assert!(num(&ev, "dropped") > 0.0);
    let again = m.take_events(JsValue::UNDEFINED).unwrap();
    assert_eq!(
        get(&again, "events").dyn_into::<Array>().unwrap().length(),
        0
    );
    // PTE values are hex strings, whatever their size
    m.store(n(1.0), n(ARENA), n(4.0)).unwrap();
    m.mprotect(n(1.0), n(ARENA), n(4096.0), s("PROT_READ"))
        .unwrap();
    let ev = m.take_events(JsValue::UNDEFINED).unwrap();
    let events: Array = get(&ev, "events").dyn_into().unwrap();
    let pte = events
        .iter()
        .find(|e| string(e, "type") == "pte_write")
        .expect("a PTE write");
    assert!(string(&pte, "new").starts_with("0x"));
}

#[wasm_bindgen_test]
fn files_and_shared_mappings() {
    let m = small();
    let fd = num(&m.open(n(1.0), s("data.bin"), n(8192.0)).unwrap(), "value");
    let r = m
        .mmap(
            n(1.0),
            n(ARENA),
            n(8192.0),
            s("PROT_READ|PROT_WRITE"),
            s("MAP_SHARED|MAP_FIXED"),
            n(fd),
            n(0.0),
        )
        .unwrap();
    assert!(is_ok(&r), "{r:?}");
    assert_eq!(
        num(&m.load(n(1.0), n(ARENA + 300.0)).unwrap(), "value"),
        49.0
    );
    m.store(n(1.0), n(ARENA + 300.0), n(0xab as f64)).unwrap();
    assert_eq!(
        num(&m.pread(n(1.0), n(fd), n(300.0)).unwrap(), "value"),
        171.0
    );
    assert!(
        get(&m.pread(n(1.0), n(fd), n(8192.0)).unwrap(), "value").is_null(),
        "end of file"
    );
    assert!(is_ok(&m.pwrite(n(1.0), n(fd), n(5.0), n(1.0)).unwrap()));
    assert!(is_ok(&m.ftruncate(n(1.0), n(fd), n(4096.0)).unwrap()));
    assert_eq!(
        string(&m.load(n(1.0), n(ARENA + 4096.0)).unwrap(), "signal"),
        "SIGBUS"
    );
    assert!(is_ok(&m.close(n(1.0), n(fd)).unwrap()));
    assert_eq!(string(&m.close(n(1.0), n(fd)).unwrap(), "errno"), "EBADF");
    let mfd = m.memfd(n(1.0), s("buf"), n(4096.0)).unwrap();
    assert!(is_ok(&mfd));
}

#[wasm_bindgen_test]
fn every_memory_syscall_answers() {
    let m = small();
    anon_rw(&m, ARENA, 65536.0);
    let p = || n(1.0);
    assert!(is_ok(
        &m.madvise(p(), n(ARENA), n(8192.0), s("MADV_DONTNEED"))
            .unwrap()
    ));
    let mc = m.mincore(p(), n(ARENA), n(8192.0)).unwrap();
    assert_eq!(
        get(&mc, "value").dyn_into::<Uint8Array>().unwrap().length(),
        2
    );
    assert!(is_ok(&m.mlock(p(), n(ARENA), n(4096.0)).unwrap()));
    assert!(is_ok(&m.munlock(p(), n(ARENA), n(4096.0)).unwrap()));
    assert!(is_ok(
        &m.mlock2(p(), n(ARENA), n(4096.0), s("MLOCK_ONFAULT"))
            .unwrap()
    ));
    assert!(is_ok(&m.mlockall(p(), s("MCL_CURRENT")).unwrap()));
    assert!(is_ok(&m.munlockall(p()).unwrap()));
    assert!(is_ok(
        &m.msync(p(), n(ARENA), n(4096.0), s("MS_SYNC")).unwrap()
    ));
    let r = m
        .mremap(
            p(),
            n(ARENA),
            n(65536.0),
            n(131072.0),
            s("MREMAP_MAYMOVE"),
            JsValue::UNDEFINED,
        )
        .unwrap();
    assert!(is_ok(&r), "{r:?}");
    assert!(is_ok(&m.brk(p(), n(0.0)).unwrap()));
    let fill = m.fill(p(), n(num(&r, "value")), n(10.0), n(1.0)).unwrap();
    assert!(is_ok(&fill));
    // exec needs PROT_EXEC
    assert_eq!(
        string(&m.exec(p(), n(num(&r, "value"))).unwrap(), "signal"),
        "SIGSEGV"
    );
    assert!(m.check().is_null(), "{:?}", m.check());
}

#[wasm_bindgen_test]
fn the_runner_executes_scenario_lines() {
    let m = small();
    let r = m
        .exec_line(
            n(1.0),
            s("$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0"),
        )
        .unwrap();
    assert!(is_ok(&r));
    let out = get(&r, "output");
    assert_eq!(string(&out, "op"), "mmap");
    assert_eq!(string(&out, "result"), "0x300000000000");
    assert_eq!(string(&out, "text"), "1 mmap 0x300000000000");
    assert!(get(&m.exec_line(n(2.0), s("   # a comment")).unwrap(), "output").is_null());
    let r = m.exec_line(n(3.0), s("store $a+4K 0x41")).unwrap();
    assert_eq!(string(&get(&r, "output"), "result"), "ok");
    let r = m.exec_line(n(4.0), s("fork p2")).unwrap();
    assert!(is_ok(&r));
    let names: Array = m.process_names().dyn_into().unwrap();
    assert_eq!(names.length(), 2);
    assert_eq!(string(&names.get(1), "name"), "p2");
    let r = m.exec_line(n(5.0), s("p2: maps")).unwrap();
    let extra: Array = get(&get(&r, "output"), "extra").dyn_into().unwrap();
    assert_eq!(
        extra.get(0).as_string().unwrap(),
        "  0x300000000000-0x300000002000 rw-p 0x0 anon"
    );
    // a line with an error is a value with the line number; nothing changes
    let r = m.exec_line(n(6.0), s("lod $a")).unwrap();
    assert!(!is_ok(&r));
    assert_eq!(num(&r, "line"), 6.0);
    assert!(!string(&r, "message").is_empty());
    let r = m.exec_line(n(7.0), s("p9: load $a")).unwrap();
    assert!(!is_ok(&r));
    // the events of the lines wait for takeEvents
    let ev = m.take_events(JsValue::UNDEFINED).unwrap();
    let events: Array = get(&ev, "events").dyn_into().unwrap();
    assert!(events.iter().any(|e| string(&e, "type") == "page_fault"));
    let vars: Array = m.variables().dyn_into().unwrap();
    assert_eq!(string(&vars.get(0), "name"), "a");
}

/// The `touched` of a line's output, as JSON.
fn touched_json(m: &Machine, line: f64, text: &str) -> String {
    let r = m.exec_line(n(line), s(text)).unwrap();
    let t = get(&get(&r, "output"), "touched");
    js_sys::JSON::stringify(&t).unwrap().as_string().unwrap()
}

#[wasm_bindgen_test]
fn a_line_says_which_processes_and_addresses_it_touched() {
    let m = small();
    let a = 0x3000_0000_0000u64;
    let r = |start: u64, end: u64| format!(r#"{{"start":{start},"end":{end}}}"#);
    assert_eq!(
        touched_json(
            &m,
            1.0,
            "$a = mmap $arena 5000 PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0"
        ),
        format!(r#"{{"pids":[1],"ranges":[{}]}}"#, r(a, a + 0x2000))
    );
    assert_eq!(
        touched_json(&m, 2.0, "store $a+4K 0x41"),
        format!(r#"{{"pids":[1],"ranges":[{}]}}"#, r(a + 0x1000, a + 0x1001))
    );
    assert_eq!(
        touched_json(&m, 3.0, "mprotect $a 4K PROT_READ"),
        format!(r#"{{"pids":[1],"ranges":[{}]}}"#, r(a, a + 0x1000))
    );
    assert_eq!(
        touched_json(
            &m,
            4.0,
            "mremap $a+4K 4K 12K MREMAP_MAYMOVE|MREMAP_FIXED $arena+1M"
        ),
        format!(
            r#"{{"pids":[1],"ranges":[{},{}]}}"#,
            r(a + 0x1000, a + 0x2000),
            r(a + 0x10_0000, a + 0x10_3000)
        )
    );
    assert_eq!(
        touched_json(&m, 5.0, "fork p2"),
        r#"{"pids":[1,2],"ranges":[]}"#
    );
    assert_eq!(
        touched_json(&m, 6.0, "p2: exit"),
        r#"{"pids":[2],"ranges":[]}"#
    );
    // past 2^53 an address is a BigInt, as everywhere else
    let out = get(
        &m.exec_line(n(7.0), s("munmap 0xfffffffffffff000 8K"))
            .unwrap(),
        "output",
    );
    let span = Array::from(&get(&get(&out, "touched"), "ranges")).get(0);
    assert_eq!(
        BigInt::from(get(&span, "start")),
        BigInt::from(0xffff_ffff_ffff_f000u64)
    );
    assert_eq!(BigInt::from(get(&span, "end")), BigInt::from(u64::MAX));
}

#[wasm_bindgen_test]
fn frame_kind_names_spell_the_kinds_of_frames_and_events() {
    let names: Array = vmwasm::frame_kind_names().dyn_into().unwrap();
    let list: Vec<(f64, String)> = names
        .iter()
        .map(|k| (num(&k, "id"), string(&k, "name")))
        .collect();
    assert_eq!(
        list,
        [
            (0.0, "free".to_string()),
            (1.0, "anon".to_string()),
            (2.0, "cache".to_string()),
            (3.0, "page-table".to_string()),
            (4.0, "zero".to_string()),
            (5.0, "loaned".to_string()),
        ]
    );
    // every frame_alloc event and every frame view uses those names for the
    // byte the frame has in frameKinds
    let m = small();
    anon_rw(&m, ARENA, 8192.0);
    m.store(n(1.0), n(ARENA), n(1.0)).unwrap();
    let kinds = m.frame_kinds();
    let ev = m.take_events(JsValue::UNDEFINED).unwrap();
    let events: Array = get(&ev, "events").dyn_into().unwrap();
    let mut seen = Vec::new();
    for e in events.iter().filter(|e| string(e, "type") == "frame_alloc") {
        let pfn = num(&e, "pfn") as usize;
        let name = &list[usize::from(kinds[pfn] & 0x0f)].1;
        assert_eq!(&string(&e, "kind"), name, "frame {pfn}");
        assert_eq!(&string(&m.frame(n(pfn as f64)).unwrap(), "kind"), name);
        seen.push(string(&e, "kind"));
    }
    assert!(seen.iter().any(|k| k == "page-table"), "{seen:?}");
    assert!(seen.iter().any(|k| k == "anon"), "{seen:?}");
}

#[wasm_bindgen_test]
fn run_text_prints_what_the_cli_prints() {
    let m = small();
    let text = "# copy-on-write\n$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nstore $a 0x10\nfork p2\np2: store $a 0x11\nload $a\np2: load $a\nbogus line\nload $a\n";
    let r = m.run_text(s(text)).unwrap();
    assert_eq!(
        string(&r, "text"),
        "2 mmap 0x300000000000\n3 store ok\n4 fork ok\n5 store ok\n6 load 0x10\n7 load 0x11\n8 error unknown operation 'bogus'\n"
            .replace("unknown operation 'bogus'", &string(&get(&r, "error"), "message"))
    );
    assert_eq!(num(&get(&r, "error"), "line"), 8.0);
    assert_eq!(get(&r, "outputs").dyn_into::<Array>().unwrap().length(), 6);
}

/// The exercise every runner shares (`tests/exercises/`), run the way
/// Node and the page run it: `runText` prints what `vmplay run` prints and
/// reports each `expect` line's verdict.
fn run_exercise(vms: &str, out: &str) -> Vec<(u32, bool, String)> {
    let m = small();
    let r = m.run_text(s(vms)).unwrap();
    assert_eq!(string(&r, "text"), out);
    assert!(get(&r, "error").is_null());
    let list: Array = get(&r, "expectations").dyn_into().unwrap();
    let outputs: Array = get(&r, "outputs").dyn_into().unwrap();
    let expect_lines = outputs
        .iter()
        .filter(|o| !get(o, "expectation").is_null())
        .count();
    assert_eq!(expect_lines as u32, list.length());
    list.iter()
        .map(|e| {
            (
                num(&e, "line") as u32,
                get(&e, "passed") == JsValue::TRUE,
                string(&e, "found"),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
fn an_exercise_answered_right_passes_every_expectation() {
    let r = run_exercise(
        include_str!("../../../tests/exercises/cow_fork_pass.vms"),
        include_str!("../../../tests/exercises/cow_fork_pass.out"),
    );
    assert_eq!(r.len(), 8);
    assert!(r.iter().all(|(_, passed, _)| *passed), "{r:?}");
}

#[wasm_bindgen_test]
fn an_exercise_answered_wrong_fails_the_same_three() {
    let r = run_exercise(
        include_str!("../../../tests/exercises/cow_fork_fail.vms"),
        include_str!("../../../tests/exercises/cow_fork_fail.out"),
    );
    let failed: Vec<(u32, String)> = r
        .into_iter()
        .filter(|(_, passed, _)| !passed)
        .map(|(line, _, found)| (line, found))
        .collect();
    assert_eq!(
        failed,
        vec![
            (10, "cow_copy=1 zero_fill=0".to_string()),
            (11, "0x41".to_string()),
            (13, "10".to_string()),
        ]
    );
}

#[wasm_bindgen_test]
fn a_failed_expectation_is_a_failure_of_its_line() {
    let m = small();
    anon_rw(&m, ARENA, 4096.0);
    let r = m
        .exec_line(n(2.0), s("expect mincore $arena 4K 1"))
        .unwrap();
    let out = get(&r, "output");
    assert_eq!(
        string(&out, "result"),
        "FAIL mincore of 1 pages at 0x300000000000: expected 1, found 0"
    );
    assert_eq!(string(&out, "failure"), "expectation");
    assert_eq!(get(&get(&out, "expectation"), "passed"), JsValue::FALSE);
}

#[wasm_bindgen_test]
fn reset_gives_a_fresh_machine() {
    let m = small();
    anon_rw(&m, ARENA, 4096.0);
    m.exec_line(n(1.0), s("fork p2")).unwrap();
    m.reset();
    assert_eq!(m.processes().dyn_into::<Array>().unwrap().length(), 1);
    assert_eq!(
        string(&m.load(n(1.0), n(ARENA)).unwrap(), "signal"),
        "SIGSEGV"
    );
    assert_eq!(m.resets(), 0);
}

#[wasm_bindgen_test]
fn abi_names_are_listed() {
    let names = vmwasm::abi_names();
    let prot: Array = get(&names, "prot").dyn_into().unwrap();
    assert!(prot.iter().any(|p| {
        let p: Array = p.dyn_into().unwrap();
        p.get(0).as_string().as_deref() == Some("PROT_WRITE") && p.get(1).as_f64() == Some(2.0)
    }));
}

fn with_frames(frames: f64) -> Result<Machine, JsValue> {
    let o = js_sys::Object::new();
    Reflect::set(&o, &s("frames"), &n(frames)).unwrap();
    Machine::new(o.into())
}
fn budget_used() -> f64 {
    num(&vmwasm::frame_budget(), "used")
}
/// Call `free()` on a machine the way JavaScript does.
fn js_free(m: Machine) {
    let obj = JsValue::from(m);
    let free: js_sys::Function = Reflect::get(&obj, &s("free")).unwrap().dyn_into().unwrap();
    free.call0(&obj).expect("free() works");
}
fn thrown_new(r: Result<Machine, JsValue>) -> (String, &'static str) {
    thrown(r.map(JsValue::from))
}

#[wasm_bindgen_test]
fn machines_share_a_frame_budget() {
    let b = vmwasm::frame_budget();
    assert_eq!(num(&b, "total"), 524_288.0);
    assert_eq!(num(&b, "perMachine"), 262_144.0);
    // machines of earlier tests are gone (a failed test may have left some)
    let before = budget_used();
    let machines = num(&b, "machines");
    let left = 524_288.0 - before;
    assert!(left >= 262_144.0 + 1024.0, "{b:?}");

    // one machine may have at most 1 GiB
    let (msg, kind) = thrown_new(with_frames(262_145.0));
    assert_eq!(kind, "RangeError");
    assert!(
        msg.contains("options.frames") && msg.contains("262144"),
        "{msg}"
    );
    assert_eq!(budget_used(), before, "a refused machine holds nothing");

    // all live machines together at most 2 GiB
    let a = with_frames(262_144.0).expect("1 GiB fits");
    let b = with_frames(left - 262_144.0).expect("the rest fits");
    assert_eq!(budget_used(), 524_288.0);
    assert_eq!(num(&vmwasm::frame_budget(), "machines"), machines + 2.0);
    let (msg, kind) = thrown_new(with_frames(1024.0));
    assert_eq!(kind, "RangeError", "{msg}");
    assert!(
        msg.contains("new Machine") && msg.contains("524288") && msg.contains("free()"),
        "{msg}"
    );
    assert!(msg.contains("hold 524288 frames"), "{msg}");
    // the default machine is 1 GiB: no room either
    let (_, kind) = thrown_new(Machine::new(JsValue::UNDEFINED));
    assert_eq!(kind, "RangeError");

    // reset keeps the machine's share; a machine that is used keeps it too
    a.reset();
    assert!(is_ok(&anon_rw(&a, ARENA, 65536.0)));
    assert_eq!(budget_used(), 524_288.0);

    // free() gives the frames back: a new machine fits
    js_free(b);
    assert_eq!(budget_used(), before + 262_144.0);
    let c = with_frames(left - 262_144.0).expect("fits after free()");
    assert_eq!(c.processes().dyn_into::<Array>().unwrap().length(), 1);
    drop(c);
    drop(a);
    assert_eq!(budget_used(), before);
    let d = Machine::new(JsValue::UNDEFINED).expect("the default fits again");
    assert_eq!(num(&d.config(), "frames"), 262_144.0);
}

/// The tables of the walk of `va`, and the leaf's frame.
fn walk_tables(m: &Machine, va: f64) -> (Vec<f64>, f64) {
    let w = m.walk(n(1.0), n(va)).unwrap();
    let steps: Array = get(&w, "steps").dyn_into().unwrap();
    (
        steps.iter().map(|st| num(&st, "table")).collect(),
        num(&w, "pfn"),
    )
}
fn entry_at(table: &JsValue, index: f64) -> Option<JsValue> {
    let entries: Array = get(table, "entries").dyn_into().unwrap();
    entries.iter().find(|e| num(e, "index") == index)
}
/// Indices of `va` in the four tables, PML4 first.
fn indices(va: u64) -> [f64; 4] {
    [39, 30, 21, 12].map(|sh| ((va >> sh) & 511) as f64)
}

#[wasm_bindgen_test]
fn page_tables_are_a_tree() {
    let m = small();
    assert!(
        m.page_tables(n(99.0), JsValue::UNDEFINED)
            .unwrap()
            .is_null()
    );
    let empty = m.page_tables(n(1.0), JsValue::UNDEFINED).unwrap();
    let cr3 = num(&m.process_view(n(1.0)).unwrap(), "cr3");
    assert_eq!(num(&empty, "cr3"), cr3);
    let tables_before = num(&empty, "tables");
    // the PML4 covers the whole address space: its last address is a BigInt
    let root = get(&empty, "root");
    assert_eq!(num(&root, "start"), 0.0);
    assert_eq!(
        u64::try_from(get(&root, "last")).expect("a BigInt"),
        u64::MAX
    );

    anon_rw(&m, ARENA, 8192.0);
    m.store(n(1.0), n(ARENA + 4096.0), n(5.0)).unwrap();
    let t = m.page_tables(n(1.0), JsValue::UNDEFINED).unwrap();
    assert_eq!(get(&t, "truncated"), JsValue::FALSE);
    assert_eq!(num(&t, "pid"), 1.0);
    assert_eq!(
        num(&t, "tables"),
        tables_before + 3.0,
        "a PDPT, a PD and a PT"
    );
    let (walk_tables, frame) = walk_tables(&m, ARENA + 4096.0);
    let idx = indices(ARENA as u64 + 4096);

    // root -> PDPT -> PD -> PT -> the page, each table where the walk went
    let mut table = get(&t, "root");
    for (depth, level) in [4.0, 3.0, 2.0, 1.0].into_iter().enumerate() {
        assert_eq!(num(&table, "level"), level);
        assert_eq!(string(&table, "name"), ["PML4", "PDPT", "PD", "PT"][depth]);
        assert_eq!(num(&table, "pfn"), walk_tables[depth], "level {level}");
        assert_eq!(get(&table, "truncated"), JsValue::FALSE);
        let e = entry_at(&table, idx[depth]).expect("the entry on the walk's path");
        let flags: Vec<String> = get(&e, "flags")
            .dyn_into::<Array>()
            .unwrap()
            .iter()
            .map(|f| f.as_string().unwrap())
            .collect();
        assert!(flags.iter().any(|f| f == "P"), "{flags:?}");
        assert!(string(&e, "entry").starts_with("0x") && string(&e, "entry").len() == 18);
        if level > 1.0 {
            assert_eq!(get(&e, "leaf"), JsValue::FALSE);
            table = get(&e, "table");
            assert_eq!(num(&e, "pfn"), num(&table, "pfn"));
        } else {
            assert_eq!(get(&e, "leaf"), JsValue::TRUE);
            assert_eq!(get(&e, "huge"), JsValue::FALSE);
            assert!(get(&e, "table").is_null());
            assert_eq!(num(&e, "pfn"), frame);
            assert_eq!(num(&e, "va"), ARENA + 4096.0);
            assert!(flags.iter().any(|f| f == "D"), "written: {flags:?}");
        }
    }
    // the PT covers the 2 MiB around the arena; only the written page is there
    assert_eq!(num(&table, "start"), ARENA);
    assert_eq!(num(&table, "last"), ARENA + 2.0 * 1024.0 * 1024.0 - 1.0);
    assert_eq!(num(&table, "used"), 1.0);
    assert!(
        entry_at(&table, 0.0).is_none(),
        "an untouched page has no PTE"
    );
    // every table frame is a page-table frame
    let kinds = m.frame_kinds();
    for pfn in &walk_tables {
        assert_eq!(kinds[*pfn as usize] & 0x7f, 3, "frame {pfn}");
    }

    // munmap: the PDPT, PD and PT are freed, the root loses the entry
    assert!(is_ok(&m.munmap(n(1.0), n(ARENA), n(8192.0)).unwrap()));
    let after = m.page_tables(n(1.0), JsValue::UNDEFINED).unwrap();
    assert_eq!(num(&after, "tables"), tables_before);
    assert!(entry_at(&get(&after, "root"), idx[0]).is_none());
    assert!(m.check().is_null());
}

#[wasm_bindgen_test]
fn page_tables_are_bounded() {
    let m = small();
    anon_rw(&m, ARENA, 65536.0);
    m.fill(n(1.0), n(ARENA), n(65536.0), n(1.0)).unwrap();
    let all = m.page_tables(n(1.0), JsValue::UNDEFINED).unwrap();
    assert_eq!(get(&all, "truncated"), JsValue::FALSE);
    assert_eq!(num(&all, "leaves"), 16.0);
    assert_eq!(num(&all, "limit"), 4096.0);
    assert!(num(&all, "resident") >= 16.0);

    let some = m.page_tables(n(1.0), n(5.0)).unwrap();
    assert_eq!(get(&some, "truncated"), JsValue::TRUE);
    assert_eq!(num(&some, "leaves"), 5.0);
    let mut t = get(&some, "root");
    for i in indices(ARENA as u64).into_iter().take(3) {
        t = get(&entry_at(&t, i).unwrap(), "table");
    }
    assert_eq!(num(&t, "level"), 1.0);
    assert_eq!(get(&t, "truncated"), JsValue::TRUE, "the PT was cut short");
    assert_eq!(num(&t, "used"), 16.0);
    assert_eq!(get(&t, "entries").dyn_into::<Array>().unwrap().length(), 5);

    let none = m.page_tables(n(1.0), n(0.0)).unwrap();
    assert_eq!(num(&none, "leaves"), 0.0);
    assert_eq!(get(&none, "truncated"), JsValue::TRUE);

    let (msg, kind) = thrown(m.page_tables(n(1.0), n(-1.0)));
    assert_eq!(kind, "RangeError");
    assert!(msg.contains("pageTables") && msg.contains("limit"), "{msg}");
    let (_, kind) = thrown(m.page_tables(n(1.0), n(2f64.powi(21))));
    assert_eq!(kind, "RangeError");
    let (msg, _) = thrown(m.page_tables(s("1"), JsValue::UNDEFINED));
    assert!(msg.contains("pid"), "{msg}");
}

#[wasm_bindgen_test]
fn page_tables_show_huge_pages() {
    let m = small();
    let huge = 2.0 * 1024.0 * 1024.0;
    anon_rw(&m, ARENA, 2.0 * huge);
    assert!(is_ok(
        &m.madvise(n(1.0), n(ARENA), n(2.0 * huge), s("MADV_HUGEPAGE"))
            .unwrap()
    ));
    m.store(n(1.0), n(ARENA + 5.0), n(1.0)).unwrap();
    let w = m.walk(n(1.0), n(ARENA)).unwrap();
    assert_eq!(get(&w, "huge"), JsValue::TRUE, "a 2 MiB page: {w:?}");
    let t = m.page_tables(n(1.0), JsValue::UNDEFINED).unwrap();
    let mut table = get(&t, "root");
    let idx = indices(ARENA as u64);
    for i in idx.into_iter().take(2) {
        table = get(&entry_at(&table, i).unwrap(), "table");
    }
    assert_eq!(string(&table, "name"), "PD");
    let e = entry_at(&table, idx[2]).unwrap();
    assert_eq!(get(&e, "leaf"), JsValue::TRUE);
    assert_eq!(get(&e, "huge"), JsValue::TRUE);
    assert!(get(&e, "table").is_null());
    assert_eq!(num(&e, "pfn"), num(&w, "pfn"));
    assert_eq!(num(&t, "leaves"), 1.0);
}

#[wasm_bindgen_test]
fn large_values_come_back_as_bigints() {
    let m = small();
    // a walk of the last address: every 64-bit field is a BigInt
    let w = m.walk(n(1.0), JsValue::from(u64::MAX)).unwrap();
    assert!(get(&w, "va").is_bigint());
    assert!(get(&w, "cr3").is_bigint());
    // a file offset past 2^53: the entries' 64-bit fields are BigInts
    let fd = num(&m.open(n(1.0), s("f"), n(4096.0)).unwrap(), "value");
    let r = m
        .mmap(
            n(1.0),
            n(ARENA),
            n(4096.0),
            s("PROT_READ"),
            s("MAP_PRIVATE|MAP_FIXED"),
            n(fd),
            JsValue::from(1u64 << 60),
        )
        .unwrap();
    assert!(is_ok(&r), "{r:?}");
    let entries: Array = m.entries(n(1.0)).unwrap().dyn_into().unwrap();
    assert!(entries.iter().all(|e| get(&e, "start").is_bigint()));
    let maps: Array = get(&m.maps(n(1.0)).unwrap(), "value").dyn_into().unwrap();
    assert!(maps.iter().any(|l| get(&l, "offset").is_bigint()));
}

#[wasm_bindgen_test]
fn a_line_output_says_how_it_failed() {
    let m = small();
    let failure = |line: f64, text: &str| {
        let r = m.exec_line(n(line), s(text)).unwrap();
        get(&get(&r, "output"), "failure").as_string()
    };
    let map = "$a = mmap $arena 8K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0";
    assert_eq!(failure(1.0, map), None);
    assert_eq!(failure(2.0, "munmap $a+1 4K").as_deref(), Some("errno"));
    assert_eq!(failure(3.0, "store $a 1").as_deref(), Some("signal"));
    assert_eq!(failure(4.0, "load $a"), None);
}

#[wasm_bindgen_test]
fn a_snapshot_brings_the_machine_and_the_scenario_back() {
    let m = small();
    let map = "$a = mmap $arena 8K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0";
    assert!(is_ok(&m.exec_line(n(1.0), s(map)).unwrap()));
    assert!(is_ok(&m.exec_line(n(2.0), s("store $a 0x41")).unwrap()));
    assert!(m.save_snapshot(2));
    assert!(is_ok(&m.exec_line(n(3.0), s("store $a 0x42")).unwrap()));
    assert!(is_ok(&m.exec_line(n(4.0), s("munmap $a 8K")).unwrap()));
    assert!(is_ok(&m.exec_line(n(5.0), s("fork p2")).unwrap()));
    assert!(m.restore_snapshot(2));
    // the byte, the mapping and the process table of line 2
    let r = m.exec_line(n(3.0), s("load $a")).unwrap();
    assert_eq!(string(&get(&r, "output"), "result"), "0x41");
    assert!(!is_ok(&m.exec_line(n(4.0), s("p2: load $a")).unwrap()));
    assert_eq!(m.snapshot_keys(), vec![2]);
    assert!(!m.restore_snapshot(7));
    m.drop_snapshots(0);
    assert!(m.snapshot_keys().is_empty());
}

#[wasm_bindgen_test]
fn an_amap_can_be_asked_for_a_few_slots_and_one_more() {
    let m = small();
    let map = "$a = mmap $arena 64K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0";
    assert!(is_ok(&m.exec_line(n(1.0), s(map)).unwrap()));
    assert!(is_ok(&m.exec_line(n(2.0), s("fill $a 64K 1")).unwrap()));
    let am = m.amap(n(1.0), n(ARENA), n(4.0), n(12.0)).unwrap();
    assert_eq!(num(&am, "anons"), 16.0);
    let slots: Array = get(&am, "slots").dyn_into().unwrap();
    let got: Vec<f64> = slots.iter().map(|x| num(&x, "slot")).collect();
    assert_eq!(got, vec![0.0, 1.0, 2.0, 3.0, 12.0]);
}

#[wasm_bindgen_test]
fn swap_view_shows_slots_lru_pages_and_the_limit() {
    let m = small();
    let v = m.swap_view(JsValue::UNDEFINED, JsValue::UNDEFINED).unwrap();
    assert_eq!(get(&v, "on"), JsValue::FALSE);
    assert!(get(&v, "limit").is_null());
    for (k, line) in [
        "swapon 64K",
        "memlimit 4M",
        "$a = mmap $arena 16K PROT_READ|PROT_WRITE MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0",
        "fill $a 16K 0x11",
        "madvise $a 8K MADV_PAGEOUT",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            is_ok(&m.exec_line(n(k as f64 + 1.0), s(line)).unwrap()),
            "{line}"
        );
    }
    let v = m.swap_view(JsValue::UNDEFINED, n(1.0)).unwrap();
    assert_eq!((num(&v, "size"), num(&v, "inuse")), (15.0, 2.0));
    assert_eq!(num(&v, "limit"), 1024.0);
    let slots: Array = get(&v, "slots").dyn_into().unwrap();
    let first = slots.get(0);
    assert_eq!((num(&first, "slot"), num(&first, "users")), (1.0, 1.0));
    assert_eq!(get(&first, "cached"), JsValue::FALSE);
    let owner = get(&first, "owner");
    assert_eq!(string(&owner, "kind"), "anon");
    assert_eq!((num(&owner, "pid"), num(&owner, "va")), (1.0, ARENA));
    assert_eq!(num(&v, "inactive") + num(&v, "active"), 2.0);
    let lru: Array = get(&v, "lru").dyn_into().unwrap();
    assert_eq!(lru.length(), 1);
    assert!(["inactive", "active"].contains(&string(&lru.get(0), "list").as_str()));
    assert!(get(&lru.get(0), "referenced").as_bool().is_some());
    // the page states: bit 2 without bit 0 is a swapped page (with it, dirty)
    let st = m.page_states(n(1.0), n(ARENA), n(4.0)).unwrap().to_vec();
    assert_eq!(st.iter().map(|b| b & 5).collect::<Vec<_>>(), [4, 4, 5, 5]);
    assert!(m.check().is_null());
}

// ----- the raw API: numbers in, numbers out ------------------------------------

/// The same calls through the checked and the raw methods, on two machines.
fn pair() -> (Machine, Machine) {
    (small(), small())
}

#[wasm_bindgen_test]
fn raw_calls_return_what_the_checked_calls_return_as_numbers() {
    let (c, r) = pair();
    let mapped = c.mmap(n(1.0), n(0.0), n(8192.0), n(3.0), n(34.0), n(-1.0), n(0.0));
    let a = num(&mapped.unwrap(), "value");
    let b = r.raw_mmap(1.0, 0.0, 8192.0, 3.0, 0x22 as f64, -1.0, 0.0);
    assert_eq!(a, b, "the same address from both");
    c.store(n(1.0), n(a + 5.0), n(0x77 as f64)).unwrap();
    assert_eq!(r.raw_store(1.0, b + 5.0, 0x77 as f64), 0);
    assert_eq!(num(&c.load(n(1.0), n(a + 5.0)).unwrap(), "value"), 119.0);
    assert_eq!(r.raw_load(1.0, b + 5.0), 0x77);
    assert_eq!(
        r.raw_exec(1.0, b),
        Fault::SegvAccerr as i32,
        "not executable"
    );
    assert_eq!(r.raw_fill(1.0, b + 4096.0, 10.0, 9.0), 0);
    assert_eq!(r.raw_load(1.0, b + 4106.0), 0, "fill stops after len bytes");
    assert_eq!(r.raw_load(1.0, b + 4105.0), 9);
    assert_eq!(r.raw_mprotect(1.0, b, 4096.0, 1.0), 0.0);
    assert_eq!(r.raw_store(1.0, b, 1.0), Fault::SegvAccerr as i32);
    let child = r.raw_fork(1.0);
    assert_eq!(child, 2.0);
    assert_eq!(
        r.raw_load(child, b + 5.0),
        0x77,
        "the child sees the parent's byte"
    );
    assert_eq!(r.raw_exit(child), 0.0);
    assert_eq!(r.raw_load(child, b), Fault::NoProcess as i32);
    assert_eq!(r.raw_munmap(1.0, b, 8192.0), 0.0);
    assert_eq!(r.raw_load(1.0, b), Fault::SegvMaperr as i32);
    assert_eq!(r.check(), JsValue::NULL);
}

#[wasm_bindgen_test]
fn raw_failures_are_negative_numbers_and_last_error_says_why() {
    let m = small();
    assert_eq!(m.last_error(), JsValue::NULL, "nothing failed yet");
    assert_eq!(m.raw_munmap(1.0, 3.0, 1.0), -22.0, "-EINVAL");
    let e = m.last_error();
    assert_eq!(string(&e, "errno"), "EINVAL");
    assert_eq!(num(&e, "code"), 22.0);
    assert_eq!(m.raw_fork(99.0), -3.0, "-ESRCH");
    assert_eq!(string(&m.last_error(), "errno"), "ESRCH");
    assert_eq!(m.raw_load(1.0, ARENA), Fault::SegvMaperr as i32);
    let e = m.last_error();
    assert_eq!(string(&e, "signal"), "SIGSEGV");
    assert_eq!(string(&e, "code"), "segv_maperr");
    assert_eq!(num(&e, "addr"), ARENA);
}

#[wasm_bindgen_test]
fn raw_garbage_is_a_bad_argument_status_that_names_the_argument_and_changes_nothing() {
    let m = small();
    let a = m.raw_mmap(1.0, ARENA, 4096.0, 3.0, 0x32 as f64, -1.0, 0.0);
    assert_eq!(a, ARENA);
    assert_eq!(m.raw_store(1.0, a, 5.0), 0);
    let garbage = [
        f64::NAN,
        -1.0,
        -0.5,
        1.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        2f64.powi(53),
        1e300,
    ];
    for g in garbage {
        let bad = BAD_ARGUMENT as f64;
        let msg = |m: &Machine| string(&m.last_error(), "message");
        assert_eq!(m.raw_load(g, a), BAD_ARGUMENT, "pid {g}");
        assert!(msg(&m).starts_with("rawLoad: pid must be"), "{}", msg(&m));
        assert_eq!(m.raw_load(1.0, g), BAD_ARGUMENT, "va {g}");
        assert!(msg(&m).starts_with("rawLoad: va must be"), "{}", msg(&m));
        assert_eq!(m.raw_store(1.0, a, g), BAD_ARGUMENT, "value {g}");
        assert!(
            msg(&m).starts_with("rawStore: value must be a byte"),
            "{}",
            msg(&m)
        );
        assert_eq!(m.raw_fill(1.0, a, g, 1.0), BAD_ARGUMENT, "len {g}");
        assert_eq!(m.raw_munmap(1.0, a, g), bad, "len {g}");
        assert!(msg(&m).starts_with("rawMunmap: len must be"), "{}", msg(&m));
        assert_eq!(m.raw_mprotect(1.0, a, 4096.0, g), bad, "prot {g}");
        assert!(
            msg(&m).starts_with("rawMprotect: prot must be"),
            "{}",
            msg(&m)
        );
        let mapped = m.raw_mmap(1.0, 0.0, 4096.0, 3.0, 0x22 as f64, g, 0.0);
        if g == -1.0 {
            assert!(mapped > 0.0, "fd -1 is no descriptor: {mapped}");
            assert_eq!(m.raw_munmap(1.0, mapped, 4096.0), 0.0);
        } else {
            assert_eq!(mapped, bad, "fd {g}");
            assert!(
                msg(&m).starts_with("rawMmap: fd must be -1 or"),
                "{}",
                msg(&m)
            );
        }
        assert_eq!(m.raw_fork(g), bad, "pid {g}");
        assert_eq!(m.raw_exit(g), bad, "pid {g}");
    }
    assert_eq!(m.raw_store(1.0, a, 256.0), BAD_ARGUMENT, "a byte is 0..255");
    assert_eq!(m.raw_load(1.0, a), 5, "the machine is as it was");
    assert_eq!(Array::from(&m.processes()).to_vec(), vec![n(1.0)]);
    assert_eq!(m.check(), JsValue::NULL);
}

#[wasm_bindgen_test]
fn a_trace_runs_in_one_call_with_a_result_per_access() {
    let (c, r) = pair();
    for m in [&c, &r] {
        assert_eq!(
            m.raw_mmap(1.0, ARENA, 8192.0, 1.0, 0x32 as f64, -1.0, 0.0),
            ARENA
        );
        assert_eq!(
            m.raw_mmap(1.0, ARENA + 8192.0, 4096.0, 3.0, 0x32 as f64, -1.0, 0.0),
            ARENA + 8192.0
        );
    }
    let rw = ARENA + 8192.0;
    let ops = [1u8, 0, 0, 1, 2, 0, 7, 0];
    let pids = [1u32, 1, 1, 1, 1, 9, 1, 1];
    let addrs = [rw + 1.0, rw + 1.0, ARENA, ARENA, rw, rw, rw, f64::NAN];
    let values = [0xabu8, 0, 0, 1, 0, 0, 0, 0];
    let mut results = [99i32; 8];
    let faults = r.run_trace(&ops, &pids, &addrs, &values, &mut results);
    let s = |f: Fault| f as i32;
    assert_eq!(
        results,
        [
            0,
            0xab,
            0,
            s(Fault::SegvAccerr),
            s(Fault::SegvAccerr),
            s(Fault::NoProcess),
            BAD_ARGUMENT,
            BAD_ARGUMENT
        ]
    );
    assert_eq!(faults, 5);
    // the last failure is the last error, whichever kind it was
    assert!(string(&r.last_error(), "message").starts_with("runTrace: addrs[7] must be"));
    // the same accesses one by one leave the same machine
    assert_eq!(c.raw_store(1.0, rw + 1.0, 0xab as f64), 0);
    assert_eq!(c.raw_load(1.0, rw + 1.0), 0xab);
    assert_eq!(c.raw_load(1.0, ARENA), 0);
    assert_eq!(c.raw_store(1.0, ARENA, 1.0), s(Fault::SegvAccerr));
    assert_eq!(c.raw_exec(1.0, rw), s(Fault::SegvAccerr));
    assert_eq!(c.raw_load(9.0, rw), s(Fault::NoProcess));
    let tlb = |m: &Machine| (num(&m.tlb(), "hits"), num(&m.tlb(), "misses"));
    assert_eq!(tlb(&c), tlb(&r), "the TLB counted the same hits and misses");
    assert_eq!(r.check(), JsValue::NULL);
    // arrays of different lengths: nothing runs
    let mut short = [0i32; 7];
    assert_eq!(
        r.run_trace(&ops, &pids, &addrs, &values, &mut short),
        BAD_ARGUMENT
    );
    assert_eq!(short, [0; 7]);
    assert!(string(&r.last_error(), "message").starts_with("runTrace: ops, pids"));
    assert_eq!(tlb(&c), tlb(&r));
    // values may be left out: stores write 0
    let mut one = [5i32; 2];
    assert_eq!(
        r.run_trace(&[1, 0], &[1, 1], &[rw + 1.0, rw + 1.0], &[], &mut one),
        0
    );
    assert_eq!(one, [0, 0]);
}

#[wasm_bindgen_test]
fn run_text_bulk_gives_what_run_text_gives_without_an_object_per_line() {
    let text = "$a = mmap $arena 8K PROT_READ MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED -1 0\nload $a\nstore $a 1\nfork p2\np2: load $a\nmunmap $a 3\nmaps\nbogus line\nload $a\n";
    let (c, b) = pair();
    let r = c.run_text(s(text)).unwrap();
    let bulk = b.run_text_bulk(s(text)).unwrap();
    assert_eq!(string(&bulk, "text"), string(&r, "text"));
    assert_eq!(
        string(&get(&bulk, "error"), "message"),
        string(&get(&r, "error"), "message")
    );
    let outs: Array = get(&r, "outputs").dyn_into().unwrap();
    assert_eq!(num(&bulk, "count"), f64::from(outs.length()));
    let lines: js_sys::Uint32Array = get(&bulk, "lines").dyn_into().unwrap();
    let failures: Uint8Array = get(&bulk, "failures").dyn_into().unwrap();
    assert_eq!(lines.to_vec(), vec![1, 2, 3, 4, 5, 6, 7]);
    // store on a read-only page: a signal; munmap of an
    // unaligned length succeeds
    assert_eq!(failures.to_vec(), vec![0, 0, 2, 0, 0, 0, 0]);
    for k in 0..outs.length() {
        let (want, got) = (outs.get(k), b.output(n(f64::from(k))).unwrap());
        let json = |v: &JsValue| String::from(js_sys::JSON::stringify(v).unwrap());
        assert_eq!(json(&got), json(&want), "output {k}");
    }
    assert_eq!(b.output(n(7.0)).unwrap(), JsValue::NULL);
    assert_eq!(b.output(n(2f64.powi(52))).unwrap(), JsValue::NULL);
    assert!(
        b.output(n(-1.0)).is_err(),
        "a negative index throws like every checked method"
    );
    // events are kept for takeEvents as runText keeps them
    let ev = |m: &Machine| {
        num(
            &get(&m.take_events(JsValue::UNDEFINED).unwrap(), "events"),
            "length",
        )
    };
    assert_eq!(ev(&b), ev(&c));
}
