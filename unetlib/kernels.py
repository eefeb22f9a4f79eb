"""Classic hand-designed kernels, and the image gradients they measure.

Every function returns a fresh float64 array, meant for :func:`unetlib.conv.conv2d`, which
(like PyTorch) computes a cross-correlation: the kernel is laid on the image as printed.

Edge kernels are named by the edges they find, as in scikit-image: ``sobel_vertical`` responds
to *vertical* edges (intensity changing from left to right), and
``conv2d(image, sobel_vertical()) / 4`` equals ``skimage.filters.sobel_v(image)`` away from the
border. Scikit-image divides by the sum of the positive weights (4 for Sobel, 3 for Prewitt,
16 for Scharr); the kernels here keep the integer weights you would write by hand.
"""

from __future__ import annotations

import numpy as np

from unetlib._checks import choice, integer, number, real_array
from unetlib.conv import conv2d

__all__ = [
    "box",
    "gaussian",
    "gradient_direction",
    "gradient_magnitude",
    "identity",
    "image_gradients",
    "laplacian",
    "prewitt_horizontal",
    "prewitt_vertical",
    "scharr_horizontal",
    "scharr_vertical",
    "sharpen",
    "sobel_horizontal",
    "sobel_vertical",
]

#: The largest kernel side the functions here make (a 1001 x 1001 kernel is 8 MB; beyond it an
#: image filter belongs to scipy.ndimage, which filters without building the kernel).
MAX_SIZE = 1001


def _derivative_kernel(smoothing: list[float]) -> np.ndarray:
    """Central difference across the columns, smoothed down the rows.

    The outer product of a smoothing column and the difference ``[-1, 0, 1]``: the kernel
    measures how much brighter the right of the window is than the left, averaged over the
    three rows, so it answers to vertical edges and is less sensitive to noise than a plain
    difference.
    """
    return np.outer(np.asarray(smoothing, dtype=np.float64), [-1.0, 0.0, 1.0])


def sobel_vertical() -> np.ndarray:
    """Sobel kernel for vertical edges (brightness increasing to the right gives > 0).

    Returns:
        ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``, shape ``(3, 3)``.

    Example:
        >>> sobel_vertical()
        array([[-1.,  0.,  1.],
               [-2.,  0.,  2.],
               [-1.,  0.,  1.]])
    """
    return _derivative_kernel([1, 2, 1])


def sobel_horizontal() -> np.ndarray:
    """Sobel kernel for horizontal edges (brightness increasing downwards gives > 0).

    The transpose of :func:`sobel_vertical`: ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``.
    ``conv2d(image, sobel_horizontal()) / 4`` equals ``skimage.filters.sobel_h(image)``.
    """
    return sobel_vertical().T.copy()


def prewitt_vertical() -> np.ndarray:
    """Prewitt kernel for vertical edges: the Sobel idea with equal row weights ``[1, 1, 1]``."""
    return _derivative_kernel([1, 1, 1])


def prewitt_horizontal() -> np.ndarray:
    """Prewitt kernel for horizontal edges, the transpose of :func:`prewitt_vertical`."""
    return prewitt_vertical().T.copy()


def scharr_vertical() -> np.ndarray:
    """Scharr kernel for vertical edges: row weights ``[3, 10, 3]``, better rotation symmetry."""
    return _derivative_kernel([3, 10, 3])


def scharr_horizontal() -> np.ndarray:
    """Scharr kernel for horizontal edges, the transpose of :func:`scharr_vertical`."""
    return scharr_vertical().T.copy()


def laplacian() -> np.ndarray:
    """The 4-neighbour Laplacian ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``: zero on flat areas and
    ramps, large where brightness curves (thin lines, corners, noise); equals
    :func:`scipy.ndimage.laplace` away from the border."""
    return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def identity(size: int = 3) -> np.ndarray:
    """A kernel that copies the image: 1 at the centre of an odd ``size x size`` grid, 0 elsewhere."""
    _check_odd_size(size)
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2] = 1.0
    return kernel


def box(size: int = 3) -> np.ndarray:
    """A ``size x size`` mean filter: every weight ``1 / size**2``, so a flat image stays flat."""
    _check_odd_size(size)
    return np.full((size, size), 1.0 / size**2)


