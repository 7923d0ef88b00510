# The opener: makes calls for the supervisor inside the sandbox, as one of
# its processes: in its Landlock domain, with its credentials, with its
# pid. fd 3: a SOCK_SEQPACKET socket to the supervisor. Each request:
#   sequence, op, a, b, c, d, e, f (u64 each), 4096 bytes, then data
# with fds (SCM_RIGHTS), which arrive as 4, 5, 6, ... (0-2 are taken
# first, and everything above 3 is closed before each request). Ops:
#   0 open:     openat2(4, bytes as a NUL-terminated path, {a, b, c}, 24)
#   1 install:  SECCOMP_IOCTL_NOTIF_ADDFD on the listener (fd 2) of fd 4
#               for notification a, flags b, newfd_flags c (with SEND:
#               the ioctl answers the call). The wait for the caller's
#               thread to take the fd is ours, not the supervisor's.
#   2 connect:  connect(4, bytes as a sockaddr of length a), made
#               non-blocking for the call (the flag put back at once)
#   3 send:     sendmsg(4, {bytes as a sockaddr of length b (none if 0),
#               the c bytes of data, fds 6... as SCM_RIGHTS}, a |
#               MSG_DONTWAIT | MSG_NOSIGNAL); fd 5 is what the address
#               names (/proc/self/fd/5), or a second copy of 4
#   4 listener: keeps fd 4, the seccomp listener, as fd 2
# A connect or send with d != 0 also answers notification d itself when
# its result is at least e: with the result plus f (SECCOMP_IOCTL_NOTIF_SEND).
# Reply: the sequence number, an 8-byte result (a value, or -errno) and
# whether the call was answered (0 no, 1 yes, -errno: the answer failed),
# with the opened fd (SCM_RIGHTS) for a successful open.
    .intel_syntax noprefix
    .globl _start
    .set DATA_MAX, 262144
    .set BYTES, 64               # the request's 4096 bytes
    .set NUL, 4160
    .set IOV_IN, 4168            # two iovecs
    .set MSG_IN, 4200
    .set REPLY, 4256             # sequence, result, answered
    .set IOV_OUT, 4280
    .set CMSG_OUT, 4296
    .set MSG_OUT, 4320
    .set ADDFD, 4376
    .set SEND_IOV, 4400
    .set SEND_MSG, 4416
    .set RESP, 4472              # struct seccomp_notif_resp
    .set DATA, 4496              # the data buffer's address
    .set CMSG_IN, 4504           # room for 255 fds
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
    mov [rsp+DATA], rax
next:
    mov eax, 436                 # close_range(4, ~0, 0): the last
    mov edi, 4                   # request's fds are gone
    mov esi, -1
    xor edx, edx
    syscall
    lea rax, [rsp]
    mov [rsp+IOV_IN], rax        # iov_in[0] = the request
    mov qword ptr [rsp+IOV_IN+8], NUL
    mov rax, [rsp+DATA]
    mov [rsp+IOV_IN+16], rax     # iov_in[1] = the data buffer
    mov qword ptr [rsp+IOV_IN+24], DATA_MAX
    mov qword ptr [rsp+MSG_IN], 0    # msg.name
    mov qword ptr [rsp+MSG_IN+8], 0  # msg.namelen
    lea rax, [rsp+IOV_IN]
    mov [rsp+MSG_IN+16], rax     # msg.iov
    mov qword ptr [rsp+MSG_IN+24], 2 # msg.iovlen
    lea rax, [rsp+CMSG_IN]
    mov [rsp+MSG_IN+32], rax     # msg.control
    mov qword ptr [rsp+MSG_IN+40], 1040  # msg.controllen (CMSG_SPACE(255 * 4))
    mov qword ptr [rsp+MSG_IN+48], 0 # msg.flags
    mov qword ptr [rsp+CMSG_IN], 0   # cmsg_len: no fds unless some come
    mov byte ptr [rsp+NUL], 0    # the path is NUL-terminated whatever comes
    mov eax, 47                  # recvmsg(3, &msg, MSG_CMSG_CLOEXEC)
    mov edi, 3
    lea rsi, [rsp+MSG_IN]
    mov edx, 0x40000000
    syscall
    cmp rax, -4                  # EINTR
    je next
    test rax, rax
    jle done                     # EOF or error: the supervisor is gone
    mov r14, rax                 # the request's length
    xor r15d, r15d               # how many fds came
    cmp qword ptr [rsp+MSG_IN+40], 20
    jl counted
    mov r15, [rsp+CMSG_IN]       # (cmsg_len - 16) / 4
    sub r15, 16
    shr r15, 2
