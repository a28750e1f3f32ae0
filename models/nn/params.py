"""``Params``: a named, ordered collection of shared parameters with freezing and snapshots."""

import numpy as np

import symgraph as sg


class Params:
    """Named shared variables in creation order.

    ``list()`` gives the trainable ones (what an optimizer should update);
    frozen parameters stay in ``all()`` and in snapshots.
    """

    def __init__(self):
        self._by_name: dict = {}
        self._frozen: set = set()

    def add(self, name: str, value) -> "sg.SharedVariable":
        """Create a shared variable named ``name`` holding ``value``."""
        return self.register(sg.shared(np.asarray(value), name=name))

    def register(self, shared, name=None):
        name = name or shared.name
        if name in self._by_name:
            raise ValueError(f"Params: a parameter named {name!r} already exists")
        self._by_name[name] = shared
        return shared

    def extend(self, other: "Params", prefix: str = ""):
        """Take in every parameter of ``other`` (keeping its frozen marks), names prefixed."""
        for name, p in other.items():
            self.register(p, prefix + name)
            if other.is_frozen(p):
                self._frozen.add(prefix + name)
        return self

    # ---- views --------------------------------------------------------------------------------

    def items(self):
        return list(self._by_name.items())

    def all(self):
        return list(self._by_name.values())

    def list(self):
        """Trainable (not frozen) parameters."""
        return [p for n, p in self._by_name.items() if n not in self._frozen]

    def __iter__(self):
        return iter(self.list())

    def __len__(self):
        return len(self._by_name)

    def __getitem__(self, name):
        return self._by_name[name]

    def count(self, trainable_only: bool = False) -> int:
        """Number of scalar parameters."""
        ps = self.list() if trainable_only else self.all()
        return int(sum(p.get_value().size for p in ps))

    # ---- freezing -----------------------------------------------------------------------------

    def freeze(self, *which):
        """Exclude parameters (names or shared variables; all when none given) from ``list()``."""
        self._frozen.update(self._names(which))
        return self

    def unfreeze(self, *which):
        self._frozen.difference_update(self._names(which))
        return self

    def is_frozen(self, p) -> bool:
        return self._names([p])[0] in self._frozen

    # ---- values -------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """A copy of every value, by name."""
        return {n: p.get_value().copy() for n, p in self._by_name.items()}

    def restore(self, snapshot: dict):
        missing = set(self._by_name) - set(snapshot)
        if missing:
            raise KeyError(f"Params.restore: snapshot lacks {sorted(missing)}")
        for n, p in self._by_name.items():
            p.set_value(np.array(snapshot[n], dtype=p.get_value().dtype))

    def flat(self) -> np.ndarray:
        """All values concatenated into one vector (in order)."""
        return np.concatenate([p.get_value().ravel() for p in self.all()]) if self._by_name else np.zeros(0)

    def _names(self, which):
        if not which:
            return list(self._by_name)
        out = []
        for w in which:
            if isinstance(w, str):
                if w not in self._by_name:
                    raise KeyError(f"Params: no parameter named {w!r}")
                out.append(w)
            else:
                names = [n for n, p in self._by_name.items() if p is w]
                if not names:
                    raise KeyError(f"Params: {w} is not in this collection")
                out.append(names[0])
        return out
