"""Philox4x32-10, the counter-based generator behind every random draw.

A draw is a pure function of (key, counter): block ``i`` of a draw is
``philox(key, counter + i)``, four 32-bit words.  Backends reproduce the same
bits from the same state, so a seed gives the same numbers everywhere.
(Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011.)
"""

import numpy as np

M0 = np.uint64(0xD2511F53)
M1 = np.uint64(0xCD9E8D57)
W0 = np.uint32(0x9E3779B9)
W1 = np.uint32(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
ROUNDS = 10


def philox4x32(key, counter, n_blocks):
    """``n_blocks`` blocks of 4 uint32 words, as an array of shape (n_blocks, 4).

    ``key`` is a 64-bit int (two 32-bit key words); block ``i`` uses the
    128-bit counter ``(counter + i, 0)`` split into four words.
    """
    ctr = np.uint64(counter) + np.arange(n_blocks, dtype=np.uint64)
    c0 = (ctr & MASK32).astype(np.uint32)
    c1 = (ctr >> np.uint64(32)).astype(np.uint32)
    c2 = np.zeros(n_blocks, dtype=np.uint32)
    c3 = np.zeros(n_blocks, dtype=np.uint32)
    k0 = np.uint32(int(key) & 0xFFFFFFFF)
    k1 = np.uint32((int(key) >> 32) & 0xFFFFFFFF)
    with np.errstate(over="ignore"):
        for _ in range(ROUNDS):
            p0 = c0.astype(np.uint64) * M0
            p1 = c2.astype(np.uint64) * M1
            hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), (p0 & MASK32).astype(np.uint32)
            hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), (p1 & MASK32).astype(np.uint32)
            c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
            k0 = k0 + W0
            k1 = k1 + W1
    return np.stack([c0, c1, c2, c3], axis=1)


def words_needed(n, dtype):
    """32-bit words consumed per value: one for float32, two for float64."""
    return n * (2 if np.dtype(dtype) == np.float64 else 1)


def uniform01(key, counter, n, dtype):
    """``n`` uniforms in [0, 1) and the number of blocks consumed.

    float32 uses the top 24 bits of a word; float64 the top 53 bits of two.
    """
    n_words = words_needed(n, dtype)
    n_blocks = (n_words + 3) // 4
    words = philox4x32(key, counter, n_blocks).reshape(-1)[:n_words]
    if np.dtype(dtype) == np.float64:
        hi = (words[0::2] >> np.uint32(5)).astype(np.float64)
        lo = (words[1::2] >> np.uint32(6)).astype(np.float64)
        values = (hi * 67108864.0 + lo) * (1.0 / 9007199254740992.0)
    else:
        values = (words >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return values.astype(dtype, copy=False), n_blocks


def splitmix64(x):
    """A 64-bit mixing function: nearby seeds give unrelated keys."""
    mask = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)
