"""How one sample is drawn: as an image when it is one, else as bars or the caller's view."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def as_image(sample: np.ndarray, image_shape: tuple[int, ...] | None = None) -> np.ndarray | None:
    """The sample as an image matplotlib can show, or ``None`` if it is not one.

    Recognised by shape: ``(h, w)`` grey, ``(h, w, 3|4)`` colour, ``(3|4, h, w)``
    colour with channels first; a flat sample is first reshaped to ``image_shape``
    when one is given.
    """
    sample = np.asarray(sample)
    if image_shape is not None:
        sample = sample.reshape(image_shape)
    if sample.ndim == 2:
        return sample
    if sample.ndim == 3 and sample.shape[-1] in (3, 4):
        return sample
    if sample.ndim == 3 and sample.shape[0] in (3, 4):
        return np.moveaxis(sample, 0, -1)
    if sample.ndim == 3 and 1 in (sample.shape[0], sample.shape[-1]):
        return sample.reshape(sample.shape[1:] if sample.shape[0] == 1 else sample.shape[:-1])
    return None


def colour_range(image: np.ndarray) -> np.ndarray:
    """A colour image in ``[0, 1]``: 0–255 values are rescaled, overshoot clipped."""
    # π⁻¹ may overshoot the data's range a little; colour images need [0, 1].
    scale = 255.0 if image.max() > 1.5 else 1.0
    return np.clip(image / scale, 0.0, 1.0)


def bar_chart(ax, sample: np.ndarray) -> None:
    """Default view of a sample that is not an image: its values as bars."""
    values = np.ravel(sample)
    ax.bar(np.arange(len(values)), values, color="0.4", width=0.8)
    ax.set_xticks([])


def draw_sample(
    ax,
    sample: np.ndarray,
    image_shape: tuple[int, ...] | None = None,
    data_viz: Callable | None = None,
    cmap_images: str = "gray_r",
) -> None:
    """Draw one sample: as an image when it is one, else with ``data_viz`` (bars by default)."""
    image = None
    if data_viz is None or image_shape is not None:
        image = as_image(sample, image_shape)
    if image is None:
        (data_viz or bar_chart)(ax, sample)
        return
    if image.ndim == 2:
        ax.imshow(image, cmap=cmap_images, interpolation="nearest")
    else:
        ax.imshow(colour_range(image), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
