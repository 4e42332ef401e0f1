"""Forbid a process to create sockets: a seccomp filter, the network barrier that needs no privilege.

The launcher's network namespace already leaves student code without a network, but a container
may refuse namespaces (no ``CAP_SYS_ADMIN``). A seccomp filter needs only ``no_new_privs``: once
:func:`forbid_sockets` has run, ``socket()`` and ``io_uring_setup()`` fail with EPERM in this process
and in every process it starts, and so do all 32-bit and x32 system calls (a 64-bit Python never
makes them; they would be a way around the filter). Linux on x86_64 and aarch64 only; elsewhere it
does nothing and says so.

The standard library only: the launcher imports this module by file name.
"""

import ctypes
import platform
import struct

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
# Per machine: the audit architecture seccomp reports, and the numbers of socket and io_uring_setup.
ARCHES = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}
X32_BIT = 0x40000000  # x86_64's x32 system calls have this bit set
# Classic BPF opcodes.
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
RET_K = 0x06


def _filter(arch, socket_nr, io_uring_nr):
    """The BPF program: allow every system call but these; EPERM for them and for other ABIs."""
    deny = SECCOMP_RET_ERRNO | EPERM
    program = [
        (LD_W_ABS, 0, 0, 4),  # A = seccomp_data.arch
        (JEQ_K, 0, 5, arch),  # another ABI: deny
        (LD_W_ABS, 0, 0, 0),  # A = seccomp_data.nr
        (JGE_K, 3, 0, X32_BIT),  # x32: deny
        (JEQ_K, 2, 0, socket_nr),
        (JEQ_K, 1, 0, io_uring_nr),
        (RET_K, 0, 0, SECCOMP_RET_ALLOW),
        (RET_K, 0, 0, deny),
    ]
    return b"".join(struct.pack("HBBI", *instruction) for instruction in program), len(program)


def forbid_sockets():
    """Install the filter in this process (and all it starts); return None, or why it could not."""
    numbers = ARCHES.get(platform.machine())
    if numbers is None:
        return f"no seccomp filter for {platform.machine()}"
    code, length = _filter(*numbers)
    buffer = ctypes.create_string_buffer(code, len(code))
    program = struct.pack("HxxxxxxP", length, ctypes.addressof(buffer))
    program_buffer = ctypes.create_string_buffer(program, len(program))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "no_new_privs was refused"
        if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, program_buffer, 0, 0) != 0:
            return f"seccomp was refused (errno {ctypes.get_errno()})"
    except (OSError, AttributeError) as exc:
        return str(exc)
    return None
