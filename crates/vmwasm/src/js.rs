//! Building JavaScript values: plain objects, numbers that stay exact, and
//! the shapes every method returns (`{ ok: true, value }` or
//! `{ ok: false, errno, reason }`).

use serde::Serialize;
use vmcore::{AccessError, Errno, Event, Personality, SysError};
use wasm_bindgen::prelude::*;

const MAX_SAFE: u64 = (1 << 53) - 1;

/// A plain object from key/value pairs.
pub fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// Set one property of an object.
pub fn set(o: &JsValue, k: &str, v: JsValue) {
    let _ = js_sys::Reflect::set(o, &JsValue::from_str(k), &v);
}

/// A u64 as a Number when exact, else as a BigInt.
pub fn num(v: u64) -> JsValue {
    if v <= MAX_SAFE {
        JsValue::from_f64(v as f64)
    } else {
        JsValue::from(v)
    }
}

/// Lower-case hex with `0x`.
pub fn hex(v: u64) -> JsValue {
    JsValue::from_str(&format!("{v:#x}"))
}

/// Serde data as a plain JavaScript value: maps as objects, `None` as
/// `null`, and 64-bit numbers as Numbers. When a number does not fit in a
/// Number exactly, the value is made again with every 64-bit number as a
/// BigInt, so nothing is ever rounded.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::new()
        .serialize_maps_as_objects(true)
        .serialize_missing_as_null(true);
    match v.serialize(&ser) {
        Ok(j) => j,
        Err(_) => v
            .serialize(&ser.serialize_large_number_types_as_bigints(true))
            .unwrap_or(JsValue::NULL),
    }
}

/// `{ ok: true, value }`.
pub fn ok(value: JsValue) -> JsValue {
    obj(&[("ok", JsValue::TRUE), ("value", value)])
}

/// `{ ok: false, errno: "EINVAL", code: 22, reason }`, with the number the
/// machine's personality gives the errno.
pub fn sys_err(p: &Personality, e: &SysError) -> JsValue {
    errno_err(p, e.errno, e.reason)
}

fn errno_err(p: &Personality, errno: Errno, reason: &str) -> JsValue {
    obj(&[
        ("ok", JsValue::FALSE),
        ("errno", JsValue::from_str(errno.name())),
        ("code", JsValue::from(p.errno_number(errno))),
        ("reason", JsValue::from_str(reason)),
    ])
}

/// A system call's result as a value.
pub fn sys<T>(p: &Personality, r: Result<T, SysError>, f: impl FnOnce(T) -> JsValue) -> JsValue {
    match r {
        Ok(v) => ok(f(v)),
        Err(e) => sys_err(p, &e),
    }
}

/// `{ ok: false, signal: "SIGSEGV", code: "segv_maperr", addr }`, or for a
/// missing process / exhausted memory `{ ok: false, errno, reason }`.
pub fn access_err(p: &Personality, e: &AccessError) -> JsValue {
    match e {
        AccessError::Signal(s) => obj(&[
            ("ok", JsValue::FALSE),
            ("signal", JsValue::from_str(s.name())),
            ("code", to_js(&s.code)),
            ("addr", num(s.addr.0)),
        ]),
        AccessError::NoProcess(_) => errno_err(p, Errno::ESRCH, "no such process"),
        AccessError::OutOfMemory => errno_err(p, Errno::ENOMEM, "out of physical memory"),
        AccessError::Killed => obj(&[
            ("ok", JsValue::FALSE),
            ("signal", JsValue::from_str("SIGKILL")),
            ("reason", JsValue::from_str("killed by the OOM killer")),
        ]),
    }
}

/// An access's result as a value.
pub fn access<T>(
    p: &Personality,
    r: Result<T, AccessError>,
    f: impl FnOnce(T) -> JsValue,
) -> JsValue {
    match r {
        Ok(v) => ok(f(v)),
        Err(e) => access_err(p, &e),
    }
}

/// An event as `{ type, ...fields, text }`: `text` is the narrated
/// sentence. Raw PTE values and syscall arguments are hex strings (they
/// often need all 64 bits); addresses are Numbers when exact.
pub fn event(e: &Event) -> JsValue {
    let o = match e {
        Event::PteWrite {
            asid,
            va,
            level,
            old,
            new,
        } => obj(&[
            ("type", JsValue::from_str("pte_write")),
            ("asid", JsValue::from(*asid)),
            ("va", num(va.0)),
            ("level", JsValue::from(*level)),
            ("old", hex(*old)),
            ("new", hex(*new)),
        ]),
        Event::Syscall { pid, name, args } => {
            let a = js_sys::Array::new();
            for &x in args {
                a.push(&hex(x));
            }
            obj(&[
                ("type", JsValue::from_str("syscall")),
                ("pid", JsValue::from(*pid)),
                ("name", JsValue::from_str(name)),
                ("args", a.into()),
            ])
        }
        other => to_js(other),
    };
    set(&o, "text", JsValue::from_str(&e.to_string()));
    o
}
