//! The watchdog: one process per sandbox, inside its Landlock domain but
//! outside its seccomp filter, that kills every process of the sandbox
//! when the host lets go of it: when the sandbox is freed, or when the host
//! dies (even by SIGKILL).
//!
//! How: the host keeps the only write end of a pipe; the watchdog blocks
//! reading the other end. EOF (every write end closed) means the host is
//! done or gone, and the watchdog calls `kill(-1, SIGKILL)`. Landlock's
//! signal scope confines that to the sandbox's domain (and domains nested
//! in it): before arming, the watchdog checks that it cannot signal the
//! host, and stays unarmed otherwise.
//!
//! It is started vfork-style from the child (sharing its memory until it
//! execs) and execs a 188-byte program of ours from a sealed memfd
//! (Landlock does not check exec from a memfd), so it costs no copy of the
//! host's address space. Where that exec is impossible there is no
//! watchdog, and the process groups alone carry the kill.
//!
//! It is not a filter user, so the sandbox still ends (the listener hangs
//! up) while it waits; it blocks every signal it can and sits in a process
//! group of its own, so the host's group signals miss it. A job can still SIGKILL or
//! SIGSTOP it (it is in the same domain); then a host death leaves the job
//! running.

use crate::sys;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// x86-64: `prctl(PR_SET_DUMPABLE, 0); loop: read(3, rsp, 1); if EINTR
/// or > 0, loop; kill(-1, SIGKILL); exit_group(0)`, as a static ELF loaded
/// at 0x400000. Not dumpable: the job (same uid, same domain) cannot reach
/// its memory through /proc/<pid>/mem.
const PROGRAM_CODE: [u8; 68] = [
    0xb8, 0x9d, 0x00, 0x00, 0x00, // mov eax, 157     (SYS_prctl)
    0xbf, 0x04, 0x00, 0x00, 0x00, // mov edi, 4       (PR_SET_DUMPABLE)
    0x31, 0xf6, // xor esi, esi
    0x0f, 0x05, // syscall
    0x31, 0xc0, // xor eax, eax            (SYS_read)
    0xbf, 0x03, 0x00, 0x00, 0x00, // mov edi, 3
    0x48, 0x89, 0xe6, // mov rsi, rsp
    0xba, 0x01, 0x00, 0x00, 0x00, // mov edx, 1
    0x0f, 0x05, // syscall
    0x48, 0x83, 0xf8, 0xfc, // cmp rax, -EINTR
    0x74, 0xe9, // je loop
    0x48, 0x85, 0xc0, // test rax, rax
    0x7f, 0xe4, // jg loop
    0xb8, 0x3e, 0x00, 0x00, 0x00, // mov eax, 62       (SYS_kill)
    0xbf, 0xff, 0xff, 0xff, 0xff, // mov edi, -1
    0xbe, 0x09, 0x00, 0x00, 0x00, // mov esi, 9        (SIGKILL)
    0x0f, 0x05, // syscall
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231      (SYS_exit_group)
    0x31, 0xff, // xor edi, edi
    0x0f, 0x05, // syscall
];

const BASE: u64 = 0x40_0000;
const HEADERS: usize = 64 + 56;

/// The watchdog's ELF image.
pub fn program() -> Vec<u8> {
    elf_image(&PROGRAM_CODE)
}

/// A static ELF image of `code` (position-independent, entered at its
/// first byte, run on the kernel's stack): one header, one read+execute
/// LOAD segment, the code.
pub fn elf_image(code: &[u8]) -> Vec<u8> {
    let size = (HEADERS + code.len()) as u64;
    let mut elf = Vec::with_capacity(size as usize);
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&0x3eu16.to_le_bytes()); // EM_X86_64
    elf.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    elf.extend_from_slice(&(BASE + HEADERS as u64).to_le_bytes()); // entry
    elf.extend_from_slice(&64u64.to_le_bytes()); // program headers at 64
    elf.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    elf.extend_from_slice(&0u32.to_le_bytes()); // flags
    elf.extend_from_slice(&64u16.to_le_bytes()); // header size
    elf.extend_from_slice(&56u16.to_le_bytes()); // program header size
    elf.extend_from_slice(&1u16.to_le_bytes()); // one program header
    elf.extend_from_slice(&[0; 6]); // section header size, count, names
    elf.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    elf.extend_from_slice(&0u64.to_le_bytes()); // from file offset 0
    elf.extend_from_slice(&BASE.to_le_bytes()); // vaddr
    elf.extend_from_slice(&BASE.to_le_bytes()); // paddr
    elf.extend_from_slice(&size.to_le_bytes()); // file size
    elf.extend_from_slice(&size.to_le_bytes()); // memory size
    elf.extend_from_slice(&0x1000u64.to_le_bytes()); // alignment
    elf.extend_from_slice(code);
    elf
}

/// What a spawn prepares for its watchdog.
pub struct Armed {
    /// The host's end: dropping it (or dying) fires the watchdog.
    pub write_end: OwnedFd,
    /// The child's ends, closed in the host once the child has copies.
    pub read_end: OwnedFd,
    pub program: Option<OwnedFd>,
}

