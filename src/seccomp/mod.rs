//! seccomp: the BPF filter every sandboxed process carries (`filter`) and
//! the user-notification listener the supervisor reads (`notify`).

pub mod classification;
pub mod filter;
pub mod notify;
