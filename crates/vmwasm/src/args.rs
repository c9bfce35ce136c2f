//! Checking arguments at the JavaScript boundary.
//!
//! Every value that comes from JavaScript is a `JsValue` until one of these
//! functions has looked at it. Misuse (a wrong type, NaN, a negative or
//! fractional number, a Number past 2^53 - 1, a BigInt outside 64 bits,
//! `undefined`) is a thrown `TypeError` or `RangeError` whose message names
//! the method and the argument; nothing reaches the simulator unchecked.

use vmcore::personality::{self, Name};
use wasm_bindgen::prelude::*;

/// The largest integer a JavaScript Number holds exactly: 2^53 - 1.
pub const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A thrown `TypeError`.
pub fn type_error(msg: impl AsRef<str>) -> JsValue {
    js_sys::TypeError::new(msg.as_ref()).into()
}

/// A thrown `RangeError`.
pub fn range_error(msg: impl AsRef<str>) -> JsValue {
    js_sys::RangeError::new(msg.as_ref()).into()
}

/// How a value looks in an error message: `undefined`, `"abc"`, `NaN`, `12n`.
pub fn describe(v: &JsValue) -> String {
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_null() {
        return "null".into();
    }
    if let Some(s) = v.as_string() {
        let short: String = s.chars().take(40).collect();
        return format!("the string {short:?}");
    }
    if let Some(f) = v.as_f64() {
        return format!("{f}");
    }
    if v.is_bigint() {
        let s: String = js_sys::BigInt::from(v.clone())
            .to_string(10)
            .map(String::from)
            .unwrap_or_else(|_| "a BigInt".into());
        return format!("{s}n");
    }
    if let Some(b) = v.as_bool() {
        return format!("{b}");
    }
    let t = v.js_typeof().as_string().unwrap_or_default();
    if js_sys::Array::is_array(v) {
        "an array".into()
    } else {
        format!("a value of type {t}")
    }
}

/// A non-negative integer that fits 64 bits: a safe-integer Number or a
/// BigInt in `0..=2^64-1`.
pub fn u64_arg(at: &str, name: &str, v: &JsValue) -> Result<u64, JsValue> {
    if let Some(f) = v.as_f64() {
        if f.is_nan() {
            return Err(range_error(format!(
                "{at}: {name} is NaN; expected a non-negative integer"
            )));
        }
        if !f.is_finite() || f.fract() != 0.0 {
            return Err(range_error(format!(
                "{at}: {name} must be an integer, got {f}"
            )));
        }
        if f < 0.0 {
            return Err(range_error(format!(
                "{at}: {name} must not be negative, got {f}"
            )));
        }
        if f > MAX_SAFE {
            return Err(range_error(format!(
                "{at}: {name} = {f} is above Number.MAX_SAFE_INTEGER and may have been rounded; pass a BigInt"
            )));
        }
        return Ok(f as u64);
    }
    if v.is_bigint() {
        return u64::try_from(v.clone()).map_err(|_| {
            range_error(format!(
                "{at}: {name} must be a BigInt in 0..2^64-1, got {}",
                describe(v)
            ))
        });
    }
    Err(type_error(format!(
        "{at}: {name} must be a Number or a BigInt, got {}",
        describe(v)
    )))
}

/// A 64-bit value with an upper bound (inclusive).
pub fn bounded(at: &str, name: &str, v: &JsValue, max: u64) -> Result<u64, JsValue> {
    let x = u64_arg(at, name, v)?;
    if x > max {
        return Err(range_error(format!(
            "{at}: {name} must be at most {max}, got {x}"
        )));
    }
    Ok(x)
}

/// A process id (`u32`).
pub fn pid_arg(at: &str, v: &JsValue) -> Result<u32, JsValue> {
    Ok(bounded(at, "pid", v, u64::from(u32::MAX))? as u32)
}

/// A byte value 0..=255.
pub fn byte_arg(at: &str, name: &str, v: &JsValue) -> Result<u8, JsValue> {
    Ok(bounded(at, name, v, 255)? as u8)
}

/// A descriptor: `-1` or a non-negative `i32`.
pub fn fd_arg(at: &str, name: &str, v: &JsValue) -> Result<i64, JsValue> {
    if let Some(f) = v.as_f64()
        && f == -1.0
    {
        return Ok(-1);
    }
    if v.is_bigint() && i64::try_from(v.clone()).ok() == Some(-1) {
        return Ok(-1);
    }
    Ok(bounded(at, name, v, i32::MAX as u64).map_err(|e| {
        if e.is_instance_of::<js_sys::RangeError>() {
            range_error(format!(
                "{at}: {name} must be -1 or a descriptor 0..2^31-1, got {}",
                describe(v)
            ))
        } else {
            e
        }
    })? as i64)
}

/// A flag argument: a number, or symbolic names joined by `|` as in the
/// .vms language (`"PROT_READ|PROT_WRITE"`, `"0"`).
pub fn flags_arg(at: &str, name: &str, v: &JsValue, table: &[Name]) -> Result<u64, JsValue> {
    if let Some(s) = v.as_string() {
        let s = s.trim();
        if s.is_empty() {
            return Err(range_error(format!(
                "{at}: {name} is an empty string; use 0 or flag names"
            )));
        }
        let mut bits = 0u64;
        for part in s.split('|') {
            let part = part.trim();
            if part == "0" {
                continue;
            }
            match personality::lookup(table, part) {
                Some(b) => bits |= b,
                None => {
                    let known: Vec<&str> = table.iter().map(|&(n, _)| n).take(8).collect();
                    return Err(range_error(format!(
                        "{at}: {name}: unknown flag {part:?} (known: {}, ...)",
                        known.join(", ")
                    )));
                }
            }
        }
        return Ok(bits);
    }
    u64_arg(at, name, v)
}

/// A string argument of at most `max` bytes.
pub fn str_arg(at: &str, name: &str, v: &JsValue, max: usize) -> Result<String, JsValue> {
    match v.as_string() {
        Some(s) if s.len() <= max => Ok(s),
        Some(s) => Err(range_error(format!(
            "{at}: {name} is {} bytes long; at most {max} allowed",
            s.len()
        ))),
        None => Err(type_error(format!(
            "{at}: {name} must be a string, got {}",
            describe(v)
        ))),
    }
}

/// A file name as `open` and `memfd` take it: letters, digits, `.`, `_`, `-`.
pub fn name_arg(at: &str, v: &JsValue) -> Result<String, JsValue> {
    let s = str_arg(at, "name", v, 255)?;
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(range_error(format!(
            "{at}: name must be 1-255 letters, digits, '.', '_' or '-', got {s:?}"
        )));
    }
    Ok(s)
}

/// An optional boolean (undefined means `default`).
pub fn bool_opt(at: &str, name: &str, v: &JsValue, default: bool) -> Result<bool, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(default);
    }
    v.as_bool().ok_or_else(|| {
        type_error(format!(
            "{at}: {name} must be a boolean, got {}",
            describe(v)
        ))
    })
}
