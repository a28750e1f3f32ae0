"""The compile cache: object code on disk, keyed by a segment's structure (segment_key.py) or its IR.

Entries are written to a temporary file and renamed into place, so a reader
never sees half an entry and two processes compiling the same graph at once
both leave a valid file (the last rename wins).  Each entry carries the
SHA-256 of its payload; a truncated or corrupt one is reported once, removed
and rebuilt, never loaded.
"""

import hashlib
import os
import tempfile
import warnings

MAGIC = b"SYMGRAPH-OBJ-2\n"


class CacheCorruptionWarning(UserWarning):
    pass


class ObjectCache:
    def __init__(self, root):
        self.root = root
        self.warned = False

    @staticmethod
    def key(ir_text, target):
        """The key of code known only by its IR (segment_key.py keys segments without their IR)."""
        return hashlib.sha256(f"ir\n{target}\n{ir_text}".encode()).hexdigest()

    def path(self, key):
        return os.path.join(self.root, key[:2], key + ".o")

    def load(self, key):
        """The cached object code for ``key``, or None (missing or corrupt)."""
        path = self.path(key)
        try:
            with open(path, "rb") as fh:
                blob = fh.read()
        except OSError:
            return None
        head = len(MAGIC) + 32
        if blob[:len(MAGIC)] == MAGIC and len(blob) > head:
            digest, payload = blob[len(MAGIC):head], blob[head:]
            if hashlib.sha256(payload).digest() == digest:
                return payload
        self.discard(key)
        return None

    def discard(self, key):
        """Remove a corrupt entry (its payload checked out but its content does not), warning once."""
        path = self.path(key)
        if not self.warned:
            warnings.warn(f"symgraph compile cache: entry {path} is corrupt or truncated; rebuilding it",
                          CacheCorruptionWarning, stacklevel=4)
            self.warned = True
        try:
            os.remove(path)
        except OSError:
            pass

    def store(self, key, payload):
        path = self.path(key)
        directory = os.path.dirname(path)
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".o")
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except OSError:
            # A read-only or full cache directory only costs recompilation.
            pass


_cache = {}


def object_cache():
    """The cache under ``sg.config.compiledir`` (one instance per directory)."""
    from symgraph.config import config

    root = os.path.join(config.compiledir, "llvm")
    if root not in _cache:
        _cache[root] = ObjectCache(root)
    return _cache[root]
