"""Where the CNN's inference spends its time: the ``cnn_split`` section of ``speed.py``.

CPU milliseconds per 1,000 images (``time.process_time``; run it with ``--threads 1``, so
the CPU time is the compute itself) of
- neuronet's ``predict`` at batch 1000;
- its matrix products alone in bare NumPy, at the shapes and block sizes the convolution
  op uses (``neuronet.ops.conv``: per block of images, the unrolled windows times the
  kernel), and the two dense products: what im2col on this BLAS costs at the least;
- the unrolling alone (a NumPy copy of each block's windows into one buffer, image by
  image) and the 2x2 max-pools alone (three elementwise maxima per block);
- Keras 3 + JAX's ``predict`` (XLA's own convolution kernels), where installed, in CPU
  ms of its process (XLA runs its own threads whatever its flags say): compared with
  the products alone, it says how far any im2col on this BLAS can get.
"""
import math

import numpy as np

import speed

IMAGES = 1000


def cnn_split(args, have_torch):
    """One row: the CPU ms of each part (minimum over rounds), and the products' rate."""
    from neuronet.ops import conv

    model = speed.neuronet_model("cnn")
    x = speed.load_images(IMAGES)[0]
    model.predict(x, batch_size=IMAGES)
    kernels = [w for w in model.get_weights() if w.ndim in (2, 4)]
    blocks = [_block_for(x.shape[1:3], w, conv.BLOCK_BYTES) for w in kernels[:2]]
    dense_inputs = [np.ones((IMAGES, w.shape[0]), np.float32) for w in kernels[2:]]

    def products():
        for block in blocks:
            for _ in range(block["repeats"]):
                np.matmul(block["cols"], block["w"], out=block["z"])
        for a, w in zip(dense_inputs, kernels[2:]):
            a @ w

    def unrolling():
        for block in blocks:
            for _ in range(block["repeats"]):
                block["cols"].reshape(block["windows"].shape)[...] = block["windows"]

    def pooling():
        for block in blocks:
            taps = block["z"].reshape(4, -1)  # rows pool tap by pool tap, as the op has them
            pooled = np.empty_like(taps[0])
            for _ in range(block["repeats"]):
                np.maximum(taps[0], taps[1], out=pooled)
                np.maximum(pooled, taps[2], out=pooled)
                np.maximum(pooled, taps[3], out=pooled)

    parts = {"predict_ms": lambda: model.predict(x, batch_size=IMAGES), "products_ms": products,
             "unrolling_ms": unrolling, "pooling_ms": pooling}
    row = {"threads": args.threads}
    for name, work in parts.items():
        row[name] = min(speed.cpu_ms(work, 3) for _ in range(max(3, args.rounds)))
    flops = 2 * sum(b["repeats"] * b["cols"].shape[0] * b["w"].size for b in blocks) + \
        2 * sum(IMAGES * w.size for w in kernels[2:])
    row["products_gflops"] = flops / row["products_ms"] / 1e6
    row["matmul_gflops"] = speed.matmul_rate()
    keras = speed.keras_round(args)
    if "cnn.predict.cpu_ms.keras" in keras:
        row["keras_predict_ms"] = keras["cnn.predict.cpu_ms.keras"]
    return [row]


def _block_for(image_hw, kernel, block_bytes):
    """The block of a 'same' 3x3 convolution of the CNN, as its op makes them (the second
    runs on the first's pooled output), and how many blocks make 1,000 images."""
    kh, kw, cin, cout = kernel.shape
    if cin > 1:
        image_hw = tuple(n // 2 for n in image_hw)
    per_block = max(1, block_bytes // (math.prod(image_hw) * max(kh * kw * cin, cout) * 4))
    block = conv_block(np.ones((per_block,) + image_hw + (cin,), np.float32), kernel)
    block["repeats"] = math.ceil(IMAGES / per_block)
    return block


def conv_block(images, kernel):
    """The unrolled product of a 'same' convolution of ``images`` (N, H, W, C_in):
    ``windows`` (N, H, W, kh, kw, C_in) of the padded images, ``cols`` the buffer they are
    copied into, ``w`` the kernel as (kh * kw * C_in, C_out), ``z`` the product's buffer."""
    n, h, w, cin = images.shape
    kh, kw, _, cout = kernel.shape
    padded = np.pad(images, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2),
                             (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    return {"windows": windows.transpose(0, 1, 2, 4, 5, 3),
            "cols": np.empty((n * h * w, kh * kw * cin), images.dtype),
            "w": kernel.reshape(-1, cout), "z": np.empty((n * h * w, cout), images.dtype)}
