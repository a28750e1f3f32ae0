from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent


def _version():
    for line in (ROOT / "symgraph" / "_version.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip("\"'")
    raise RuntimeError("no __version__ in symgraph/_version.py")


def _packages(folder, prefix):
    found = []
    for init in sorted((ROOT / folder).rglob("__init__.py")):
        rel = init.parent.relative_to(ROOT / folder).parts
        found.append(".".join((prefix,) + rel))
    return found


setup(
    name="symgraph",
    version=_version(),
    description="Theano-style symbolic compute graphs compiled to native code",
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=(
        _packages("symgraph", "symgraph")
        + _packages("backends", "symgraph.backends")
        + _packages("models", "symgraph.models")
    ),
    package_dir={
        "symgraph": "symgraph",
        "symgraph.backends": "backends",
        "symgraph.models": "models",
    },
    install_requires=[
        "numpy>=1.26",
        "scipy>=1.11",
        "llvmlite>=0.42",
        "sympy>=1.12",
        "gymnasium>=0.29",
        "scikit-learn>=1.3",
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "threadpoolctl>=3",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3"],
        "cuda": ["pycuda>=2022.2"],
        "bench": ["torch==2.13.0", "tensorflow-cpu", "jax", "pytensor", "threadpoolctl"],
    },
    entry_points={"console_scripts": ["symgraph=symgraph.cli:main"]},
)
