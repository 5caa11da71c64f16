#!/usr/bin/python3
"""Runs a command under the seccomp rules of a systemd unit, without systemd.

    unit_sandbox.py UNIT -- COMMAND [ARGS...]

Reads from UNIT (dist/systemd/koyomi.service) SystemCallFilter=,
SystemCallErrorNumber=, SystemCallArchitectures=native,
MemoryDenyWriteExecute= and RestrictAddressFamilies=, builds the filters
systemd would install for them (with libseccomp, as systemd does) and execs
COMMAND under them, with no_new_privs set. CI runs the server this way behind
a proxy (interop/proxy.sh), so that a system call the server needs and the
unit forbids fails a test here rather than a production start.

What systemd does with namespaces and mounts (ProtectSystem=, PrivateUsers=,
...) is not reproduced: those need systemd, or root and a mount namespace.
The filters follow systemd 252 (src/shared/seccomp-util.c): an allow list of
the named groups less the ~ lists, failing others with the errno given;
mmap with PROT_WRITE|PROT_EXEC, mprotect and pkey_mprotect adding PROT_EXEC,
and shmat with SHM_EXEC refused with EPERM; socket() of any other family
refused with EAFNOSUPPORT.
"""

import errno
import os
import socket
import subprocess
import sys

import seccomp

PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000


def settings(path):
    """The [Service] assignments of a unit file, each key's values in order."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]" and "=" in line:
                key, value = line.split("=", 1)
                out.setdefault(key.strip(), []).append(value.strip())
    return out


def expand(name):
    """The system calls a name stands for: a group (@...) expanded with
    systemd-analyze, so the groups are this systemd's, or the call itself."""
    if not name.startswith("@"):
        return {name}
    listing = subprocess.run(["systemd-analyze", "syscall-filter", name],
                             capture_output=True, text=True, check=True).stdout
    calls = set()
    for line in listing.splitlines()[1:]:
        line = line.strip()
        if line and not line.startswith("#"):
            calls |= expand(line)
    return calls


def syscall_filter(unit):
    """The allow-list filter: every call not allowed fails with the unit's
    errno (systemd kills the process when none is given; so do we)."""
    allowed, denied = set(), set()
    for value in unit.get("SystemCallFilter", []):
        deny = value.startswith("~")
        names = set()
        for name in value.lstrip("~").split():
            names |= expand(name)
        (denied if deny else allowed).update(names)
    if not allowed:
        sys.exit("unit_sandbox: the unit has no SystemCallFilter= allow list")
    err = unit.get("SystemCallErrorNumber", [None])[-1]
    default = seccomp.ERRNO(getattr(errno, err)) if err else seccomp.KILL_PROCESS
    f = seccomp.SyscallFilter(defaction=default)
    count = 0
    for name in sorted(allowed - denied):
        try:
            f.add_rule(seccomp.ALLOW, name)
            count += 1
        except (RuntimeError, ValueError):
            pass  # a name this architecture or libseccomp does not know
    if unit.get("SystemCallArchitectures", [""])[-1] != "native":
        sys.exit("unit_sandbox: only SystemCallArchitectures=native is supported")
    return f, count


def write_execute_filter():
    """MemoryDenyWriteExecute=yes, as systemd installs it."""
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    both = PROT_WRITE | PROT_EXEC
    f.add_rule(deny, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, both, both))
    f.add_rule(deny, "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    f.add_rule(deny, "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    f.add_rule(deny, "shmat", seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
    return f


def address_family_filter(families):
    """RestrictAddressFamilies= with an allow list: socket() of any other
    family fails with EAFNOSUPPORT."""
    allowed = {getattr(socket, name) for name in families}
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EAFNOSUPPORT)
    top = max(allowed)
    for family in range(top):
        if family not in allowed:
            f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.EQ, family))
    f.add_rule(deny, "socket", seccomp.Arg(0, seccomp.GT, top))
    return f


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__.split("\n\n")[1])
    unit = settings(sys.argv[1])
    filters = []
    allow, count = syscall_filter(unit)
    filters.append(allow)
    notes = ["%d system calls allowed" % count]
    if unit.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        filters.append(write_execute_filter())
        notes.append("no writable executable memory")
    families = unit.get("RestrictAddressFamilies", [])
    if families:
        names = families[-1].split()
        if names[0].startswith("~"):
            sys.exit("unit_sandbox: only an allow list of RestrictAddressFamilies= is supported")
        filters.append(address_family_filter(names))
        notes.append("sockets: " + " ".join(names))
    # The allow list goes last: once it is loaded, the seccomp() call that
    # would load another filter may itself be forbidden.
    for f in reversed(filters):
        f.load()  # libseccomp sets no_new_privs first
    sys.stderr.write("unit_sandbox: %s\n" % "; ".join(notes))
    os.execv(sys.argv[3], sys.argv[3:])


main()
