"""Write the generated pictures in this folder. Run from the repository root:

    python data/make_assets.py

The chapters call the generating functions in ``unetlib.data`` directly (so they also work in
Colab, where this folder is not on disk); the PNGs here are for looking at and for reuse.
A test checks that they still equal what the functions draw.
"""

from pathlib import Path

import numpy as np
from skimage.io import imsave

from unetlib.data import logo


def main() -> None:
    here = Path(__file__).resolve().parent
    imsave(here / "logo.png", np.round(logo() * 255).astype(np.uint8), check_contrast=False)
    print(f"wrote {here / 'logo.png'}")


if __name__ == "__main__":
    main()
