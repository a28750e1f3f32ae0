"""The workloads, one module each; ``WORKLOADS`` maps the short name to the module."""

WORKLOADS = {
    "W1": "w1_overhead",
    "W2": "w2_elemwise",
    "W3": "w3_reduce",
    "W4": "w4_mlp",
    "W5": "w5_lstm",
    "W6": "w6_lenet",
    "W7": "w7_compile",
    "W8": "w8_hvp",
    "W9": "w9_models",
}
