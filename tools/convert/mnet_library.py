"""A small ctypes binding of libmnet for the converter tools: load a model
at a chosen precision, list its plan steps, run images through it and read
feature taps. Only what post-training quantization needs (calibration and
checking the result); include/mnet.h is the reference for every call."""

import collections
import ctypes
import os

import numpy as np

# The struct layouts of include/mnet.h, shared with the tests' binding
# (tests/models/mnet_ctypes.py imports them from here).

PRECISION_FP32 = 1
PRECISION_INT8 = 2
PIXEL_RGB = 1


class MnetError(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("message", ctypes.c_char * 512)]


class MnetOptions(ctypes.Structure):
    _fields_ = [("threads", ctypes.c_int), ("isa", ctypes.c_char_p),
                ("precision", ctypes.c_int), ("max_session_bytes", ctypes.c_size_t)]


class MnetTensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("height", ctypes.c_int), ("width", ctypes.c_int),
                ("channels", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_float))]


class MnetSessionOptions(ctypes.Structure):
    _fields_ = [("taps", ctypes.POINTER(ctypes.c_char_p)), ("num_taps", ctypes.c_int)]


class MnetImage(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("planes", ctypes.c_void_p * 3), ("strides", ctypes.c_size_t * 3)]


PLAN_STEP_MAX_INPUTS = 6  # MNET_PLAN_STEP_MAX_INPUTS


class MnetPlanStep(ctypes.Structure):
    _fields_ = ([("name", ctypes.c_char_p), ("op", ctypes.c_char_p)] +
                [(n, ctypes.c_int) for n in ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c",
                                             "kernel", "stride", "dilation")] +
                [("activation", ctypes.c_char_p), ("macs", ctypes.c_int64),
                 ("parameters", ctypes.c_int64), ("num_inputs", ctypes.c_int),
                 ("inputs", ctypes.c_char_p * PLAN_STEP_MAX_INPUTS),
                 ("residual", ctypes.c_char_p), ("weights", ctypes.c_char_p)])


# One step of the plan as mnet_model_plan_step gives it: inputs are the names
# of the tensors read ("input" = the model input), residual the tensor added
# to the result (or None), weights the prefix of its tensors in the file (or
# None).
PlanStep = collections.namedtuple(
    "PlanStep", "name op activation out_h out_w out_c stride inputs residual weights")


class LibraryError(RuntimeError):
    pass


def rgb_image(rgb):
    """An MnetImage viewing a packed uint8 RGB array (H, W, 3); returns
    (image, the contiguous array), which must outlive every use of image."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    image = MnetImage()
    image.format, image.width, image.height = PIXEL_RGB, rgb.shape[1], rgb.shape[0]
    image.planes[0] = rgb.ctypes.data
    image.strides[0] = rgb.shape[1] * 3
    return image, rgb


def default_library_path():
    """$MNET_LIBRARY, else libmnet.so of $MNET_BUILD_DIR, else <repo>/build."""
    if os.environ.get("MNET_LIBRARY"):
        return os.environ["MNET_LIBRARY"]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.environ.get("MNET_BUILD_DIR", os.path.join(root, "build")),
                        "libmnet.so")


class Library:
    def __init__(self, path=None):
        path = path or default_library_path()
        try:
            self.lib = ctypes.CDLL(path)
        except OSError as exc:
            raise LibraryError("cannot load %s (build mnet, or give --library / MNET_LIBRARY): %s"
                               % (path, exc))
        lib, p = self.lib, ctypes.c_void_p
        lib.mnet_options_init.argtypes = [ctypes.POINTER(MnetOptions)]
        lib.mnet_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(MnetOptions),
                                        ctypes.POINTER(p), ctypes.POINTER(MnetError)]
        lib.mnet_model_destroy.argtypes = [p]
        lib.mnet_model_plan_size.argtypes = [p]
        lib.mnet_model_plan_step.argtypes = [p, ctypes.c_int, ctypes.POINTER(MnetPlanStep)]
        lib.mnet_session_create.argtypes = [p, p, ctypes.POINTER(p), ctypes.POINTER(MnetError)]
        lib.mnet_session_destroy.argtypes = [p]
        lib.mnet_session_error.argtypes = [p]
        lib.mnet_session_error.restype = ctypes.c_char_p
        lib.mnet_features.argtypes = [p, ctypes.POINTER(MnetImage), p, ctypes.POINTER(MnetTensor)]
        lib.mnet_run.argtypes = [p, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]
        lib.mnet_output.argtypes = [p, ctypes.c_int, ctypes.POINTER(MnetTensor)]
        lib.mnet_session_tap.argtypes = [p, ctypes.c_int, ctypes.POINTER(MnetTensor)]
        lib.mnet_preprocess_image.argtypes = [p, ctypes.POINTER(MnetImage), p,
                                              ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]


class Model:
    """A loaded model and one session exporting `taps` (tap names)."""

    def __init__(self, library, path, precision=PRECISION_FP32, taps=(), threads=0):
        self.lib = library.lib
        options = MnetOptions()
        self.lib.mnet_options_init(ctypes.byref(options))
        options.precision = precision
        options.threads = threads
        self.model, self.session, error = ctypes.c_void_p(), ctypes.c_void_p(), MnetError()
        # MNET_PRECISION would override the precision asked for here
        saved = os.environ.pop("MNET_PRECISION", None)
        try:
            failed = self.lib.mnet_model_load(path.encode(), ctypes.byref(options),
                                              ctypes.byref(self.model), ctypes.byref(error))
        finally:
            if saved is not None:
                os.environ["MNET_PRECISION"] = saved
        if failed:
            raise LibraryError("loading %s: %s" % (path, error.message.decode()))
        self.taps = list(taps)
        names = (ctypes.c_char_p * max(1, len(self.taps)))(*[t.encode() for t in self.taps])
        self._session_options = MnetSessionOptions(names, len(self.taps))
        if self.lib.mnet_session_create(self.model, ctypes.byref(self._session_options)
                                        if self.taps else None,
                                        ctypes.byref(self.session), ctypes.byref(error)):
            self.lib.mnet_model_destroy(self.model)
            raise LibraryError("session for %s: %s" % (path, error.message.decode()))

    def close(self):
        self.lib.mnet_session_destroy(self.session)
        self.lib.mnet_model_destroy(self.model)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def plan(self):
        """[PlanStep] in plan order."""
        def text(b):
            return b.decode() if b is not None else None

        steps = []
        for i in range(self.lib.mnet_model_plan_size(self.model)):
            s = MnetPlanStep()
            if self.lib.mnet_model_plan_step(self.model, i, ctypes.byref(s)):
                raise LibraryError("plan step %d: invalid" % i)
            steps.append(PlanStep(text(s.name), text(s.op), text(s.activation), s.out_h, s.out_w,
                                  s.out_c, s.stride,
                                  [text(s.inputs[k]) for k in range(s.num_inputs)],
                                  text(s.residual), text(s.weights)))
        return steps

    def _fail(self, what):
        raise LibraryError("%s: %s" % (what, self.lib.mnet_session_error(self.session).decode()))

    def features(self, rgb):
        """Runs an RGB uint8 image (H, W, 3) with the model's own
        preprocessing; returns {tap: float32 array (h, w, c)}."""
        image, keep = rgb_image(rgb)
        tensors = (MnetTensor * len(self.taps))()
        if self.lib.mnet_features(self.session, ctypes.byref(image), None, tensors):
            self._fail("mnet_features")
        del keep
        return {name: np.ctypeslib.as_array(t.data, (t.height, t.width, t.channels)).copy()
                for name, t in zip(self.taps, tensors)}

    def run_normalized(self, normalized):
        """mnet_run on an already normalized input (H, W, 3 floats); returns
        (output 0, {tap: array (h, w, c)})."""
        data = np.ascontiguousarray(normalized, np.float32).reshape(-1)
        if self.lib.mnet_run(self.session, data.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                             data.size):
            self._fail("mnet_run")
        t = MnetTensor()
        if self.lib.mnet_output(self.session, 0, ctypes.byref(t)):
            self._fail("mnet_output")
        out = np.ctypeslib.as_array(t.data, (t.height * t.width * t.channels,)).copy()
        taps = {}
        for i, name in enumerate(self.taps):
            if self.lib.mnet_session_tap(self.session, i, ctypes.byref(t)):
                self._fail("mnet_session_tap")
            taps[name] = np.ctypeslib.as_array(t.data, (t.height, t.width, t.channels)).copy()
        return out, taps

    def logits(self, rgb, input_size):
        """Output 0 (the logits) for an RGB uint8 image, model preprocessing."""
        image, keep = rgb_image(rgb)
        count = input_size[0] * input_size[1] * 3
        data = np.zeros(count, np.float32)
        ptr = data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        if self.lib.mnet_preprocess_image(self.session, ctypes.byref(image), None, ptr, count):
            self._fail("mnet_preprocess_image")
        del keep
        if self.lib.mnet_run(self.session, ptr, count):
            self._fail("mnet_run")
        t = MnetTensor()
        if self.lib.mnet_output(self.session, 0, ctypes.byref(t)):
            self._fail("mnet_output")
        return np.ctypeslib.as_array(t.data, (t.height * t.width * t.channels,)).copy()
