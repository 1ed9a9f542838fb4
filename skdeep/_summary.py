"""The table ``summary()`` returns, printed like Keras' ``model.summary()``."""

import pandas as pd


class NetworkSummary(pd.DataFrame):
    """The table ``summary()`` returns: one row per layer.

    A DataFrame with columns ``layer``, ``output_shape``, ``params`` and
    ``trainable``, printed like Keras' ``model.summary()`` with the totals.
    """

    @property
    def _constructor(self):
        # Slices and computations give plain DataFrames.
        return pd.DataFrame

    @property
    def total_params(self):
        return int(self["params"].sum())

    @property
    def trainable_params(self):
        return int(self.loc[self["trainable"].astype(bool), "params"].sum())

    def __repr__(self):
        header = ("Layer (type)", "Output Shape", "Param #", "Trainable")
        rows = [
            (
                r.layer,
                str(r.output_shape),
                f"{r.params:,}",
                "yes" if r.trainable else "no",
            )
            for r in self.itertuples()
        ]
        widths = [max(len(row[i]) for row in [header, *rows]) + 2 for i in range(4)]

        def line(cells):
            return " " + "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        rule = "=" * (sum(widths) + 1)
        total, trainable = self.total_params, self.trainable_params
        return "\n".join(
            [
                line(header),
                rule,
                *(line(row) for row in rows),
                rule,
                f"Total params: {total:,}",
                f"Trainable params: {trainable:,}",
                f"Non-trainable params: {total - trainable:,}",
            ]
        )

    __str__ = __repr__

    def _repr_html_(self):
        return pd.DataFrame(self)._repr_html_()


def summarize(network):
    """The :class:`NetworkSummary` of a built ``Sequential`` network."""
    return NetworkSummary(
        network.summary_rows(),
        columns=["layer", "output_shape", "params", "trainable"],
    )


__all__ = ["NetworkSummary", "summarize"]