def sharpen() -> np.ndarray:
    """Sharpening: the image plus its difference from the four-neighbour mean,
    ``identity() - laplacian()`` ``= [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]``."""
    return identity(3) - laplacian()


def gaussian(sigma: float, size: int | None = None) -> np.ndarray:
    """A normalised Gaussian blur kernel.

    Args:
        sigma: standard deviation in pixels, > 0.
        size: odd side length; default ``2 * ceil(3 * sigma) + 1``, wide enough to hold
            99.7% of the weight along each axis.

    Returns:
        ``(size, size)`` array, ``exp(-(r**2 + c**2) / (2 sigma**2))`` normalised to sum 1
        (``r``, ``c`` measured from the centre).

    Example:
        >>> gaussian(1.0).shape
        (7, 7)
    """
    sigma = number(sigma, "sigma", above=0, hint=" (in pixels)")
    if size is None:
        size = 2 * int(np.ceil(3 * sigma)) + 1
        if size > MAX_SIZE:
            raise ValueError(
                f"sigma {sigma:g} needs a kernel of {size} pixels a side, more than {MAX_SIZE}; use sigma up to "
                f"{(MAX_SIZE - 1) // 6} or pass a smaller size, or blur with scipy.ndimage.gaussian_filter"
            )
    _check_odd_size(size)
    offsets = np.arange(size) - size // 2
    profile = np.exp(-(offsets**2) / (2.0 * sigma**2))
    kernel = np.outer(profile, profile)
    return kernel / kernel.sum()


def _check_odd_size(size: int) -> None:
    integer(size, "size", maximum=MAX_SIZE, hint=" (pixels a side)")
    if size < 1 or size % 2 == 0:
        raise ValueError(
            f"size must be odd and positive so the kernel has a centre, got {size}; try {max(1, size + 1 - size % 2)}"
        )


_EDGE_OPERATORS = {
    "sobel": sobel_vertical,
    "prewitt": prewitt_vertical,
    "scharr": scharr_vertical,
}


def image_gradients(
    image: np.ndarray, operator: str = "sobel", padding_mode: str = "replicate"
) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical derivatives of a grey image, same size as the image.

    Args:
        image: ``(H, W)`` grey image.
        operator: ``"sobel"``, ``"prewitt"`` or ``"scharr"``.
        padding_mode: how the 1-pixel border is invented (see :func:`unetlib.conv.conv2d`);
            ``"replicate"`` keeps a flat image flat up to its edge.

    Returns:
        ``(gx, gy)``, each ``(H, W)``: ``gx`` grows where brightness increases to the right
        (vertical edges), ``gy`` where it increases downwards (horizontal edges).
    """
    choice(operator, "operator", sorted(_EDGE_OPERATORS))
    image = real_array(image, "image", nonempty=True)
    if image.ndim != 2:
        raise ValueError(
            f"image must be a 2-D grey image (H, W), got shape {image.shape}; "
            "for RGB use skimage.color.rgb2gray(image) first"
        )
    vertical = _EDGE_OPERATORS[operator]()
    gx = conv2d(image, vertical, padding=1, padding_mode=padding_mode)
    gy = conv2d(image, vertical.T, padding=1, padding_mode=padding_mode)
    return gx, gy


def gradient_magnitude(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Edge strength ``sqrt(gx**2 + gy**2)``, whatever the edge's orientation."""
    gx, gy = _check_same_shape(gx, gy)
    return np.hypot(gx, gy)


def gradient_direction(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Direction of steepest brightening, in radians from the +x axis (right), in ``(-pi, pi]``.

    With image rows growing downwards, ``pi / 2`` means "brighter below".
    """
    gx, gy = _check_same_shape(gx, gy)
    return np.arctan2(gy, gx)


def _check_same_shape(gx, gy) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = real_array(gx, "gx").astype(np.float64), real_array(gy, "gy").astype(np.float64)
    if gx.shape != gy.shape:
        raise ValueError(f"gx and gy must have the same shape, got {gx.shape} and {gy.shape}")
    return gx, gy
