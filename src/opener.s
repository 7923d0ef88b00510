# The opener: opens files for the supervisor, inside the sandbox's Landlock
# domain and with its credentials. fd 3: a SOCK_SEQPACKET socket to the
# supervisor. Each request: an 8-byte sequence number, struct open_how
# (24 bytes) and a NUL-terminated path, with one fd (SCM_RIGHTS) the path
# is resolved from, moved to fd 4 (so "/proc/self/fd/4" names it). Reply:
# the sequence number and an 8-byte result (an fd number here, or -errno),
# with the fd itself (SCM_RIGHTS) on success.
    .intel_syntax noprefix
    .globl _start
_start:
    mov eax, 157                 # prctl(PR_SET_DUMPABLE, 0): the job may
    mov edi, 4                   # not read or write our memory through
    xor esi, esi                 # /proc/<pid>/mem
    syscall
    mov eax, 95                  # umask(0): creates take the mode the
    xor edi, edi                 # supervisor computed with the child's
    syscall                      # umask
    sub rsp, 8192
next:
    lea rax, [rsp]
    mov [rsp+4160], rax          # iov_in.base = request
    mov qword ptr [rsp+4168], 4128   # iov_in.len (8 + 24 + 4096)
    mov qword ptr [rsp+4224], 0  # msg.name
    mov qword ptr [rsp+4232], 0  # msg.namelen
    lea rax, [rsp+4160]
    mov [rsp+4240], rax          # msg.iov
    mov qword ptr [rsp+4248], 1  # msg.iovlen
    lea rax, [rsp+4192]
    mov [rsp+4256], rax          # msg.control
    mov qword ptr [rsp+4264], 24 # msg.controllen
    mov qword ptr [rsp+4272], 0  # msg.flags
    mov byte ptr [rsp+4128], 0   # the path is NUL-terminated whatever comes
    mov eax, 47                  # recvmsg(3, &msg, MSG_CMSG_CLOEXEC)
    mov edi, 3
    lea rsi, [rsp+4224]
    mov edx, 0x40000000
    syscall
    cmp rax, -4                  # EINTR
    je next
    test rax, rax
    jle done                     # EOF or error: the supervisor is gone
    mov r13, -22                 # EINVAL unless all is there
    cmp rax, 33
    jl reply
    mov r13, -9                  # EBADF without an fd
    cmp qword ptr [rsp+4264], 20
    jl reply
    mov r12, 4
    mov edi, [rsp+4208]
    cmp edi, 4                   # already fd 4 (the lowest free number)
    je opened
    mov eax, 292                 # dup3(fd, 4, O_CLOEXEC)
    mov esi, 4
    mov edx, 0x80000
    syscall
    mov r12, rax
    mov eax, 3                   # close(fd)
    mov edi, [rsp+4208]
    syscall
opened:
    mov r13, r12
    test r12, r12
    js reply
    mov eax, 437                 # openat2(4, path, &how, 24)
    mov edi, 4
    lea rsi, [rsp+32]
    lea rdx, [rsp+8]
    mov r10d, 24
    syscall
    mov r13, rax
reply:
    mov rax, [rsp]               # the request's sequence number
    mov [rsp+4280], rax
    mov [rsp+4288], r13          # the result
    lea rax, [rsp+4280]
    mov [rsp+4304], rax          # iov_out.base
    mov qword ptr [rsp+4312], 16 # iov_out.len
    mov qword ptr [rsp+4352], 0  # msg.name
    mov qword ptr [rsp+4360], 0  # msg.namelen
    lea rax, [rsp+4304]
    mov [rsp+4368], rax          # msg.iov
    mov qword ptr [rsp+4376], 1  # msg.iovlen
    mov qword ptr [rsp+4384], 0  # msg.control (none on failure)
    mov qword ptr [rsp+4392], 0  # msg.controllen
    mov qword ptr [rsp+4400], 0  # msg.flags
    test r13, r13
    js send
    mov qword ptr [rsp+4320], 20 # cmsg_len = CMSG_LEN(4)
    mov dword ptr [rsp+4328], 1  # SOL_SOCKET
    mov dword ptr [rsp+4332], 1  # SCM_RIGHTS
    mov [rsp+4336], r13d         # the fd
    lea rax, [rsp+4320]
    mov [rsp+4384], rax
    mov qword ptr [rsp+4392], 24 # CMSG_SPACE(4)
send:
    mov eax, 46                  # sendmsg(3, &msg, MSG_NOSIGNAL)
    mov edi, 3
    lea rsi, [rsp+4352]
    mov edx, 0x4000
    syscall
    test r13, r13
    js next
    mov eax, 3                   # close our copy of the opened fd
    mov edi, r13d
    syscall
    jmp next
done:
    mov eax, 231                 # exit_group(0)
    xor edi, edi
    syscall
