//! What the sandbox sees instead of the host: the clock, seeded
//! randomness, virtual files, a private /proc, and the auxiliary vector of
//! new programs.

pub mod auxv;
pub mod clock;
pub mod private_proc;
pub mod seeded_random;
pub mod virtual_files;
