"""Reference images and a float64 rotation written out by hand, for the augmentation tests of both paths."""

import numpy as np


def smooth_image(height, width, channels=3):
    yy, xx = np.mgrid[0:height, 0:width]
    planes = [60 + 40 * np.sin(xx / (3.0 + c)) + 30 * np.cos(yy / (4.0 + c)) for c in range(channels)]
    return np.stack(planes, axis=-1).astype(np.float32)


def reflect101(index, size):
    period = 2 * (size - 1)
    index = np.mod(index, period) if size > 1 else np.zeros_like(index)
    return np.where(index >= size, period - index, index)


def exact_rotation(image, angle):
    """Float64 bilinear rotation about ((W-1)/2, (H-1)/2) with a reflect-101 border, written out by hand."""
    height, width, _ = image.shape
    theta = np.deg2rad(angle)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    # destination -> source: the inverse of a counter-clockwise (on screen) turn
    sx = np.cos(theta) * (xx - cx) - np.sin(theta) * (yy - cy) + cx
    sy = np.sin(theta) * (xx - cx) + np.cos(theta) * (yy - cy) + cy
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]

    def at(y, x):
        return image[reflect101(y, height), reflect101(x, width)]

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy
