"""Process-group helpers shared by uno_driver.py (system Python) and the test API.

Every soffice is started with ``start_new_session=True``, so the launcher,
oosplash and soffice.bin share one new process group whose id is the
launcher's pid and which holds nothing else.  Only that group is ever
signalled.  Plain standard library, no ``uno``.
"""

import os
import signal
import stat
import time


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_group_gone(pgid, seconds, proc=None):
    """Wait until no process of the group is left (reaping ``proc`` if given)."""
    deadline = time.monotonic() + seconds
    while True:
        if proc is not None:
            proc.poll()
        if not group_alive(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def group_pids(pgid):
    pids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return pids
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rfind(")") + 2:].split()
        # fields: state ppid pgrp ...
        if len(fields) > 2 and fields[2] == str(pgid):
            pids.append(int(entry))
    return pids


def osl_sockets(pgid):
    """Paths of the OSL_PIPE_* socket files the group's processes have open.

    LibreOffice's pipes live in /tmp whatever TMPDIR says; a killed soffice
    leaves them behind, so callers remove them once the group is gone.
    """
    inodes = set()
    for pid in group_pids(pgid):
        fd_dir = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    paths = set()
    if not inodes:
        return paths
    try:
        with open("/proc/net/unix") as fh:
            next(fh, None)
            for line in fh:
                parts = line.split()
                if len(parts) >= 8 and parts[6] in inodes and \
                        os.path.basename(parts[7]).startswith("OSL_PIPE_"):
                    paths.add(parts[7])
    except OSError:
        pass
    return paths


def remove_sockets(paths):
    for path in paths:
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)
        except OSError:
            pass


def end_group(pgid, proc=None, term_wait=10.0):
    """SIGTERM the group, SIGKILL what is left after ``term_wait`` seconds,
    then remove the socket files it had open.  Returns True when it is gone."""
    sockets = osl_sockets(pgid)
    kill_group(pgid, signal.SIGTERM)
    if not wait_group_gone(pgid, term_wait, proc):
        sockets |= osl_sockets(pgid)
        kill_group(pgid, signal.SIGKILL)
        wait_group_gone(pgid, 10, proc)
    if proc is not None:
        try:
            proc.wait(timeout=5)
        except Exception:
            pass
    gone = not group_alive(pgid)
    if gone:
        remove_sockets(sockets)
    return gone
