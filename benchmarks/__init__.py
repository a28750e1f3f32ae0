"""symgraph against PyTorch, TensorFlow, JAX and PyTensor on the same workloads.

    python -m benchmarks [--quick] [--only W2,W5] [--threads N] [--out DIR]

Not installed with the package: run it from the source tree (``symgraph
bench`` does that for you).  Nothing here is imported by symgraph.
"""
