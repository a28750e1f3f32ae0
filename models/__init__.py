"""Models, optimizers, agents and experiments of the reference papers (installed as symgraph.models)."""
