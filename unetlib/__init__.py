"""unetlib: the helper package of *From Convolution to U-Net*.

One module per idea, each small enough to read in one sitting:

- :mod:`unetlib.conv`: convolution in NumPy with PyTorch's arguments (loops and vectorised)
- :mod:`unetlib.kernels`: Sobel, Prewitt, Scharr, Laplacian, Gaussian, box, ... and image gradients
- :mod:`unetlib.viz`: figures and animations the chapters share
- :mod:`unetlib.diagram`: the U-Net drawn from the model, in the style of the paper's Fig. 1
- :mod:`unetlib.widgets`: interactive controls for Jupyter and Colab
- :mod:`unetlib.learn`: learning a convolution's kernels from examples
- :mod:`unetlib.model`: the U-Net, one module per box of the paper's Fig. 1, and its size arithmetic
- :mod:`unetlib.tiling`: overlap-tile prediction for images of any size
- :mod:`unetlib.losses`, :mod:`unetlib.metrics`: the paper's weight map, Dice, Rand error, object F1
- :mod:`unetlib.config`: every training setting in one checked, frozen :class:`~unetlib.config.TrainConfig`
- :mod:`unetlib.train`: the training loop and evaluation (also under torchrun)
- :mod:`unetlib.checkpoints`, :mod:`unetlib.prediction`: saving and loading safely; logits, probabilities, class maps
- :mod:`unetlib.recipes`: the book's named recipes and data splits, defined once
- :mod:`unetlib.distributed`, :mod:`unetlib.cli`, :mod:`unetlib.predict`: data-parallel training,
  ``python -m unetlib.train`` and ``python -m unetlib.predict``
- :mod:`unetlib.data`: generated pictures, the real image sets (verified downloads), augmentation
- :mod:`unetlib.exercises`: checks for the readers' answers
"""

from unetlib.conv import conv2d, conv2d_naive, conv_output_size, convolve2d, pad2d
from unetlib.model import UNet
from unetlib.tiling import predict_tiled

__version__ = "0.1.0"

__all__ = ["UNet", "conv2d", "conv2d_naive", "conv_output_size", "convolve2d", "pad2d", "predict_tiled"]
