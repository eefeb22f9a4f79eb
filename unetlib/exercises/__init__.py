"""Checks for the chapters' exercises: pass your answer, get specific feedback.

Each ``check_*`` function runs your answer on a few small cases, compares it with an
independent reference, and returns a :class:`CheckResult` that prints as a one-line verdict
with a hint naming the likely mistake ("your output is 3x3 but should be 5x5: did you pad?").
One module per chapter; every check is importable from here.

Example:
    A wrong answer, and what the check says:

    >>> from unetlib.kernels import sobel_horizontal
    >>> check_sobel_horizontal(-sobel_horizontal())
    Not yet: your kernel finds horizontal edges with the wrong sign: brighter
        *below* should give a positive response; swap the top and bottom rows
"""

from unetlib.exercises._common import CheckResult
from unetlib.exercises.chapter1 import check_conv2d, check_conv2d_same, check_sobel_horizontal
from unetlib.exercises.chapter2 import check_dilate_kernel, check_output_size, check_same_padding, output_size_cases
from unetlib.exercises.chapter3 import (
    check_multichannel_conv,
    check_mystery_kernel,
    check_parameter_count,
    mystery_pairs,
)
from unetlib.exercises.chapter4 import check_backward_by_hand, check_cross_entropy, check_momentum_step
from unetlib.exercises.chapter5 import check_dense_output_size, check_fc_to_conv, check_linear_to_conv1x1
from unetlib.exercises.chapter6 import check_conv_transpose, check_output_padding, check_transpose_output_size
from unetlib.exercises.chapter7 import (
    check_is_valid_size,
    check_tile_for_output,
    check_unet_output_size,
    check_up_forward,
)
from unetlib.exercises.chapter8 import (
    check_border_weight,
    check_dataset,
    check_dice,
    check_object_matching,
    check_train_step,
)
from unetlib.exercises.chapter9 import check_mirror_pad, check_tile_step, check_tiled_stitch
from unetlib.exercises.chapter10 import check_cells_from_membranes, check_dihedral_average, check_rand_error
from unetlib.exercises.chapter11 import check_class_weights, check_decode_palette, check_iou_from_confusion
from unetlib.exercises.chapter12 import check_ablation_guess, check_weighted_cross_entropy
from unetlib.exercises.chapter13 import check_class_areas, check_ndvi, check_pixel_to_map, check_valid_footprint

__all__ = [
    "check_class_areas",
    "check_ndvi",
    "check_pixel_to_map",
    "check_rand_error",
    "check_valid_footprint",
    "CheckResult",
    "check_ablation_guess",
    "check_backward_by_hand",
    "check_border_weight",
    "check_cells_from_membranes",
    "check_class_weights",
    "check_conv2d",
    "check_conv2d_same",
    "check_conv_transpose",
    "check_dataset",
    "check_decode_palette",
    "check_cross_entropy",
    "check_dense_output_size",
    "check_iou_from_confusion",
    "check_is_valid_size",
    "check_linear_to_conv1x1",
    "check_mirror_pad",
    "check_momentum_step",
    "check_dice",
    "check_dihedral_average",
    "check_dilate_kernel",
    "check_fc_to_conv",
    "check_multichannel_conv",
    "check_mystery_kernel",
    "check_object_matching",
    "check_output_padding",
    "check_output_size",
    "check_parameter_count",
    "check_same_padding",
    "check_sobel_horizontal",
    "check_tiled_stitch",
    "check_train_step",
    "check_transpose_output_size",
    "check_tile_for_output",
    "check_unet_output_size",
    "check_up_forward",
    "check_tile_step",
    "check_weighted_cross_entropy",
    "mystery_pairs",
    "output_size_cases",
]
