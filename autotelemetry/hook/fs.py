"""Our files and directories, and the checks that make them ours.

Host side (``os`` and ``sys`` only; ``stat`` is imported when a directory is
checked): state directories are created private (0700) and refused when they
are symlinks, not directories, or owned by another user.
"""

import os


def ensure_private_dir(path: str) -> str:
    """Create ``path`` (and parents) as 0700 if missing, then check it is safe.

    A directory that is a symlink or owned by another user is refused rather than
    followed: another account could otherwise read or plant our files.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    import stat as _stat

    if _stat.S_ISLNK(st.st_mode):
        raise OSError(f"{path} is a symlink; refusing to follow it")
    if not _stat.S_ISDIR(st.st_mode):
        raise OSError(f"{path} exists and is not a directory")
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        raise OSError(f"{path} is owned by another user (uid {st.st_uid})")
    if st.st_mode & 0o077 and getuid is not None:
        os.chmod(path, 0o700)
    return path


def write_file(path: str, data: bytes) -> None:
    """Put ``data`` at ``path`` atomically: a reader sees the old file or the new one, whole.

    Written first to ``.<name>.<random>.tmp`` beside it (an unpredictable name,
    created ``O_EXCL|O_NOFOLLOW`` and 0600, so a planted file or symlink can
    never be written through), then renamed over ``path``. Readers skip and
    eventually delete names that start with ``.`` and end with ``.tmp``.
    Raises ``OSError``; never leaves a partial file under ``path``.
    """
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, "." + name + "." + os.urandom(6).hex() + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
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
