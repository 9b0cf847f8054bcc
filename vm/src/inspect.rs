//! What a stopped VM shows a debugger: its wasm frames and their locals.

use serde::Serialize;

/// One wasm frame, innermost first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// The function's name from the module's name section, or `func[N]`.
    pub function: String,
    /// The script (module) it belongs to.
    pub script: String,
    /// The instruction's offset in the module's bytes.
    pub offset: Option<usize>,
}

/// One local of a frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Local {
    /// `local0`, `local1`, … (wasm locals have no names without a names map).
    pub name: String,
    /// `i32`, `i64`, `f32`, `f64`, …
    pub kind: String,
    /// The value, as the debugger shows it.
    pub value: String,
}

impl Local {
    /// A local from a wasmtime value.
    pub fn from_val(index: usize, value: &wasmtime::Val) -> Local {
        use wasmtime::Val;
        let (kind, value) = match value {
            Val::I32(v) => ("i32", v.to_string()),
            Val::I64(v) => ("i64", v.to_string()),
            Val::F32(bits) => ("f32", f32::from_bits(*bits).to_string()),
            Val::F64(bits) => ("f64", f64::from_bits(*bits).to_string()),
            Val::V128(v) => ("v128", format!("{:#034x}", v.as_u128())),
            Val::FuncRef(_) => ("funcref", "<funcref>".to_owned()),
            Val::ExternRef(_) => ("externref", "<externref>".to_owned()),
            _ => ("ref", "<reference>".to_owned()),
        };
        Local { name: format!("local{index}"), kind: kind.to_owned(), value }
    }
}
