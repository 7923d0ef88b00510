//! seccomp: the BPF filter every sandboxed process carries (`filter`) and
//! the user-notification listener the supervisor reads (`notify`).

#[cfg(test)]
pub mod classification;
pub mod filter;
pub mod notify;
pub mod syscall_table;
pub mod trapped;
