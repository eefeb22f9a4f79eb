"""Argument checks and conversions, in one place for every module of :mod:`unetlib`.

One rule throughout: a :class:`TypeError` when an argument is the wrong *kind* of thing (a string
where a number belongs), a :class:`ValueError` when it is the right kind with a wrong *value* (a
negative size). Every message names the argument, shows what came and says what would work.

Each function returns the checked value in the form the caller needs (a Python ``int``, a pair,
a float64 array), so that a caller writes ``stride = integer(stride, "stride", minimum=1)`` and
never checks twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

# A private module: its functions are the package's own tools, not part of the reader's API.


def describe(value: Any) -> str:
    """A short description of ``value`` for an error message: its type and (shortened) repr."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers; False for booleans, which are ints only by accident."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def integer(value: Any, name: str, minimum: int | None = None, maximum: int | None = None, hint: str = "") -> int:
    """``value`` as an ``int``, checked to lie in ``[minimum, maximum]``.

    Example:
        >>> integer(3, "stride", minimum=1)
        3
        >>> integer(0, "stride", minimum=1)
        Traceback (most recent call last):
        ...
        ValueError: stride must be at least 1, got 0
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {describe(value)}{hint}")
    _check_range(int(value), name, minimum, maximum, hint)
    return int(value)


def int_pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """``3`` or ``(3, 2)`` as a pair of ints, each at least ``minimum`` (PyTorch's ``_pair``)."""
    pair = (value, value) if is_int(value) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(is_int(v) for v in pair)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {describe(value)}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def number(
    value: Any,
    name: str,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
    hint: str = "",
) -> float:
    """``value`` as a finite ``float``; ``minimum``/``maximum`` are inclusive, ``above``/``below`` strict.

    Example:
        >>> number(0.5, "dropout", minimum=0, below=1)
        0.5
        >>> number("0.1", "lr", above=0)
        Traceback (most recent call last):
        ...
        TypeError: lr must be a number, got str '0.1'
    """
    if (
        isinstance(value, torch.Tensor)
        and value.numel() == 1
        and not value.dtype.is_complex
        and value.dtype != torch.bool
    ):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {describe(value)}{hint}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}{hint}")
    _check_range(value, name, minimum, maximum, hint)
    if above is not None and not value > above:
        raise ValueError(f"{name} must be greater than {above}, got {value}{hint}")
    if below is not None and not value < below:
        raise ValueError(f"{name} must be less than {below}, got {value}{hint}")
    return value


