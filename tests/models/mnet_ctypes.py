"""Minimal ctypes binding of the public mnet API (include/mnet.h) for the
Python tests: Mnet.session loads a model and creates a session (precision,
threads, ISA, taps) for the length of a `with` block; the Session it yields
runs a normalized input and reads outputs and taps. Mnet.run_model and
Mnet.run_taps are the one-shot forms the PyTorch comparisons use (taps read
through mnet_features on a planar float image)."""

import contextlib
import ctypes
import os

import numpy as np


# One definition of the public structs, in the converter tools' binding
# (tools/convert is on PYTHONPATH for every test).
import mnet_library
from mnet_library import MnetError, MnetImage, MnetOptions, MnetSessionOptions, MnetTensor

rgb_image = mnet_library.rgb_image  # the tests call it as mnet_ctypes.rgb_image


class MnetRect(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int),
                ("height", ctypes.c_int)]


class MnetPreprocess(ctypes.Structure):
    _fields_ = [("fit", ctypes.c_int), ("crop_fraction", ctypes.c_float),
                ("fill", ctypes.c_float * 3), ("roi", MnetRect), ("rotation", ctypes.c_int),
                ("mirror", ctypes.c_int), ("yuv_matrix", ctypes.c_int),
                ("yuv_range", ctypes.c_int)]


PIXEL_RGB = 1
PIXEL_RGB_F32_PLANAR = 6
FIT_STRETCH = 2
PRECISION_FP32 = 1
PRECISION_INT8 = 2


class MnetFailure(RuntimeError):
    pass


