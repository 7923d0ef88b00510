//! A new program's auxiliary vector, rewritten before its first
//! instruction (random_seed, time_start).
//!
//! The kernel hands each new image 16 random bytes (`AT_RANDOM`, which libc
//! turns into the stack protector and pointer guard, and which programs
//! may read) and the address of the vDSO (`AT_SYSINFO_EHDR`), through
//! which libc, Go and static binaries read the clocks without a syscall.
//! Neither can be trapped. So every exec is trapped and answered with a
//! stop pending for its caller (supervisor/exec_watch.rs); once the exec
//! has made the new image, the process stops on its way to its first
//! instruction, and its vector is rewritten in place
//! on its stack: `AT_RANDOM`'s bytes from the seed, and `AT_SYSINFO_EHDR`
//! turned into `AT_IGNORE`, so that every reader of the clocks falls back
//! to the syscalls the supervisor answers (virt/clock.rs).
//!
//! What is rewritten is the stack copy the program reads; the kernel's own
//! copy (/proc/self/auxv) and the vDSO mapping stay. A program that looks
//! for the vDSO in /proc/self/maps or /proc/self/auxv still finds it: that
//! escapes the virtual clock, not the confinement (README).

use crate::sys::procfs::{self, Read};
use crate::sys::{memory, SysResult};
use crate::virt::seeded_random::Stream;

const AT_NULL: u64 = 0;
const AT_IGNORE: u64 = 1;
const AT_RANDOM: u64 = 25;
const AT_SYSINFO_EHDR: u64 = 33;
/// More environment entries than any exec accepts (its strings alone would
/// pass the kernel's limit on arguments).
const MOST_WORDS: usize = 1 << 22;

/// What every new program of a sandbox gets instead of the kernel's.
pub struct Rewriter {
    /// `AT_RANDOM`'s 16 bytes, drawn from the seed exec after exec.
    random: Option<Stream>,
    /// No vDSO: clock reads become syscalls.
    hide_vdso: bool,
}

impl Rewriter {
    /// None when the policy changes nothing.
    pub fn new(random_seed: Option<u64>, time_start: Option<i64>) -> Option<Rewriter> {
        if random_seed.is_none() && time_start.is_none() {
            return None;
        }
        Some(Rewriter {
            random: random_seed.map(|seed| Stream::new(seed, crate::virt::seeded_random::AUXV)),
            hide_vdso: time_start.is_some(),
        })
    }

    /// Rewrites the vector of stopped process `pid` if it stands at the
    /// start of a new image. Ok(false): it does not (its exec failed and
    /// it is back in the program that called it). An error: the process is
    /// a new image whose vector could not be rewritten; the caller must not
    /// let it run.
    pub fn fix(&mut self, pid: libc::pid_t) -> SysResult<bool> {
        let Some(argc_at) = new_image_stack(pid)? else {
            return Ok(false);
        };
        let vector = kernel_vector(pid)?;
        let at = stack_vector_address(pid, argc_at)?;
        // The stack copy must be the kernel's, word for word: otherwise
        // this is not where the program will read it.
        let on_stack = memory::read(pid, at, vector.len() * 16)?;
        if on_stack != as_bytes(&vector) {
            return Err(libc::EIO);
        }
        for (i, &(key, value)) in vector.iter().enumerate() {
            let entry = at + 16 * i as u64;
            match key {
                AT_RANDOM => {
                    if let Some(stream) = &mut self.random {
                        memory::write(pid, value, &stream.bytes(16))?;
                    }
                }
                AT_SYSINFO_EHDR if self.hide_vdso => {
                    memory::write(pid, entry, &as_bytes(&[(AT_IGNORE, 0)]))?;
                }
                _ => {}
            }
        }
        Ok(true)
    }
}

/// Where argc lies if stopped process `pid` has not run an instruction of
/// a new image yet: its stack pointer is then exactly the stack start the
/// kernel recorded at exec (anywhere else once a program has run, and
/// after a failed exec, which returns into the caller's frames).
fn new_image_stack(pid: libc::pid_t) -> SysResult<Option<u64>> {
    let start = procfs::stack_start(pid)?;
    let (sp, _) = procfs::stack_and_instruction_pointers(pid)?;
    Ok((start != 0 && sp == start).then_some(start))
}

/// The vector as the kernel saved it at exec, AT_NULL included.
fn kernel_vector(pid: libc::pid_t) -> Read<Vec<(u64, u64)>> {
    let bytes = procfs::read_bytes(format!("/proc/{pid}/auxv"))?;
    let mut vector = Vec::new();
    for pair in bytes.chunks_exact(16) {
        let key = u64::from_ne_bytes(pair[..8].try_into().expect("8 bytes"));
        let value = u64::from_ne_bytes(pair[8..].try_into().expect("8 bytes"));
        vector.push((key, value));
        if key == AT_NULL {
            return Ok(vector);
        }
    }
    Err(libc::EIO)
}

/// The vector's address on the new stack: past argc, argv and its NULL,
/// and envp and its NULL.
fn stack_vector_address(pid: libc::pid_t, argc_at: u64) -> SysResult<u64> {
    let mut words = Words::new(pid, argc_at);
    let argc = words.next()?;
    if argc as usize > MOST_WORDS {
        return Err(libc::EIO);
    }
    for _ in 0..=argc {
        words.next()?;
    }
    for _ in 0..MOST_WORDS {
        if words.next()? == 0 {
            return Ok(words.at);
        }
    }
    Err(libc::EIO)
}

fn as_bytes(pairs: &[(u64, u64)]) -> Vec<u8> {
    pairs
        .iter()
        .flat_map(|&(k, v)| k.to_ne_bytes().into_iter().chain(v.to_ne_bytes()))
        .collect()
}

/// Consecutive words of another process's memory, read a page at a time.
struct Words {
    pid: libc::pid_t,
    at: u64,
    page: Vec<u8>,
    page_at: u64,
}

impl Words {
    fn new(pid: libc::pid_t, at: u64) -> Words {
        Words {
            pid,
            at,
            page: Vec::new(),
            page_at: 0,
        }
    }

    fn next(&mut self) -> SysResult<u64> {
        const PAGE: u64 = 4096;
        let offset = self.at.wrapping_sub(self.page_at) as usize;
        if self.page.is_empty() || offset + 8 > self.page.len() {
            self.page_at = self.at;
            self.page = memory::read(self.pid, self.at, (PAGE - self.at % PAGE) as usize)?;
            if self.page.len() < 8 {
                return Err(libc::EIO);
            }
        }
        let offset = (self.at - self.page_at) as usize;
        let word = u64::from_ne_bytes(self.page[offset..offset + 8].try_into().expect("8 bytes"));
        self.at += 8;
        Ok(word)
    }
}
