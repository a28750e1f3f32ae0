"""2-D test functions with analytic gradients and Hessians, in NumPy and as symgraph expressions.

Each ``TestFunction`` has ``value(x, y)``, ``grad(x, y)`` (NumPy, broadcasting)
and ``symbolic(x, y)`` (a symgraph expression from the same formula), its
domain, and its known minima or critical points.
"""

from dataclasses import dataclass, field

import numpy as np

import symgraph.tensor as T


@dataclass
class TestFunction:
    name: str
    expr: callable             # works on NumPy arrays and symgraph variables alike
    gradient: callable
    hessian: callable
    domain: tuple              # ((xmin, xmax), (ymin, ymax))
    critical_points: list = field(default_factory=list)

    __test__ = False           # not a pytest class

    def value(self, x, y):
        return self.expr(np.asarray(x, dtype=float), np.asarray(y, dtype=float))

    def grad(self, x, y):
        return self.gradient(np.asarray(x, dtype=float), np.asarray(y, dtype=float))

    def symbolic(self, x, y):
        return self.expr(x, y)

    def grid(self, n=100):
        """(X, Y) meshgrid over the domain."""
        (a, b), (c, d) = self.domain
        return np.meshgrid(np.linspace(a, b, n), np.linspace(c, d, n))

    def sample(self, n, rng):
        (a, b), (c, d) = self.domain
        return np.stack([rng.uniform(a, b, n), rng.uniform(c, d, n)], axis=1)


def _rosen_grad(x, y):
    return np.stack([-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2)], axis=-1)


def _rosen_hess(x, y):
    return np.array([[2 - 400 * (y - 3 * x ** 2), -400 * x], [-400 * x, 200.0]])


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3


def _beale(x, y):
    a, b, c = _beale_terms(x, y)
    return a ** 2 + b ** 2 + c ** 2


def _beale_grad(x, y):
    a, b, c = _beale_terms(x, y)
    gx = 2 * a * (y - 1) + 2 * b * (y ** 2 - 1) + 2 * c * (y ** 3 - 1)
    gy = 2 * a * x + 4 * b * x * y + 6 * c * x * y ** 2
    return np.stack([gx, gy], axis=-1)


def _beale_hess(x, y):
    a, b, c = _beale_terms(x, y)
    hxx = 2 * (y - 1) ** 2 + 2 * (y ** 2 - 1) ** 2 + 2 * (y ** 3 - 1) ** 2
    hxy = (2 * x * (y - 1) + 2 * a + 4 * x * y * (y ** 2 - 1) + 4 * b * y
           + 6 * x * y ** 2 * (y ** 3 - 1) + 6 * c * y ** 2)
    hyy = 2 * x ** 2 + 8 * x ** 2 * y ** 2 + 4 * b * x + 18 * x ** 2 * y ** 4 + 12 * c * x * y
    return np.array([[hxx, hxy], [hxy, hyy]])


ROSENBROCK = TestFunction(
    "rosenbrock", lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, _rosen_grad, _rosen_hess,
    ((-2.0, 2.0), (-1.0, 3.0)), [(1.0, 1.0)])

BEALE = TestFunction("beale", _beale, _beale_grad, _beale_hess, ((-4.5, 4.5), (-4.5, 4.5)), [(3.0, 0.5)])

SADDLE = TestFunction(
    "saddle", lambda x, y: x ** 2 - y ** 2, lambda x, y: np.stack([2 * x, -2 * y], axis=-1),
    lambda x, y: np.array([[2.0, 0.0], [0.0, -2.0]]), ((-1.0, 1.0), (-1.0, 1.0)), [(0.0, 0.0)])

MONKEY_SADDLE = TestFunction(
    "monkey_saddle", lambda x, y: x ** 3 - 3 * x * y ** 2,
    lambda x, y: np.stack([3 * x ** 2 - 3 * y ** 2, -6 * x * y], axis=-1),
    lambda x, y: np.array([[6 * x, -6 * y], [-6 * y, -6 * x]]), ((-1.0, 1.0), (-1.0, 1.0)), [(0.0, 0.0)])



