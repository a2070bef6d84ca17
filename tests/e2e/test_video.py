#!/usr/bin/python3
"""End-to-end test of examples/video (the FFmpeg video annotator).

A short clip (random length 12..24 frames, random even size about 4:3,
at least 240 wide, high-quality H.264) is made from
examples/images/*.jpg with the ffmpeg CLI; $MNET_BUILD_DIR/video runs on it
for each task whose bundled model exists, and the output is checked with
ffprobe/ffmpeg, independently of the program:

- exit status 0, exactly as many frames out as in (ffprobe -count_frames),
  the same size (an odd side loses one pixel: 4:2:0 encoders need even
  sizes), H.264 in .mp4 and MPEG-4 part 2 in .avi;
- one "frame i: X ms" latency line per frame, in order, and a summary;
- classify: the top-1 label of the frames made from banana.jpg and
  goose.jpg names the fruit and the bird (ground truth from the file names);
- the drawing went into the frames: classify's label tag changes the
  top-left corner a lot and the rest of the picture only by codec noise;
  segment moves the chroma of a share of the dog frames' samples
  (more than codec noise does) and not their luma; detect changes luma;
- a file that is not a video, a missing file and an unknown output extension
  fail with a non-zero status and a message naming the file.

Exits 77 (skipped) without ffmpeg/ffprobe or without the video executable
(built only when CMake finds FFmpeg's development libraries)."""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from cli_harness import check, summary, BUILD, IMAGES

SKIPPED = 77
VIDEO = os.path.join(BUILD, "video")
# The executable finds its default models in <dir of executable>/../models.
DEFAULT_MODELS = os.path.join(os.path.dirname(os.path.abspath(VIDEO)), "..", "models")
MODELS = {
    "classify": "mobilenet_v2_1.0_224.safetensors",
    "detect": "ssd_mobilenet_v2_coco.safetensors",
    "segment": "deeplabv3_mnv2_dm1.0_pascal.safetensors",
}
LATENCY = re.compile(r"^frame (\d+): (\d+\.\d+) ms")


def run(args, timeout=600):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          universal_newlines=True)


def probe(path):
    """(frames, width, height, codec) of the first video stream, decoded."""
    r = run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
             "-show_entries", "stream=nb_read_frames,width,height,codec_name",
             "-of", "default=noprint_wrappers=1", path])
    if r.returncode != 0:
        return None
    fields = dict(line.split("=", 1) for line in r.stdout.split())
    return (int(fields["nb_read_frames"]), int(fields["width"]), int(fields["height"]),
            fields["codec_name"])


