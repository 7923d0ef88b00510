//! One error type for the whole library: an errno the C caller gets back
//! negated, and a message that names the input or the step that failed.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    errno: i32,
    message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(errno: i32, message: impl Into<String>) -> Self {
        Error {
            errno,
            message: message.into(),
        }
    }

    /// An argument the caller gave is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(libc::EINVAL, message)
    }

    /// A system call failed: `context` says which, errno says why.
    pub fn os(context: impl fmt::Display, errno: i32) -> Self {
        Error::new(errno, format!("{context}: {}", strerror(errno)))
    }

    /// Like [`Error::os`], with the errno of the last failed libc call.
    pub fn last_os(context: impl fmt::Display) -> Self {
        Error::os(context, last_errno())
    }

    pub fn errno(&self) -> i32 {
        self.errno
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The text of an errno without the " (os error N)" suffix std adds.
pub fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}
