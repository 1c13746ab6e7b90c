"""Regenerates the TIFF fixtures of tests/digitize_inputs.rs with Pillow (libtiff):
a two-page CCITT G4 file (BlackIsZero, two strips on page 1), a one-strip YCbCr JPEG-in-TIFF
page and an LZW black-and-white page (re-coded as G4 by saoy).
Run: python3 tests/data/make_tiff_fixtures.py"""
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent


def page(w, h, seed, mode):
    img = Image.new(mode, (w, h), "white")
    d = ImageDraw.Draw(img)
    for k in range(6):
        y = 20 + k * 40 + seed * 3
        d.rectangle([20 + seed * 5, y, w - 40 - k * 20, y + 12], fill="black")
    d.ellipse([w - 120, h - 120, w - 30, h - 30], outline="red" if mode == "RGB" else "black", width=6)
    return img


g4 = [page(400, 300, s, "1") for s in range(2)]
g4[0].save(HERE / "bilevel-g4.tif", compression="group4", dpi=(200, 200),
           save_all=True, append_images=g4[1:], tiffinfo={278: 160})
page(400, 300, 1, "RGB").convert("YCbCr").save(
    HERE / "colour-jpeg.tif", compression="jpeg", quality=80, dpi=(300, 300),
    tiffinfo={278: 300})
page(400, 300, 2, "1").save(HERE / "bilevel-lzw.tif", compression="tiff_lzw", dpi=(200, 200))