def library_path():
    build = os.environ.get("MNET_BUILD_DIR")
    if not build:
        source = os.environ.get("MNET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        build = os.path.join(source, "build")
    return os.path.join(build, "libmnet.so")


def _as_array(tensor):
    """A library tensor (h, w, c floats) copied into a float64 array."""
    return _as_float32(tensor).astype(np.float64)


def _as_float32(tensor):
    """A library tensor (h, w, c floats) copied into a float32 array."""
    count = tensor.height * tensor.width * tensor.channels
    return np.ctypeslib.as_array(tensor.data, (count,)).copy().reshape(
        tensor.height, tensor.width, tensor.channels)




class Session:
    """A session handle (mnet_session *) and the calls the tests make on it;
    Mnet.session makes one and frees it."""

    def __init__(self, lib, handle):
        self.lib, self.handle = lib, handle

    def check(self, status, what):
        if status:
            raise MnetFailure("%s: %d %s" % (what, status,
                                             self.lib.mnet_session_error(self.handle).decode()))

    def run(self, normalized):
        """mnet_run on a normalized input (any shape, H x W x C floats)."""
        data = np.ascontiguousarray(normalized, np.float32).reshape(-1)
        self.check(self.lib.mnet_run(self.handle,
                                     data.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                     data.size), "mnet_run")

    def output(self, index=0):
        """Output `index` of the last run as float32 (h, w, c)."""
        tensor = MnetTensor()
        self.check(self.lib.mnet_output(self.handle, index, ctypes.byref(tensor)), "mnet_output")
        return _as_float32(tensor)

    def tap(self, index):
        """Tap `index` (in the session's tap order) of the last run, float32 (h, w, c)."""
        tensor = MnetTensor()
        self.check(self.lib.mnet_session_tap(self.handle, index, ctypes.byref(tensor)),
                   "mnet_session_tap %d" % index)
        return _as_float32(tensor)


class Mnet:
    def __init__(self, path=None):
        self.lib = ctypes.CDLL(path or library_path())
        lib = self.lib
        p = ctypes.c_void_p
        lib.mnet_options_init.argtypes = [ctypes.POINTER(MnetOptions)]
        lib.mnet_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(MnetOptions),
                                        ctypes.POINTER(p), ctypes.POINTER(MnetError)]
        lib.mnet_model_destroy.argtypes = [p]
        lib.mnet_session_create.argtypes = [p, p, ctypes.POINTER(p), ctypes.POINTER(MnetError)]
        lib.mnet_session_destroy.argtypes = [p]
        lib.mnet_session_error.argtypes = [p]
        lib.mnet_session_error.restype = ctypes.c_char_p
        lib.mnet_run.argtypes = [p, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]
        lib.mnet_output.argtypes = [p, ctypes.c_int, ctypes.POINTER(MnetTensor)]
        lib.mnet_session_tap.argtypes = [p, ctypes.c_int, ctypes.POINTER(MnetTensor)]
        lib.mnet_features.argtypes = [p, ctypes.POINTER(MnetImage), ctypes.POINTER(MnetPreprocess),
                                      ctypes.POINTER(MnetTensor)]
        lib.mnet_preprocess_init.argtypes = [ctypes.POINTER(MnetPreprocess)]
        lib.mnet_preprocess_image.argtypes = [p, ctypes.POINTER(MnetImage), p,
                                              ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]
        lib.mnet_segment.argtypes = [p, ctypes.POINTER(MnetImage), p, p, ctypes.c_size_t]
        for fn in ("mnet_model_load", "mnet_session_create", "mnet_run", "mnet_output",
                   "mnet_session_tap", "mnet_features", "mnet_preprocess_image", "mnet_segment"):
            getattr(lib, fn).restype = ctypes.c_int

    @contextlib.contextmanager
    def session(self, model_path, isa=None, threads=0, taps=(), precision=None):
        """Loads the model and creates a session that exports `taps`; yields
        a Session, and both are freed when the block ends. threads 0 = the
        library's default; precision None = the library's default (AUTO);
        MNET_ISA and MNET_PRECISION in the environment still override."""
        lib = self.lib
        options = MnetOptions()
        lib.mnet_options_init(ctypes.byref(options))
        if isa:
            options.isa = isa.encode()
        options.threads = threads
        if precision is not None:
            options.precision = precision
        model, session, error = ctypes.c_void_p(), ctypes.c_void_p(), MnetError()
        status = lib.mnet_model_load(model_path.encode(), ctypes.byref(options),
                                     ctypes.byref(model), ctypes.byref(error))
        if status:
            raise MnetFailure("mnet_model_load(%s): %d %s" % (model_path, status,
                                                              error.message.decode()))
        try:
            session_options = None
            if taps:
                names = (ctypes.c_char_p * len(taps))(*[t.encode() for t in taps])
                session_options = ctypes.byref(MnetSessionOptions(names, len(taps)))
            status = lib.mnet_session_create(model, session_options, ctypes.byref(session),
                                             ctypes.byref(error))
            if status:
                raise MnetFailure("mnet_session_create: %d %s" % (status, error.message.decode()))
            try:
                yield Session(lib, session)
            finally:
                lib.mnet_session_destroy(session)
        finally:
            lib.mnet_model_destroy(model)

    def _run_output0(self, session, nhwc_input):
        """mnet_run on the input, then output 0 as float64 (h, w, c)."""
        session.run(nhwc_input)
        return session.output(0).astype(np.float64)

    def run_taps(self, model_path, pixels, taps, normalized=None, isa=None, threads=0):
        """Runs the model on `pixels` (H, W, 3 floats on the 0..255 scale, the
        network's own size, given as a planar float image and stretched, i.e.
        not resized) and returns {tap: array (h, w, c)} for the named taps.
        With `normalized` (the same input already normalized, H x W x 3),
        also runs mnet_run on it and returns output 0 under the key None."""
        with self.session(model_path, isa, threads, taps) as session:
            return self._taps(session, pixels, taps, normalized)

    def _taps(self, session, pixels, taps, normalized):
        lib = self.lib
        h, w, _ = pixels.shape
        planes = [np.ascontiguousarray(pixels[:, :, c], np.float32) for c in range(3)]
        image = MnetImage()
        image.format, image.width, image.height = PIXEL_RGB_F32_PLANAR, w, h
        for c in range(3):
            image.planes[c] = planes[c].ctypes.data
            image.strides[c] = w * 4
        pre = MnetPreprocess()
        lib.mnet_preprocess_init(ctypes.byref(pre))
        pre.fit = FIT_STRETCH
        tensors = (MnetTensor * len(taps))()
        session.check(lib.mnet_features(session.handle, ctypes.byref(image), ctypes.byref(pre),
                                        tensors), "mnet_features")
        out = {name: _as_array(t) for name, t in zip(taps, tensors)}
        if normalized is not None:
            out[None] = self._run_output0(session, normalized)
        return out

    def run_model(self, model_path, nhwc_input, isa=None, threads=0):
        """Loads, runs once on nhwc_input (H, W, C floats), returns output 0
        as a float64 vector; everything is freed before returning.
        threads 0 = the library's default (all CPUs)."""
        with self.session(model_path, isa, threads) as session:
            return self._run_output0(session, nhwc_input).reshape(-1)
