"""Chapter 13's experiment: which inputs a U-Net needs on a Landsat scene, and two mistakes measured.

Every training: the scene split by 64-pixel blocks (train / validation / test, 50 / 20 / 30% of
the blocks with data, :func:`unetlib.landsat.spatial_blocks`), a depth-3 U-Net of 16 base
channels with batch norm, 40 epochs of 64 flipped crops of 64 pixels (320 steps of 8), Adam at
3e-3, cross-entropy with nodata and unknown labels ignored (:func:`unetlib.landsat.train_on_scene`).

Stage ``compare`` scores, on the validation blocks, three inputs (the candidates: six bands,
RGB, RGB + NDVI + NDWI) and two lessons (six bands with nodata not masked; six bands with a
split by random pixels, scored on its random validation pixels). Stage ``test`` trains the
candidate with the best mean validation mIoU again and scores the test blocks, once.

    python benchmarks/landsat_bands.py            # both stages, seeds 0 1 2 (about 10 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from _results import provenance
from unetlib.landsat import BAND_SETS, band_inputs, load_landsat, spatial_blocks, train_on_scene

HERE = Path(__file__).resolve().parent
CANDIDATES = BAND_SETS
LESSONS = ("six bands, nodata not masked", "six bands, random-pixel split")
FRACTIONS = (0.5, 0.2, 0.3)


def random_pixel_split(shape, seed: int = 0) -> np.ndarray:
    """The split that leaks: every pixel dealt to train / validation / test on its own."""
    return np.random.default_rng(seed).choice(3, size=shape, p=FRACTIONS)


def run(name: str, seed: int, data: dict, parts=("validation",)) -> dict:
    """One training of configuration ``name``; its scores as a results row."""
    pixels, valid, labels, frame_labels = data["pixels"], data["valid"], data["labels"], data["frame_labels"]
    split = data["split"]
    if name == "six bands, nodata not masked":
        result = train_on_scene(pixels, valid, frame_labels, split, seed=seed, mask_nodata=False, parts=parts)
    elif name == "six bands, random-pixel split":
        result = train_on_scene(pixels, valid, labels, random_pixel_split(valid.shape), seed=seed, parts=parts)
    else:
        result = train_on_scene(band_inputs(pixels, name), valid, labels, split, seed=seed, parts=parts)
    row = {"configuration": name, "seed": seed}
    for part in parts:
        row |= {part: result[part], f"{part}_per_class": result[f"{part}_per_class"]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", choices=["compare", "test", "all"], default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configurations", nargs="+", default=[*CANDIDATES, *LESSONS])
    parser.add_argument("--out", default=str(HERE.parent / "unetlib" / "results" / "chapter13_landsat.json"))
    args = parser.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {"validation": [], "test": [], "chosen": None}
    scene, pixels, valid, labels = load_landsat()
    frame_labels = load_landsat(with_frame=True)[3]
    data = {"pixels": pixels, "valid": valid, "labels": labels, "frame_labels": frame_labels}
    data["split"] = spatial_blocks(valid, block=64, fractions=FRACTIONS, seed=0)
    if args.stage in ("compare", "all"):
        rows = [run(name, seed, data) for name in args.configurations for seed in args.seeds]
        kept = [row for row in results["validation"] if row["configuration"] not in args.configurations]
        results["validation"] = kept + rows
        means = {
            name: np.mean([r["validation"] for r in results["validation"] if r["configuration"] == name])
            for name in CANDIDATES
        }
        results["chosen"] = max(means, key=means.get)
    if args.stage in ("test", "all"):
        results["test"] = [run(results["chosen"], seed, data, parts=("test",)) for seed in args.seeds]
    results |= {
        "what": "Landsat 7 scene (North Carolina, 2000) against the 1996 land-cover map; split by 64-pixel blocks "
        "50/20/30% train/validation/test (spatial_blocks seed 0); 320 steps of 8 crops of 64; mIoU over the "
        "classes present in the part, valid pixels only; 'validation' rows compare, 'test' scores the chosen "
        "candidate once",
        **provenance(args.seeds),
    }
    out.write_text(json.dumps(results, indent=1))
    for row in results["validation"] + results["test"]:
        print({k: v for k, v in row.items() if not k.endswith("per_class")})
    print(f"wrote {out}; chosen: {results['chosen']}")


if __name__ == "__main__":
    main()
