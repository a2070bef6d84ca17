"""Numbers from the TFLite flatbuffer schema (tensorflow/lite/schema/schema.fbs)
that the reader needs: field slots of the tables it visits and the enum values
of tensor types, operators, padding and fused activations."""

# Field index of each table member; the vtable slot is 4 + 2 * index.
MODEL = {"version": 0, "operator_codes": 1, "subgraphs": 2, "description": 3,
         "buffers": 4}
OPERATOR_CODE = {"deprecated_builtin_code": 0, "custom_code": 1, "version": 2,
                 "builtin_code": 3}
SUBGRAPH = {"tensors": 0, "inputs": 1, "outputs": 2, "operators": 3, "name": 4}
TENSOR = {"shape": 0, "type": 1, "buffer": 2, "name": 3, "quantization": 4}
QUANTIZATION = {"min": 0, "max": 1, "scale": 2, "zero_point": 3,
                "details_type": 4, "details": 5, "quantized_dimension": 6}
BUFFER = {"data": 0, "offset": 1, "size": 2}
OPERATOR = {"opcode_index": 0, "inputs": 1, "outputs": 2,
            "builtin_options_type": 3, "builtin_options": 4, "custom_options": 5}

# Builtin options tables.
CONV2D_OPTIONS = {"padding": 0, "stride_w": 1, "stride_h": 2,
                  "fused_activation_function": 3, "dilation_w_factor": 4,
                  "dilation_h_factor": 5}
DEPTHWISE_OPTIONS = {"padding": 0, "stride_w": 1, "stride_h": 2,
                     "depth_multiplier": 3, "fused_activation_function": 4,
                     "dilation_w_factor": 5, "dilation_h_factor": 6}
POOL2D_OPTIONS = {"padding": 0, "stride_w": 1, "stride_h": 2,
                  "filter_width": 3, "filter_height": 4,
                  "fused_activation_function": 5}
RESHAPE_OPTIONS = {"new_shape": 0}
SOFTMAX_OPTIONS = {"beta": 0}
ADD_OPTIONS = {"fused_activation_function": 0}
FULLY_CONNECTED_OPTIONS = {"fused_activation_function": 0, "weights_format": 1,
                           "keep_num_dims": 2}
REDUCER_OPTIONS = {"keep_dims": 0}
CONCATENATION_OPTIONS = {"axis": 0, "fused_activation_function": 1}
RESIZE_BILINEAR_OPTIONS = {"new_height": 0, "new_width": 1, "align_corners": 2,
                           "half_pixel_centers": 3}

# TensorType -> (name, numpy dtype string).
TENSOR_TYPES = {0: ("float32", "<f4"), 1: ("float16", "<f2"),
                2: ("int32", "<i4"), 3: ("uint8", "u1"), 4: ("int64", "<i8"),
                6: ("bool", "u1"), 7: ("int16", "<i2"), 9: ("int8", "i1")}

BUILTIN_OPERATORS = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D", 5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE",
    9: "FULLY_CONNECTED", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL",
    19: "RELU", 21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR",
    25: "SOFTMAX", 28: "TANH", 34: "PAD", 40: "MEAN", 56: "ARG_MAX", 114: "QUANTIZE",
}

PADDING = {0: "SAME", 1: "VALID"}
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6",
               4: "TANH", 5: "SIGN_BIT"}
