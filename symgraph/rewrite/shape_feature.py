"""The shape feature: symbolic shapes of every variable of a FunctionGraph.

Shapes come from each Op's ``infer_shape`` in terms of the graph's inputs, so
``x.shape`` of an intermediate never requires computing the intermediate.
They are computed lazily and cached; entries for replaced variables are
simply never asked for again.
"""

from ..graph.fg import Feature


class ShapeFeature(Feature):
    def on_attach(self, fgraph):
        self.cache = {}
        fgraph.shape_feature = self

    def on_detach(self, fgraph):
        del fgraph.shape_feature

    def shape_of(self, var):
        """A tuple of int64 scalars, or None when ``var`` is not a tensor."""
        from ..tensor.shape_inference import symbolic_shapes

        if var not in self.cache:
            symbolic_shapes([var], cache=self.cache)
        return self.cache.get(var)


def shape_feature(fgraph):
    """``fgraph``'s ShapeFeature, attached on first use."""
    feature = fgraph.get_feature(ShapeFeature)
    if feature is None:
        feature = ShapeFeature()
        fgraph.attach_feature(feature)
    return feature