def _lib(x):
    """NumPy for arrays and numbers, the symgraph tensor namespace for symbolic variables."""
    return np if isinstance(x, (np.ndarray, np.generic, float, int)) else T


def _ackley(x, y):
    m = _lib(x)
    s = m.sqrt(0.5 * (x ** 2 + y ** 2))
    c = 0.5 * (m.cos(2 * np.pi * x) + m.cos(2 * np.pi * y))
    return -20 * m.exp(-0.2 * s) - m.exp(c) + np.e + 20


def _ackley_parts(x, y):
    s = np.sqrt(0.5 * (x ** 2 + y ** 2))
    safe = np.where(s > 0, s, 1.0)
    # the cone tip at the origin has no gradient; 0 is its symmetric subgradient
    a = np.where(s > 0, 2 * np.exp(-0.2 * s) / safe, 0.0)              # d(term 1)/dx = x a
    da = np.where(s > 0, np.exp(-0.2 * s) * (0.2 * s + 1) / safe ** 3, 0.0)   # da/dx = -x da
    ec = np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)))
    return a, da, ec


def _ackley_grad(x, y):
    a, _, ec = _ackley_parts(x, y)
    return np.stack([x * a + np.pi * np.sin(2 * np.pi * x) * ec,
                     y * a + np.pi * np.sin(2 * np.pi * y) * ec], axis=-1)


def _ackley_hess(x, y):
    a, da, ec = _ackley_parts(x, y)
    sx, sy, cx, cy = (np.sin(2 * np.pi * x), np.sin(2 * np.pi * y), np.cos(2 * np.pi * x),
                      np.cos(2 * np.pi * y))
    hxx = a - x ** 2 * da + np.pi ** 2 * ec * (2 * cx - sx ** 2)
    hyy = a - y ** 2 * da + np.pi ** 2 * ec * (2 * cy - sy ** 2)
    hxy = -x * y * da - np.pi ** 2 * sx * sy * ec
    return np.array([[hxx, hxy], [hxy, hyy]])


def _mccormick(x, y):
    return _lib(x).sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1


def _mccormick_grad(x, y):
    c = np.cos(x + y)
    return np.stack([c + 2 * (x - y) - 1.5, c - 2 * (x - y) + 2.5], axis=-1)


def _mccormick_hess(x, y):
    s = np.sin(x + y)
    return np.array([[2 - s, -2 - s], [-2 - s, 2 - s]])


# per coordinate the minimum is the smallest root of x^3 - 8 x + 1.25 (about -2.903534)
_ST_MIN = float(min(np.roots([1.0, 0.0, -8.0, 1.25]).real))

ACKLEY = TestFunction("ackley", _ackley, _ackley_grad, _ackley_hess, ((-5.0, 5.0), (-5.0, 5.0)), [(0.0, 0.0)])

STYBLINSKI_TANG = TestFunction(
    "styblinski_tang", lambda x, y: 0.5 * (x ** 4 - 16 * x ** 2 + 5 * x + y ** 4 - 16 * y ** 2 + 5 * y),
    lambda x, y: np.stack([2 * x ** 3 - 16 * x + 2.5, 2 * y ** 3 - 16 * y + 2.5], axis=-1),
    lambda x, y: np.array([[6 * x ** 2 - 16, 0 * x], [0 * x, 6 * y ** 2 - 16]]),
    ((-5.0, 5.0), (-5.0, 5.0)), [(_ST_MIN, _ST_MIN)])

# the gradient vanishes where cos(x + y) = -1/2 and x - y = 1; the minimum is at x + y = -2 pi / 3
MCCORMICK = TestFunction("mccormick", _mccormick, _mccormick_grad, _mccormick_hess, ((-1.5, 4.0), (-3.0, 4.0)),
                         [(0.5 - np.pi / 3, -0.5 - np.pi / 3)])

FUNCTIONS = {f.name: f for f in (ROSENBROCK, BEALE, SADDLE, MONKEY_SADDLE, ACKLEY, STYBLINSKI_TANG, MCCORMICK)}


def symbolic_point():
    """A symbolic 2-vector ``p`` and the pair ``(p[0], p[1])`` to feed ``f.symbolic``."""
    p = T.vector("p")
    return p, (p[0], p[1])