def decode_yuv420(path, width, height):
    """All frames as (luma, chroma) arrays, through ffmpeg's own decoder."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo",
                        "-pix_fmt", "yuv420p", "-"], stdout=subprocess.PIPE, timeout=300)
    assert r.returncode == 0, path
    cw, ch = (width + 1) // 2, (height + 1) // 2
    size = width * height + 2 * cw * ch
    data = np.frombuffer(r.stdout, np.uint8)
    frames = data.reshape(-1, size)
    luma = frames[:, :width * height].reshape(-1, height, width).astype(np.int32)
    chroma = frames[:, width * height:].reshape(-1, 2, ch, cw).astype(np.int32)
    return luma, chroma


def encoder_available(name):
    r = run(["ffmpeg", "-hide_banner", "-encoders"])
    return any(line.split()[1:2] == [name] for line in r.stdout.splitlines() if line.strip())


def make_clip(directory, sources, width, height, path, codec=None):
    for i, source in enumerate(sources):
        os.symlink(source, os.path.join(directory, "f_%03d.jpg" % i))
    if codec is None:
        codec = (["-c:v", "libx264", "-crf", "12"] if encoder_available("libx264")
                 else ["-c:v", "mpeg4", "-q:v", "3"])
    r = run(["ffmpeg", "-v", "error", "-y", "-framerate", "12", "-i",
             os.path.join(directory, "f_%03d.jpg"), "-vf",
             # keep the images' aspect (padding the rest): stretched, the
             # goose is not a goose even to other classifiers
             "scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:-1:-1,format=yuv420p"
             % (width - 2, height - 2, width, height)] + codec + [path])
    assert r.returncode == 0, r.stderr


def check_run(result, frames, what):
    check(result.returncode == 0, "%s: exit status %d, stderr: %s" % (what, result.returncode,
                                                                     result.stderr.strip()))
    lines = result.stdout.splitlines()
    indices = [int(m.group(1)) for m in map(LATENCY.match, lines) if m]
    latencies = [float(m.group(2)) for m in map(LATENCY.match, lines) if m]
    check(indices == list(range(frames)),
          "%s: latency lines for frames %s, expected 0..%d" % (what, indices, frames - 1))
    check(all(ms > 0 for ms in latencies), "%s: non-positive latency" % what)
    check(bool(lines) and lines[-1].startswith("%d frames" % frames) and "FPS" in lines[-1],
          "%s: summary line missing: %r" % (what, lines[-1:] if lines else None))
    return lines


def check_output(path, frames, width, height, codec, what):
    info = probe(path)
    check(info is not None, "%s: ffprobe cannot read %s" % (what, path))
    if info:
        check(info[0] == frames, "%s: %d frames out, %d in" % (what, info[0], frames))
        check(info[1:3] == (width & ~1, height & ~1),
              "%s: size %dx%d, input %dx%d" % (what, info[1], info[2], width, height))
        if codec:
            check(info[3] == codec, "%s: codec %s, expected %s" % (what, info[3], codec))


def run_video(source, out, options, frames, width, height, codec, what):
    """Runs the example on `source` into `out` and checks its report and the
    clip it wrote; returns (the run's result, its stdout lines)."""
    r = run([VIDEO, source, out] + options)
    lines = check_run(r, frames, what)
    check_output(out, frames, width, height, codec, what)
    return r, lines


def main():
    if not shutil.which("ffmpeg") or not shutil.which("ffprobe"):
        print("SKIP: ffmpeg/ffprobe not installed")
        return SKIPPED
    if not os.path.exists(VIDEO):
        print("SKIP: %s not built (FFmpeg development libraries missing?)" % VIDEO)
        return SKIPPED
    if not os.path.exists(os.path.join(DEFAULT_MODELS, MODELS["classify"])):
        print("SKIP: no bundled classifier in %s" % DEFAULT_MODELS)
        return SKIPPED
    seed = int(os.environ.get("MNET_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("seed", seed)
    images = sorted(os.path.join(IMAGES, f) for f in os.listdir(IMAGES) if f.endswith(".jpg"))
    frames = rng.randint(12, 24)
    sources = [images[i % len(images)] for i in range(frames)]
    width = 2 * rng.randint(120, 200)
    height = 2 * int(width * rng.uniform(0.7, 0.8) / 2)
    h264 = "h264" if encoder_available("libx264") else None

    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "clip.mp4")
        make_clip(tmp, sources, width, height, clip)
        check(probe(clip)[0] == frames, "the test clip itself has %d frames" % frames)
        in_luma, in_chroma = decode_yuv420(clip, width, height)

        # classify, model given explicitly
        out = os.path.join(tmp, "classify.mp4")
        r, lines = run_video(clip, out, ["--task", "classify", "--threads", "2", "-m",
                                         os.path.join(DEFAULT_MODELS, MODELS["classify"])],
                             frames, width, height, h264, "classify")
        for i, source in enumerate(sources):
            name = os.path.splitext(os.path.basename(source))[0]
            if name in ("banana", "goose") and i < len(lines):
                check(name in lines[i].lower(), "classify frame %d (%s): %r" % (i, name, lines[i]))
        if r.returncode == 0:
            luma, chroma = decode_yuv420(out, width, height)
            tag = np.abs(luma[:, :9, :40] - in_luma[:, :9, :40]).mean(axis=(1, 2))
            rest = np.abs(luma[:, height // 3:, :] - in_luma[:, height // 3:, :]).mean()
            check(tag.min() > 20, "classify: label tag missing (corner change %.1f)" % tag.min())
            check(rest < 6, "classify: the picture changed beyond the tag (%.1f)" % rest)
            noise = (np.abs(chroma[:, :, height // 6:] - in_chroma[:, :, height // 6:]) > 10).mean()
            check(noise < 0.01, "classify: chroma changed beyond the tag (%.3f)" % noise)

        # classify into .avi: MPEG-4 part 2; an odd-sized clip (lossless
        # FFV1, 4:2:0) loses its last column and row
        odd_dir = os.path.join(tmp, "odd")
        os.mkdir(odd_dir)
        odd_clip = os.path.join(odd_dir, "odd.mkv")
        odd_w = 2 * rng.randint(60, 120) + 1
        odd_h = 2 * int(odd_w * rng.uniform(0.7, 0.8) / 2) + 1
        make_clip(odd_dir, sources[:12], odd_w, odd_h, odd_clip, ["-c:v", "ffv1"])
        out = os.path.join(tmp, "odd.avi")
        run_video(odd_clip, out, ["--task", "classify", "--threads", "2"], 12, odd_w, odd_h, "mpeg4",
                  "classify odd size .avi")

        # detect: the default task with the default model
        if os.path.exists(os.path.join(DEFAULT_MODELS, MODELS["detect"])):
            out = os.path.join(tmp, "detect.mkv")
            r, _ = run_video(clip, out, ["--threads", "2", "--min-score", "0.3"], frames, width, height,
                             h264, "detect")
            if r.returncode == 0:
                luma, _ = decode_yuv420(out, width, height)
                change = np.abs(luma - in_luma).mean(axis=(1, 2))
                check(change.max() > 3, "detect: no boxes drawn (luma change %.2f)" % change.max())
        else:
            print("detect: model missing, not run")

        if os.path.exists(os.path.join(DEFAULT_MODELS, MODELS["segment"])):
            out = os.path.join(tmp, "segment.mp4")
            r, _ = run_video(clip, out, ["--task", "segment", "--threads", "2"], frames, width, height,
                             h264, "segment")
            if r.returncode == 0:
                luma, chroma = decode_yuv420(out, width, height)
                tinted = [i for i, s in enumerate(sources)
                          if os.path.basename(s) == "dog.jpg"]
                # share of chroma samples moved by more than codec noise
                tinted_share = (np.abs(chroma[tinted] - in_chroma[tinted]) > 10).mean(
                    axis=(1, 2, 3))
                check(tinted_share.min() > 0.05, "segment: chroma of the dog frames not "
                      "tinted (%.3f of the samples changed)" % tinted_share.min())
                luma_change = np.abs(luma - in_luma).mean()
                check(luma_change < 6, "segment: luma changed (%.2f)" % luma_change)
        else:
            print("segment: model missing, not run")

        # errors
        junk = os.path.join(tmp, "junk.mp4")
        with open(junk, "wb") as f:
            f.write(bytes(rng.randrange(256) for _ in range(4096)))
        for args, name in (([junk, os.path.join(tmp, "o1.mp4")], junk),
                           ([os.path.join(tmp, "missing.mp4"), os.path.join(tmp, "o2.mp4")],
                            "missing.mp4"),
                           ([clip, os.path.join(tmp, "o3.unknownext")], "o3.unknownext")):
            r = run([VIDEO] + args + ["--task", "classify"])
            check(r.returncode != 0, "%s: exit status 0 for a bad file" % name)
            check(name in r.stderr, "%s: message does not name the file: %r" % (name, r.stderr))
            check(r.returncode in (1, 2) and "Sanitizer" not in r.stderr,
                  "%s: crashed (status %d)" % (name, r.returncode))
        r = run([VIDEO, clip, os.path.join(tmp, "o4.mp4"), "--task", "nonsense"])
        check(r.returncode == 2 and "nonsense" in r.stderr, "bad --task: %r" % r.stderr)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
