"""Tutorial: logistic regression trained by gradient descent.

Run it with ``python tutorials/logistic_regression.py``.  It builds the model
symbolically, asks symgraph for the gradient, compiles one training step
(which updates the weights stored in shared variables) and prints the loss
falling as training goes on.
"""

import numpy as np

import symgraph as sg
import symgraph.tensor as T


def make_data(rng, n=400, features=5):
    """Two Gaussian classes whose means differ along a random direction."""
    direction = rng.standard_normal(features)
    direction *= 1.5 / np.linalg.norm(direction)  # class means 3 standard deviations apart
    labels = rng.integers(0, 2, size=n)
    points = rng.standard_normal((n, features)) + np.outer(2 * labels - 1, direction)
    return points, labels.astype("float64")


def build(features, learning_rate=0.5):
    x = T.dmatrix("x")
    y = T.dvector("y")
    w = sg.shared(np.zeros(features), name="w")
    b = sg.shared(0.0, name="b")
    p = T.sigmoid(T.dot(x, w) + b)                        # probability of class 1
    loss = -T.mean(y * T.log(p) + (1 - y) * T.log(1 - p))  # cross-entropy
    gw, gb = sg.grad(loss, [w, b])
    train = sg.function([x, y], loss, updates=[(w, w - learning_rate * gw),
                                               (b, b - learning_rate * gb)])
    predict = sg.function([x], p > 0.5)
    return train, predict


def main(steps=200, report_every=20, seed=0):
    rng = np.random.default_rng(seed)
    points, labels = make_data(rng)
    train, predict = build(points.shape[1])
    losses = []
    for step in range(steps + 1):
        loss = float(train(points, labels))
        losses.append(loss)
        if step % report_every == 0:
            print(f"step {step:4d}  loss {loss:.4f}")
    accuracy = float(np.mean(predict(points) == labels))
    print(f"training accuracy {accuracy:.3f}")
    return losses, accuracy


if __name__ == "__main__":
    main()
