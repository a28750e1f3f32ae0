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

FUNCTIONS = {f.name: f for f in (ROSENBROCK, BEALE, SADDLE, MONKEY_SADDLE)}


def symbolic_point():
    """A symbolic 2-vector ``p`` and the pair ``(p[0], p[1])`` to feed ``f.symbolic``."""
    p = T.vector("p")
    return p, (p[0], p[1])
