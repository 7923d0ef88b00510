# The opener: makes calls for the supervisor inside the sandbox, as one of
# its processes: in its Landlock domain, with its credentials, with its
# pid. fd 3: a SOCK_SEQPACKET socket to the supervisor. Each request:
#   sequence u64, op u64, a u64, b u64, c u64, 4096 bytes, then data
# with fds (SCM_RIGHTS), which arrive as 4, 5, 6, ... (0-2 are copies of
# 3 and everything above 3 is closed before each request). Ops:
#   0 open:    openat2(4, bytes as a NUL-terminated path, {a, b, c}, 24)
#   1 install: SECCOMP_IOCTL_NOTIF_ADDFD on listener 4 of fd 5 for
#              notification a, flags b, newfd_flags c (with SEND: the
#              ioctl answers the call). The wait for the caller's thread
#              to take the fd is ours, not the supervisor's.
#   2 connect: connect(4, bytes as a sockaddr of length a), made
#              non-blocking for the call (the flag put back at once)
#   3 send:    sendmsg(4, {bytes as a sockaddr of length b (none if 0),
#              the c bytes of data, fds 6... as SCM_RIGHTS}, a |
#              MSG_DONTWAIT | MSG_NOSIGNAL); fd 5 is what the address
#              names (/proc/self/fd/5), or a second copy of 4
# Reply: the sequence number and an 8-byte result (a value, or -errno),
# with the opened fd (SCM_RIGHTS) for a successful open.
#
# Frame (rsp+): 0 request (4136, a NUL after it), 4160 iov_in[2],
# 4224 msg_in, 4280 reply, 4304 iov_out, 4320 cmsg_out, 4352 msg_out,
# 4416 addfd, 4448 send iov, 4464 send msg, 4600 the data buffer's
# address, 4608 cmsg_in (room for 255 fds).
    .intel_syntax noprefix
    .globl _start
    .set DATA_MAX, 262144
_start:
    mov eax, 157                 # prctl(PR_SET_DUMPABLE, 0): the job may
    mov edi, 4                   # not read or write our memory through
    xor esi, esi                 # /proc/<pid>/mem
    syscall
    mov eax, 95                  # umask(0): creates take the mode the
    xor edi, edi                 # supervisor computed with the child's
    syscall                      # umask
    mov eax, 32                  # dup(3) three times: fds 0-2 are taken,
    mov edi, 3                   # so the fds of a request come as 4, 5, ...
    syscall
    mov eax, 32
    mov edi, 3
    syscall
    mov eax, 32
    mov edi, 3
    syscall
    sub rsp, 8192
    mov eax, 9                   # mmap(0, DATA_MAX, RW, PRIVATE|ANONYMOUS)
    xor edi, edi
    mov esi, DATA_MAX
    mov edx, 3
    mov r10d, 0x22
    mov r8, -1
    xor r9d, r9d
    syscall
    test rax, rax
    js done
    mov [rsp+4600], rax
next:
    mov eax, 436                 # close_range(4, ~0, 0): the last
    mov edi, 4                   # request's fds are gone
    mov esi, -1
    xor edx, edx
    syscall
    lea rax, [rsp]
    mov [rsp+4160], rax          # iov_in[0] = the request
    mov qword ptr [rsp+4168], 4136
    mov rax, [rsp+4600]
    mov [rsp+4176], rax          # iov_in[1] = the data buffer
    mov qword ptr [rsp+4184], DATA_MAX
    mov qword ptr [rsp+4224], 0  # msg.name
    mov qword ptr [rsp+4232], 0  # msg.namelen
    lea rax, [rsp+4160]
    mov [rsp+4240], rax          # msg.iov
    mov qword ptr [rsp+4248], 2  # msg.iovlen
    lea rax, [rsp+4608]
    mov [rsp+4256], rax          # msg.control
    mov qword ptr [rsp+4264], 1040   # msg.controllen (CMSG_SPACE(255 * 4))
    mov qword ptr [rsp+4272], 0  # msg.flags
    mov qword ptr [rsp+4608], 0  # cmsg_len: no fds unless some come
    mov byte ptr [rsp+4136], 0   # the path is NUL-terminated whatever comes
    mov eax, 47                  # recvmsg(3, &msg, MSG_CMSG_CLOEXEC)
    mov edi, 3
    lea rsi, [rsp+4224]
    mov edx, 0x40000000
    syscall
    cmp rax, -4                  # EINTR
    je next
    test rax, rax
    jle done                     # EOF or error: the supervisor is gone
    mov r14, rax                 # the request's length
    xor r15d, r15d               # how many fds came
    cmp qword ptr [rsp+4264], 20
    jl counted
    mov r15, [rsp+4608]          # (cmsg_len - 16) / 4
    sub r15, 16
    shr r15, 2
counted:
    mov rbx, -1                  # no fd goes back unless an open made one
    mov r13, -9                  # EBADF unless the fds are 4, 5, ...
    test r15, r15
    jz numbered
    cmp dword ptr [rsp+4624], 4
    jne reply
    cmp r15, 2
    jl numbered
    cmp dword ptr [rsp+4628], 5
    jne reply
numbered:
    mov r13, -22                 # EINVAL unless all is there
    cmp r14, 40
    jl reply
    mov rax, [rsp+8]
    test rax, rax
    jz open
    cmp rax, 1
    je install
    cmp rax, 2
    je connect
    cmp rax, 3
    je send_op
    jmp reply