counted:
    mov rbx, -1                  # no fd goes back unless an open made one
    mov qword ptr [rsp+REPLY+16], 0  # not answered
    mov r13, -9                  # EBADF unless the fds are 4, 5, ...
    test r15, r15
    jz numbered
    cmp dword ptr [rsp+CMSG_IN+16], 4
    jne reply
    cmp r15, 2
    jl numbered
    cmp dword ptr [rsp+CMSG_IN+20], 5
    jne reply
numbered:
    mov r13, -22                 # EINVAL unless all is there
    cmp r14, BYTES
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
    cmp rax, 4
    je listener
    jmp reply
open:
    mov r13, -9                  # EBADF without an fd
    cmp r15, 1
    jl reply
    cmp r14, BYTES+1             # at least the NUL
    mov r13, -22
    jl reply
    mov eax, 437                 # openat2(4, path, &how, 24)
    mov edi, 4
    lea rsi, [rsp+BYTES]
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
    cmp r15, 1
    jl reply
    mov rax, [rsp+16]
    mov [rsp+ADDFD], rax         # addfd.id
    mov eax, [rsp+24]
    mov [rsp+ADDFD+8], eax       # addfd.flags
    mov dword ptr [rsp+ADDFD+12], 4  # addfd.srcfd
    mov dword ptr [rsp+ADDFD+16], 0  # addfd.newfd
    mov eax, [rsp+32]
    mov [rsp+ADDFD+20], eax      # addfd.newfd_flags
    mov eax, 16                  # ioctl(2, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd)
    mov edi, 2
    mov esi, 0x40182103
    lea rdx, [rsp+ADDFD]
    syscall
    mov r13, rax
    jmp reply
listener:
    mov r13, -9
    cmp r15, 1
    jl reply
    mov eax, 292                 # dup3(4, 2, O_CLOEXEC)
    mov edi, 4
    mov esi, 2
    mov edx, 0x80000
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
    lea rax, [rdx+BYTES]
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
    lea rsi, [rsp+BYTES]
    mov rdx, [rsp+16]
    syscall
    mov r13, rax
    test r12d, 0x800
    jnz answer
    mov eax, 72                  # fcntl(4, F_SETFL, flags)
    mov edi, 4
    mov esi, 4
    mov rdx, r12
    syscall
    jmp answer
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
    lea rax, [rdx+NUL]
    cmp r14, rax                 # all of it came
    jne reply
    mov rax, [rsp+DATA]
    mov [rsp+SEND_IOV], rax      # iov.base = the data
    mov [rsp+SEND_IOV+8], rdx    # iov.len
    mov qword ptr [rsp+SEND_MSG], 0  # msg.name
    mov rax, [rsp+24]
    mov [rsp+SEND_MSG+8], rax    # msg.namelen
    test rax, rax
    jz unnamed
    lea rax, [rsp+BYTES]
    mov [rsp+SEND_MSG], rax
