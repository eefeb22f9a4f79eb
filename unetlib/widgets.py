"""Interactive controls for Jupyter and Colab: change the numbers, watch the figure follow.

The figures are drawn by :mod:`unetlib.viz` into PNG images, shown in an ``ipywidgets.HTML``
``<img>`` with alt text that describes the current settings, so the same code draws the book's
static figures and the live ones. In the rendered book the
controls show their first state only (there is no Python behind the page to redraw them);
each chapter pairs them with an animation that plays without a kernel.
"""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

from unetlib._checks import integer
from unetlib.conv import conv_output_size
from unetlib.viz import draw_conv_arithmetic

__all__ = ["ConvArithmeticExplorer"]


class ConvArithmeticExplorer(widgets.VBox):
    """Sliders for input size, kernel size, padding, stride and dilation, with the figure and
    the output-size formula (numbers filled in) redrawn on every change.

    A sixth slider steps the window through the output positions. Settings with no valid output
    (the dilated kernel does not fit in the padded input) show the reason instead of a figure.

    Args:
        size, kernel_size, padding, stride, dilation: the starting values (ints).

    Example:
        >>> explorer = ConvArithmeticExplorer(size=5, kernel_size=3, padding=1)
        >>> explorer.output_size
        5
        >>> explorer.sliders["stride"].value = 2
        >>> explorer.output_size
        3
    """

    _LIMITS = {"size": (1, 12), "kernel_size": (1, 7), "padding": (0, 4), "stride": (1, 4), "dilation": (1, 4)}

    def __init__(
        self, size: int = 5, kernel_size: int = 3, padding: int = 0, stride: int = 1, dilation: int = 1
    ) -> None:
        start = {"size": size, "kernel_size": kernel_size, "padding": padding, "stride": stride, "dilation": dilation}
        self.sliders: dict[str, widgets.IntSlider] = {}
        for name, value in start.items():
            low, high = self._LIMITS[name]
            integer(value, name, minimum=low, maximum=high, hint=" (the explorer's range)")
            self.sliders[name] = widgets.IntSlider(
                value=value,
                min=low,
                max=high,
                description=name.replace("_", " "),
                style={"description_width": "7em"},
                continuous_update=False,
            )
        self.position = widgets.IntSlider(
            value=0,
            min=0,
            max=0,
            description="output pixel",
            style={"description_width": "7em"},
            continuous_update=False,
        )
        self.formula = widgets.HTML()
        self.figure = widgets.HTML()
        self.output_size: int | None = None
        for slider in self.sliders.values():
            slider.observe(self._settings_changed, names="value")
        self.position.observe(self._redraw, names="value")
        super().__init__(
            [
                widgets.HBox(
                    [
                        widgets.VBox(list(self.sliders.values())[:3]),
                        widgets.VBox(list(self.sliders.values())[3:] + [self.position]),
                    ]
                ),
                self.formula,
                self.figure,
            ]
        )
        self._settings_changed()

    def _values(self) -> dict[str, int]:
        return {name: slider.value for name, slider in self.sliders.items()}

    def _settings_changed(self, change=None) -> None:
        v = self._values()
        numerator = f"{v['size']} + 2&middot;{v['padding']} &minus; {v['dilation']}&middot;({v['kernel_size']} &minus; 1) &minus; 1"
        try:
            self.output_size = conv_output_size(v["size"], v["kernel_size"], v["stride"], v["padding"], v["dilation"])
        except ValueError as error:
            self.output_size = None
            self.formula.value = f"<b>No output:</b> {error}"
            self.figure.value = ""
            return
        self.formula.value = (
            f"output size = &lfloor;({numerator}) / {v['stride']}&rfloor; + 1 = <b>{self.output_size}</b>"
        )
        # Changing the maximum may move the value; redraw once, after both are set.
        with self.position.hold_trait_notifications():
            self.position.max = self.output_size**2 - 1
            self.position.value = min(self.position.value, self.position.max)
        self._redraw()

    def _redraw(self, change=None) -> None:
        if self.output_size is None:
            return
        v = self._values()
        row, col = divmod(self.position.value, self.output_size)
        in_cells = v["size"] + 2 * v["padding"]
        figure = Figure(figsize=(0.3 * (in_cells + self.output_size) + 1.2, 0.3 * in_cells + 0.7))
        ax_input, ax_output = figure.subplots(1, 2, gridspec_kw={"width_ratios": [in_cells, max(self.output_size, 3)]})
        draw_conv_arithmetic(ax_input, ax_output, position=(row, col), **v)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        n = self.output_size
        alt = (
            f"A {v['size']}x{v['size']} input with padding {v['padding']} and a {v['kernel_size']}x"
            f"{v['kernel_size']} kernel, stride {v['stride']}, dilation {v['dilation']}: the window "
            f"for output pixel ({row}, {col}) of the {n}x{n} output."
        )
        self.figure.value = f'<img src="data:image/png;base64,{png}" alt="{alt}">'
