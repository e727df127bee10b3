"""The one trusted open of every file and directory we use (SPEC law 6; docs/security.md)."""

# Host side and tool side alike open our files only here. A path is used when it is
# ours: not a symlink (O_NOFOLLOW; lstat for directories), of the expected type (fstat
# on a descriptor opened O_NONBLOCK|O_NOCTTY: a FIFO or a device at any of our paths
# never blocks the host), owned by the effective user ("shared": the per-environment
# files under sys.prefix, which root may own), not writable by group or others; a file
# written in place has one link. Anything else raises refused(): an OSError whose errno
# is REFUSED (strerror: why; filename: the path), never repaired, tightened or followed.
# (Not an exception class: creating a class costs every importing host ~0.1M instructions.)
# Files with content appear whole by write_file (an unpredictable name,
# O_CREAT|O_EXCL|O_NOFOLLOW, 0600, then a rename); empty ones (markers, stamps, the lock,
# a new log or store) by an exclusive create at their name. Directories are created 0700,
# missing parents too. `os` only; every byte here is paid by each bystander's import, so
# the explanations are comments (not in the .pyc), not docstrings.

import os

_FS_FLAGS = (
    getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)
_FS_WRITING = os.O_WRONLY | os.O_RDWR
_fs_euid = getattr(os, "geteuid", None)  # None on Windows: no owners, no mode bits


#: The errno of the OSError that refuses a path that is not ours (never an OS errno).
REFUSED = -1


def refused(path: str, why: str) -> OSError:
    """The error for ``path``, not ours because it ``why`` (``is a symlink``, ...)."""
    return OSError(REFUSED, why, path)


def refusal(st: "os.stat_result", directory: bool = False, shared: bool = False) -> "str | None":
    """Why the ``lstat``/``fstat`` result ``st`` is not ours, or ``None``."""
    kind = st.st_mode & 0o170000
    if kind != (0o040000 if directory else 0o100000):
        if kind == 0o120000:
            return "is a symlink"
        return "is not a directory" if directory else "is not a regular file"
    if _fs_euid is None:
        return None
    uid = st.st_uid
    if uid != _fs_euid() and not (shared and uid == 0):
        return "is owned by another user (uid %d)" % uid
    if st.st_mode & 0o022:
        who = "world" if st.st_mode & 0o002 else "group"
        return "is %s-writable (mode %03o)" % (who, st.st_mode & 0o777)
    return None


def _fs_error(path: str, exc: OSError) -> OSError:
    # What an open meeting something else than a file says: ELOOP (EMLINK on FreeBSD) is
    # O_NOFOLLOW on a symlink, ENXIO a FIFO without reader or a socket, EISDIR a directory.
    import errno  # loaded at every interpreter start (by site): a dictionary lookup

    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return refused(path, "is a symlink")
    if exc.errno in (errno.ENXIO, errno.EISDIR):
        return refused(path, "is not a regular file")
    return exc


def private_dir(path: str, create: bool = True) -> str:
    """``path`` if it is a directory of ours; created 0700 (parents too) if missing."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            raise
        _fs_mkdirs(path)
        st = os.lstat(path)
    why = refusal(st, True)
    if why is not None:
        raise refused(path, why)
    return path


def _fs_mkdirs(path: str) -> None:
    # mkdir(0o700): a umask can only take bits away, never add others'; our own are
    # restored if it took them. A concurrent creator's directory is checked by the caller.
    try:
        os.mkdir(path, 0o700)
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if not parent or parent == path:
            raise
        _fs_mkdirs(parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            return
    except FileExistsError:
        return
    if os.lstat(path).st_mode & 0o700 != 0o700:
        os.chmod(path, 0o700)


def open_file(
    path: str, flags: int = os.O_RDONLY, create: bool = False, shared: bool = False
) -> "tuple[int, os.stat_result]":
    """(fd, fstat) of the file of ours at ``path``; ``create``: made empty, 0600, exclusively."""
    # Raises FileNotFoundError (missing and not created), refused(), OSError.
    try:
        fd = os.open(path, flags | _FS_FLAGS)
    except FileNotFoundError:
        if not create:
            raise
        try:
            fd = os.open(path, flags | _FS_FLAGS | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created meanwhile: open and check it
            return open_file(path, flags, False, shared)
        except OSError as exc:
            raise _fs_error(path, exc) from None
    except OSError as exc:
        raise _fs_error(path, exc) from None
    try:
        st = os.fstat(fd)
        why = refusal(st, False, shared)
        if why is None and flags & _FS_WRITING and st.st_nlink != 1:
            why = "has other hard links"
        if why is not None:
            raise refused(path, why)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_file(path: str, limit: int = 1 << 20, shared: bool = False) -> "bytes | None":
    """The content of the file of ours at ``path``; ``None`` when there is none."""
    # Raises refused() (also when larger than ``limit``) or OSError.
    try:
        fd, st = open_file(path, os.O_RDONLY, False, shared)
    except FileNotFoundError:
        return None
    try:
        size = st.st_size
        if size > limit:
            big = "%d MiB" % (limit >> 20) if limit >= 1 << 20 else "%d bytes" % limit
            raise refused(path, "is larger than " + big)
        data = os.read(fd, size)
        while len(data) < size:  # a short read: on to the size fstat saw
            more = os.read(fd, size - len(data))
            if not more:
                break
            data += more
        return data
    finally:
        os.close(fd)


def make_file(path: str) -> bool:
    """Create the empty file ``path`` exclusively: ``False`` if one of ours is there."""
    # Markers and claims. Raises refused() when what is there is not ours, OSError.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FS_FLAGS, 0o600))
        return True
    except FileExistsError:
        why = refusal(os.lstat(path))
        if why is not None:
            raise refused(path, why) from None
        return False


def touch_file(path: str, when: float) -> None:
    """Set the mtime of the stamp ``path`` (created empty if missing) to ``when``."""
    fd = open_file(path, os.O_WRONLY, True)[0]
    try:
        if os.utime in os.supports_fd:
            os.utime(fd, (when, when))
        else:
            os.utime(path, (when, when))
    finally:
        os.close(fd)


def write_file(path: str, data: bytes, mode: int = 0o600) -> None:
    """Put ``data`` at ``path`` atomically (the old file or the new one, whole)."""
    # Written to ".<name>.<64 random bits>.tmp" beside it, created O_EXCL|O_NOFOLLOW 0600
    # (a planted file or symlink is never written through), then renamed over ``path``
    # (a rename replaces what is there, never follows it). Readers skip and eventually
    # delete ".*.tmp" names. Raises OSError; never leaves a partial file under ``path``.
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, "." + name + "." + os.urandom(8).hex() + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FS_FLAGS, 0o600)
    try:
        try:
            if mode != 0o600 and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