def boolean(value: Any, name: str) -> bool:
    """``value`` if it is ``True`` or ``False``; the string ``"False"`` is refused, not read as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def choice(value: Any, name: str, options: Sequence[str]) -> str:
    """``value`` if it is one of ``options`` (strings); the message lists them."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {tuple(options)}, got {describe(value)}")
    if value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy array from an array, a list or a tensor (detached and moved to the CPU first)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def real_array(
    value: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    finite: bool = False,
    shape_hint: str = "",
    nonempty: bool = False,
) -> np.ndarray:
    """``value`` as an array of real numbers; bool and int become float64, float keeps its dtype.

    Args:
        value: an array, a nested list or a tensor.
        name: the argument's name, for the message.
        ndim: the number of dimensions allowed (one, or several); ``None`` allows any.
        finite: refuse NaN and infinity.
        shape_hint: the expected layout, e.g. ``"(H, W)"``, for the message.
        nonempty: refuse an array without elements (a shape with a 0 in it).
    """
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {describe(value)}")
    try:
        array = to_numpy(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{name} must be an array of real numbers, got {describe(value)} ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers (bool, int or float), got dtype {array.dtype}; "
            f"convert it with np.asarray({name}, dtype=float)"
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            layout = f" {shape_hint}" if shape_hint else ""
            raise ValueError(
                f"{name} must be {' or '.join(f'{n}-D' for n in allowed)}{layout}, got shape {array.shape}"
            )
    if nonempty:
        not_empty(array, name)
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(
            f"{name} holds {bad} NaN or infinite value(s); fill or mask them first (e.g. np.nan_to_num({name}))"
        )
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def not_empty(array: np.ndarray, name: str) -> np.ndarray:
    """``array`` if it has at least one element; an empty one (shape ``(0, 0)``, say) is refused."""
    if array.size == 0:
        raise ValueError(
            f"{name} is empty (shape {array.shape}): there is nothing to work on; "
            "pass an array with at least one pixel (an empty crop or slice?)"
        )
    return array


#: The largest label :func:`label_image` accepts: the int32 range, which every label image of
#: scikit-image and SciPy fits, and beyond which SciPy's per-label tools allocate per label.
LABEL_MAX = 2**31 - 1


def label_image(value: Any, name: str, *, ignore: int | None = None) -> np.ndarray:
    """``value`` as an int64 2-D label image (0 = background, 1, 2, ... = objects or classes).

    Refused: another kind of array (TypeError), other than 2-D, empty, floats (probabilities or
    an image, not labels; a boolean mask too, whose objects need labelling first), and labels
    below 0 or above :data:`LABEL_MAX` (ValueError). ``ignore`` is a value allowed although
    negative (an "unlabelled" marker such as -1).

    Example:
        >>> label_image([[0, 1], [2, 2]], "instances").tolist()
        [[0, 1], [2, 2]]
        >>> label_image([[0, -1]], "instances")
        Traceback (most recent call last):
        ...
        ValueError: instances holds negative labels (such as -1): labels are 0 for background and 1, 2, ... for objects or classes; relabel it (instances: skimage.measure.label(instances > 0))
    """
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a 2-D integer label image (an array), got {describe(value)}")
    try:
        array = to_numpy(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"{name} must be a 2-D integer label image (an array), got {describe(value)} ({error})"
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a 2-D integer label image, got dtype {array.dtype}")
    if array.ndim != 2 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a 2-D integer label image, got shape {array.shape}, dtype {array.dtype}"
            f"{_label_hint(array, name)}"
        )
    not_empty(array, name)
    low, high = array.min(), array.max()
    if high > LABEL_MAX:
        raise ValueError(
            f"{name} holds the label {high}, above {LABEL_MAX} (the int32 range label images use); "
            f"number the objects 1, 2, ... with skimage.segmentation.relabel_sequential({name})[0]"
        )
    if low < 0:
        negative = array[array < 0]
        if ignore is not None:
            negative = negative[negative != ignore]
        if negative.size:
            raise ValueError(
                f"{name} holds negative labels (such as {int(negative.min())}): labels are 0 for background and "
                f"1, 2, ... for objects or classes; relabel it (instances: skimage.measure.label({name} > 0))"
            )
    return array.astype(np.int64)


def _label_hint(array: np.ndarray, name: str) -> str:
    """What to do with an array that is not a label image, guessed from what it holds."""
    if array.ndim != 2 or array.size == 0:
        return ""
    if array.dtype.kind == "b":
        return f"; a boolean mask: label its objects first, e.g. skimage.measure.label({name})"
    if array.dtype.kind == "f" and np.isfinite(array).all():
        if (array == np.round(array)).all():
            return f"; its values are whole numbers: convert it with {name}.astype(int)"
        if array.min() >= 0 and array.max() <= 1:
            return (
                f"; values such as {float(array[array != np.round(array)][0]):.3g} look like probabilities: "
                f"threshold them and label the objects, e.g. skimage.measure.label({name} > 0.5)"
            )
    return ""


def integer_array(value: Any, name: str, *, ndim: int | None = None, shape_hint: str = "") -> np.ndarray:
    """``value`` as an int64 array of whole numbers (class indices, labels), for a caller that
    does its own range checks. Bool and integer arrays pass, and float arrays whose values are all
    whole numbers; fractions (probabilities, say) and NaN are refused with what to do.

    Example:
        >>> integer_array([[0.0, 2.0]], "target").tolist()
        [[0, 2]]
        >>> integer_array([[0.2, 0.9]], "target")
        Traceback (most recent call last):
        ...
        ValueError: target must hold whole numbers (class indices or labels), got values such as [0.2, 0.9]; probabilities? threshold them first, e.g. (target > 0.5).astype(int)
    """
    if _is_integer_array(value):  # kept as integers: a float64 copy would round labels above 2**53
        array = to_numpy(value)
        if ndim is not None and array.ndim != ndim:
            layout = f" {shape_hint}" if shape_hint else ""
            raise ValueError(f"{name} must be {ndim}-D{layout}, got shape {array.shape}")
    else:
        array = real_array(value, name, ndim=ndim, shape_hint=shape_hint)
    if array.dtype.kind == "f":
        fractional = ~np.isfinite(array) | (array != np.round(array))
        if fractional.any():
            examples = [float(v) for v in array[fractional][:3]]
            probabilities = np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1
            hint = f"; probabilities? threshold them first, e.g. ({name} > 0.5).astype(int)" if probabilities else ""
            raise ValueError(
                f"{name} must hold whole numbers (class indices or labels), got values such as {examples}{hint}"
            )
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds {array.max()}, too large for an int64 label")
    return array.astype(np.int64, copy=False)


def _is_integer_array(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    if isinstance(value, torch.Tensor):
        return not value.dtype.is_floating_point and not value.dtype.is_complex
    return isinstance(dtype, np.dtype) and dtype.kind in "biu"


def generator(value: Any, name: str = "rng") -> np.random.Generator:
    """``value`` if it is a NumPy random generator (what ``np.random.default_rng(seed)`` returns)."""
    if not isinstance(value, np.random.Generator):
        raise TypeError(
            f"{name} must be a NumPy random generator, e.g. np.random.default_rng(0), got {describe(value)}"
        )
    return value


def model_device(model: torch.nn.Module) -> torch.device:
    """Where the model's weights are (the CPU for a model without any)."""
    parameter = next(iter(model.parameters()), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _check_range(value: float, name: str, minimum: float | None, maximum: float | None, hint: str) -> None:
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be from {minimum} to {maximum}, got {value}{hint}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}{hint}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}{hint}")