unnamed:
    lea rax, [rsp+SEND_IOV]
    mov [rsp+SEND_MSG+16], rax   # msg.iov
    mov qword ptr [rsp+SEND_MSG+24], 1   # msg.iovlen
    mov qword ptr [rsp+SEND_MSG+32], 0   # msg.control
    mov qword ptr [rsp+SEND_MSG+40], 0   # msg.controllen
    mov qword ptr [rsp+SEND_MSG+48], 0   # msg.flags
    cmp r15, 2
    je uncontrolled
    mov rax, [rsp+CMSG_IN]       # fds 6...: their SCM_RIGHTS header is
    sub rax, 8                   # written over the first two's
    mov [rsp+CMSG_IN+8], rax     # cmsg_len
    mov dword ptr [rsp+CMSG_IN+16], 1    # SOL_SOCKET
    mov dword ptr [rsp+CMSG_IN+20], 1    # SCM_RIGHTS
    lea rcx, [rsp+CMSG_IN+8]
    mov [rsp+SEND_MSG+32], rcx
    mov [rsp+SEND_MSG+40], rax
uncontrolled:
    mov eax, 46                  # sendmsg(4, &msg, flags | MSG_DONTWAIT | MSG_NOSIGNAL)
    mov edi, 4
    lea rsi, [rsp+SEND_MSG]
    mov rdx, [rsp+16]
    or rdx, 0x4040
    syscall
    mov r13, rax
answer:
    mov rax, [rsp+40]            # the notification to answer, if any
    test rax, rax
    jz reply
    test r13, r13
    js reply
    cmp r13, [rsp+48]            # only a result this large
    jl reply
    mov [rsp+RESP], rax          # resp.id
    mov rax, r13
    add rax, [rsp+56]
    mov [rsp+RESP+8], rax        # resp.val = result + f
    mov qword ptr [rsp+RESP+16], 0   # resp.error, resp.flags
    mov eax, 16                  # ioctl(2, SECCOMP_IOCTL_NOTIF_SEND, &resp)
    mov edi, 2
    mov esi, 0xc0182101
    lea rdx, [rsp+RESP]
    syscall
    test rax, rax
    jnz answer_failed
    mov qword ptr [rsp+REPLY+16], 1
    jmp reply
answer_failed:
    mov [rsp+REPLY+16], rax
reply:
    mov rax, [rsp]               # the request's sequence number
    mov [rsp+REPLY], rax
    mov [rsp+REPLY+8], r13       # the result
    lea rax, [rsp+REPLY]
    mov [rsp+IOV_OUT], rax       # iov_out.base
    mov qword ptr [rsp+IOV_OUT+8], 24    # iov_out.len
    mov qword ptr [rsp+MSG_OUT], 0   # msg.name
    mov qword ptr [rsp+MSG_OUT+8], 0 # msg.namelen
    lea rax, [rsp+IOV_OUT]
    mov [rsp+MSG_OUT+16], rax    # msg.iov
    mov qword ptr [rsp+MSG_OUT+24], 1    # msg.iovlen
    mov qword ptr [rsp+MSG_OUT+32], 0    # msg.control (none without an fd)
    mov qword ptr [rsp+MSG_OUT+40], 0    # msg.controllen
    mov qword ptr [rsp+MSG_OUT+48], 0    # msg.flags
    test rbx, rbx
    js send
    mov qword ptr [rsp+CMSG_OUT], 20 # cmsg_len = CMSG_LEN(4)
    mov dword ptr [rsp+CMSG_OUT+8], 1    # SOL_SOCKET
    mov dword ptr [rsp+CMSG_OUT+12], 1   # SCM_RIGHTS
    mov [rsp+CMSG_OUT+16], ebx   # the fd
    lea rax, [rsp+CMSG_OUT]
    mov [rsp+MSG_OUT+32], rax
    mov qword ptr [rsp+MSG_OUT+40], 24   # CMSG_SPACE(4)
send:
    mov eax, 46                  # sendmsg(3, &msg, MSG_NOSIGNAL)
    mov edi, 3
    lea rsi, [rsp+MSG_OUT]
    mov edx, 0x4000
    syscall
    jmp next
done:
    mov eax, 231                 # exit_group(0)
    xor edi, edi
    syscall