open:
    mov r13, -9                  # EBADF without an fd
    cmp r15, 1
    jl reply
    cmp r14, 41                  # at least the NUL
    mov r13, -22
    jl reply
    mov eax, 437                 # openat2(4, path, &how, 24)
    mov edi, 4
    lea rsi, [rsp+40]
    lea rdx, [rsp+16]
    mov r10d, 24
    syscall
    mov r13, rax
    test rax, rax
    js reply
    mov rbx, rax
    jmp reply
install:
    mov r13, -9
    cmp r15, 2
    jl reply
    mov rax, [rsp+16]
    mov [rsp+4416], rax          # addfd.id
    mov eax, [rsp+24]
    mov [rsp+4424], eax          # addfd.flags
    mov dword ptr [rsp+4428], 5  # addfd.srcfd
    mov dword ptr [rsp+4432], 0  # addfd.newfd
    mov eax, [rsp+32]
    mov [rsp+4436], eax          # addfd.newfd_flags
    mov eax, 16                  # ioctl(4, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd)
    mov edi, 4
    mov esi, 0x40182103
    lea rdx, [rsp+4416]
    syscall
    mov r13, rax
    jmp reply
connect:
    mov r13, -9
    cmp r15, 2
    jl reply
    mov r13, -22
    mov rdx, [rsp+16]            # the address's length
    cmp rdx, 4096
    ja reply
    lea rax, [rdx+40]
    cmp r14, rax
    jl reply
    mov eax, 72                  # fcntl(4, F_GETFL)
    mov edi, 4
    mov esi, 3
    syscall
    mov r13, rax
    test rax, rax
    js reply
    mov r12, rax                 # the flags to put back
    test r12d, 0x800             # O_NONBLOCK already
    jnz nonblocking
    mov eax, 72                  # fcntl(4, F_SETFL, flags | O_NONBLOCK)
    mov edi, 4
    mov esi, 4
    mov rdx, r12
    or rdx, 0x800
    syscall
nonblocking:
    mov eax, 42                  # connect(4, address, length)
    mov edi, 4
    lea rsi, [rsp+40]
    mov rdx, [rsp+16]
    syscall
    mov r13, rax
    test r12d, 0x800
    jnz reply
    mov eax, 72                  # fcntl(4, F_SETFL, flags)
    mov edi, 4
    mov esi, 4
    mov rdx, r12
    syscall
    jmp reply
send_op:
    mov r13, -9
    cmp r15, 2
    jl reply
    mov r13, -22
    mov rax, [rsp+24]            # the address's length
    cmp rax, 4096
    ja reply
    mov rdx, [rsp+32]            # the data's length
    cmp rdx, DATA_MAX
    ja reply
    lea rax, [rdx+4136]
    cmp r14, rax                 # all of it came
    jne reply
    mov rax, [rsp+4600]
    mov [rsp+4448], rax          # iov.base = the data
    mov [rsp+4456], rdx          # iov.len
    mov qword ptr [rsp+4464], 0  # msg.name
    mov rax, [rsp+24]
    mov [rsp+4472], rax          # msg.namelen
    test rax, rax
    jz unnamed
    lea rax, [rsp+40]
    mov [rsp+4464], rax
unnamed:
    lea rax, [rsp+4448]
    mov [rsp+4480], rax          # msg.iov
    mov qword ptr [rsp+4488], 1  # msg.iovlen
    mov qword ptr [rsp+4496], 0  # msg.control
    mov qword ptr [rsp+4504], 0  # msg.controllen
    mov qword ptr [rsp+4512], 0  # msg.flags
    cmp r15, 2
    je uncontrolled
    mov rax, [rsp+4608]          # fds 6...: their SCM_RIGHTS header is
    sub rax, 8                   # written over the first two's
    mov [rsp+4616], rax          # cmsg_len
    mov dword ptr [rsp+4624], 1  # SOL_SOCKET
    mov dword ptr [rsp+4628], 1  # SCM_RIGHTS
    lea rcx, [rsp+4616]
    mov [rsp+4496], rcx
    mov [rsp+4504], rax
uncontrolled:
    mov eax, 46                  # sendmsg(4, &msg, flags | MSG_DONTWAIT | MSG_NOSIGNAL)
    mov edi, 4
    lea rsi, [rsp+4464]
    mov rdx, [rsp+16]
    or rdx, 0x4040
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
    mov qword ptr [rsp+4384], 0  # msg.control (none without an fd)
    mov qword ptr [rsp+4392], 0  # msg.controllen
    mov qword ptr [rsp+4400], 0  # msg.flags
    test rbx, rbx
    js send
    mov qword ptr [rsp+4320], 20 # cmsg_len = CMSG_LEN(4)
    mov dword ptr [rsp+4328], 1  # SOL_SOCKET
    mov dword ptr [rsp+4332], 1  # SCM_RIGHTS
    mov [rsp+4336], ebx          # the fd
    lea rax, [rsp+4320]
    mov [rsp+4384], rax
    mov qword ptr [rsp+4392], 24 # CMSG_SPACE(4)
send:
    mov eax, 46                  # sendmsg(3, &msg, MSG_NOSIGNAL)
    mov edi, 3
    lea rsi, [rsp+4352]
    mov edx, 0x4000
    syscall
    jmp next
done:
    mov eax, 231                 # exit_group(0)
    xor edi, edi
    syscall
