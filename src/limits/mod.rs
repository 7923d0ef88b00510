//! What a sandbox may use: its processes and groups, memory and CPU, and
//! the calls that act on a process by pid.

pub mod groups;
pub mod pid_calls;
pub mod processes;
pub mod usage;
