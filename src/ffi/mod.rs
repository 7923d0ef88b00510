//! The C ABI. Every exported function is a short shim: catch panics, check
//! pointers and convert arguments, call the core, turn an error into
//! `-errno` and record its message on the handle. Raw pointers are touched
//! here and nowhere else.

#![allow(non_camel_case_types)]

mod events;
mod policy;
mod runner;
mod sandbox;

use crate::error::{Error, Result};
use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`, turning a panic into an error: no unwinding crosses the ABI.
pub(crate) fn guarded<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            libc::EIO,
            "internal error in libsandlock (a bug: please report it)",
        )),
    }
}

/// The bytes of a C string argument, or EINVAL naming the argument.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn c_bytes<'a>(what: &str, ptr: *const c_char) -> Result<&'a [u8]> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what}: NULL string")));
    }
    // SAFETY: not NULL, and NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// A path argument: raw bytes, no encoding required.
///
/// # Safety
/// As [`c_bytes`].
pub(crate) unsafe fn c_path<'a>(what: &str, ptr: *const c_char) -> Result<&'a OsStr> {
    // SAFETY: the same contract as ours.
    unsafe { c_bytes(what, ptr) }.map(OsStr::from_bytes)
}

/// A text argument: must be UTF-8.
///
/// # Safety
/// As [`c_bytes`].
pub(crate) unsafe fn c_text<'a>(what: &str, ptr: *const c_char) -> Result<&'a str> {
    // SAFETY: the same contract as ours.
    let bytes = unsafe { c_bytes(what, ptr) }?;
    std::str::from_utf8(bytes).map_err(|_| {
        Error::invalid(format!(
            "{what}: \"{}\" is not valid UTF-8",
            String::from_utf8_lossy(bytes)
        ))
    })
}

/// A message kept as a C string: interior NULs cannot occur in what we
/// format, but are replaced rather than trusted.
pub(crate) fn c_message(message: &str) -> std::ffi::CString {
    std::ffi::CString::new(message.replace('\0', "\\0")).unwrap_or_default()
}

/// The library version, "MAJOR.MINOR.PATCH". Static storage.
#[no_mangle]
pub extern "C" fn sandlock_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}
