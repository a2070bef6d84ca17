"""Writes the seed corpora of fuzz_image_decode (small JPEG and PNG files in
the variants the decoders handle: downscaled copies of examples/images,
progressive and grayscale JPEG, PNG of every colour type, bit depth,
transparency and interlacing) and of fuzz_image_view (random parameter
bytes; the target reads its whole configuration from them).

    /usr/bin/python3 tests/fuzz/make_image_seeds.py SOURCE_DIR CORPUS_DIR
"""
import io
import os
import random
import sys

from PIL import Image


def save(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def main():
    source, corpus = sys.argv[1], sys.argv[2]
    decode = os.path.join(corpus, "image_decode")
    images = sorted(f for f in os.listdir(os.path.join(source, "examples", "images"))
                    if f.endswith(".jpg"))
    for i, name in enumerate(images):
        photo = Image.open(os.path.join(source, "examples", "images", name)).convert("RGB")
        small = photo.resize((24 + 8 * i, 16 + 5 * i), Image.BILINEAR)
        stem = os.path.splitext(name)[0]
        save(decode, stem + ".jpg", encoded(small, "JPEG", quality=70))
        if i == 0:
            save(decode, stem + "_progressive.jpg",
                 encoded(small, "JPEG", quality=60, progressive=True))
            save(decode, stem + "_gray.jpg", encoded(small.convert("L"), "JPEG", quality=60))
            save(decode, stem + "_420.jpg", encoded(small, "JPEG", quality=50, subsampling=2))
            save(decode, stem + "_cmyk.jpg", encoded(small.convert("CMYK"), "JPEG", quality=50))
        if i == 1:
            save(decode, stem + ".png", encoded(small, "PNG"))
            save(decode, stem + "_rgba.png", encoded(small.convert("RGBA"), "PNG"))
            save(decode, stem + "_palette.png",
                 encoded(small.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG"))
            save(decode, stem + "_gray.png", encoded(small.convert("L"), "PNG"))
            save(decode, stem + "_gray_alpha.png", encoded(small.convert("LA"), "PNG"))
            save(decode, stem + "_1bit.png", encoded(small.convert("1"), "PNG"))
            save(decode, stem + "_16bit.png", encoded(small.convert("L").convert("I").point(lambda v: v * 257), "PNG"))
            transparent = small.convert("P", palette=Image.ADAPTIVE, colors=8)
            save(decode, stem + "_trns.png", encoded(transparent, "PNG", transparency=0))

    rng = random.Random(20240601)
    view = os.path.join(corpus, "image_view")
    for i in range(24):
        save(view, "random_%02d.bin" % i,
             bytes(rng.randrange(256) for _ in range(rng.randrange(40, 400))))


if __name__ == "__main__":
    main()