/// A pipe and the sealed memfd holding the program.
pub fn prepare() -> Result<Armed, i32> {
    let mut fds = [-1; 2];
    // SAFETY: fds is a valid out array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(sys::errno());
    }
    // SAFETY: both ends are new fds we own.
    let (read_end, write_end) = unsafe { (sys::own(fds[0]), sys::own(fds[1])) };
    Ok(Armed {
        write_end,
        read_end,
        program: program_memfd().ok(),
    })
}

fn program_memfd() -> Result<OwnedFd, i32> {
    sealed_memfd(c"sandlock-watchdog", &program())
}

/// A sealed memfd holding `image`: what a helper process execs (Landlock
/// does not check exec from a memfd, and the seals keep the job from
/// changing it).
pub fn sealed_memfd(name: &std::ffi::CStr, image: &[u8]) -> Result<OwnedFd, i32> {
    // SAFETY: name is NUL-terminated.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(sys::errno());
    }
    // SAFETY: a new fd we own.
    let fd = unsafe { sys::own(fd) };
    // SAFETY: image is a valid buffer.
    let written = unsafe { libc::write(fd.as_raw_fd(), image.as_ptr() as *const _, image.len()) };
    if written != image.len() as isize {
        return Err(libc::EIO);
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: plain fcntl.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(sys::errno());
    }
    Ok(fd)
}

/// What the watchdog's clone hands it: all prepared before the child exists.
#[repr(C)]
pub struct Launch {
    pub read_end: RawFd,
    pub program: RawFd,
    pub host: libc::pid_t,
    pub argv: *const *const libc::c_char,
}

/// The watchdog's stack while it shares the child's memory (until exec).
pub const STACK_SIZE: usize = 64 * 1024;

/// In the child, after landlock_restrict_self and before the filter: start
/// the watchdog (or the opener). CLONE_VM | CLONE_VFORK: no copy of the
/// (host's) address space, and the child waits only until the helper has
/// exec'd. CLONE_PARENT: the helper is the host's child, not the job's, so
/// the job sees exactly the children it made (`wait()` is ECHILD when it
/// made none; a clone child with no exit signal would not do, as every
/// exec resets the exit signal to SIGCHLD). The host reaps it
/// (spawn::Helper). Returns its pid, or -1.
///
/// # Safety
/// `stack` must point to STACK_SIZE writable bytes nothing else uses, and
/// `launch` must stay valid until this returns.
pub unsafe fn start_in_child(stack: *mut u8, launch: &Launch) -> libc::pid_t {
    // SAFETY: the stack and launch are as our contract says.
    unsafe {
        let top = (stack as usize + STACK_SIZE) & !15;
        libc::clone(
            watchdog_main,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PARENT,
            launch as *const Launch as *mut libc::c_void,
        )
    }
}

/// The watchdog until its exec, on its own stack in the child's memory:
/// raw syscalls only, and no writes but to its own stack.
extern "C" fn watchdog_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: arg is the Launch the child passed; raw syscalls on our own
    // fds and signal dispositions.
    unsafe {
        let launch = &*(arg as *const Launch);
        // Out of the host's group signals, and deaf to the job's catchable
        // signals: all blocked (the mask survives exec).
        libc::setpgid(0, 0);
        let all: u64 = !0;
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &all as *const u64,
            0usize,
            8usize,
        );
        // Armed only if the signal scope holds: kill(-1) must stay inside.
        if libc::kill(launch.host, 0) == 0 || sys::errno() != libc::EPERM {
            libc::_exit(0);
        }
        if launch.program < 0 {
            libc::_exit(0);
        }
        // fd 3 = the pipe, the program above it, nothing else.
        let program = libc::fcntl(launch.program, libc::F_DUPFD_CLOEXEC, 4);
        if program < 4 {
            libc::_exit(0);
        }
        if launch.read_end == 3 {
            libc::fcntl(3, libc::F_SETFD, 0);
        } else if libc::dup3(launch.read_end, 3, 0) < 0 {
            libc::_exit(0);
        }
        let _ = sys::close_range(0, 2, 0);
        let _ = sys::close_range(4, program as u32 - 1, 0);
        let _ = sys::close_range(program as u32 + 1, u32::MAX, 0);
        let envp: [*const libc::c_char; 1] = [std::ptr::null()];
        libc::syscall(
            libc::SYS_execveat,
            program,
            c"".as_ptr(),
            launch.argv,
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        // No exec, no watchdog: the child must not wait on us forever.
        libc::_exit(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_a_well_formed_elf() {
        let elf = program();
        assert_eq!(elf.len(), 188);
        assert_eq!(&elf[..4], b"\x7fELF");
        let entry = u64::from_le_bytes(elf[24..32].try_into().unwrap());
        assert_eq!(entry, BASE + 120);
        let file_size = u64::from_le_bytes(elf[64 + 32..64 + 40].try_into().unwrap());
        assert_eq!(file_size as usize, elf.len());
    }
}
