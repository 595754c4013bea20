"""Instructions of the enhancement tasks (PAPER.md "Encodings" -> Low-level, "Instructions").

The paper writes ~10 instructions per low-level task by hand ("Sharpen this blurry image", "Remove noise from this
image", ...) and later expands them with an LLM; one is chosen at random per sample. These are hand-written in the
same style, 12 per task: imperative, naming the degradation and asking to keep the content.
"""

from __future__ import annotations

__all__ = ["DEBLUR_TEMPLATES", "DENOISE_TEMPLATES", "WATERMARK_TEMPLATES"]

DENOISE_TEMPLATES: tuple[str, ...] = (
    "Remove the noise from this image.",
    "Denoise this photo.",
    "Clean up the grain in this picture.",
    "Reduce the sensor noise in this photograph and keep the details.",
    "Make this noisy photo clean.",
    "Get rid of the speckles in this image.",
    "Turn this grainy shot into a clean one.",
    "Smooth away the noise but keep the edges sharp.",
    "Restore this noisy picture.",
    "Take the noise out of this photograph.",
    "Filter the noise out of this image without blurring it.",
    "Produce a noise-free version of this photo.",
)

DEBLUR_TEMPLATES: tuple[str, ...] = (
    "Sharpen this blurry image.",
    "Deblur this photo.",
    "Remove the motion blur from this picture.",
    "Make this blurry photograph sharp.",
    "Undo the camera shake in this image.",
    "Restore the sharp details of this blurred picture.",
    "Turn this smeared shot into a crisp one.",
    "Bring this out-of-focus image back into focus.",
    "Fix the blur caused by motion in this photo.",
    "Recover a clear, sharp version of this image.",
    "Get rid of the blur and keep the scene as it is.",
    "Correct the motion blur in this photograph.",
)

WATERMARK_TEMPLATES: tuple[str, ...] = (
    "Remove the watermark from this image.",
    "Erase the watermark in this photo.",
    "Take the logo overlay off this picture.",
    "Delete the semi-transparent text from this image.",
    "Clean this photo by removing its watermark.",
    "Get rid of the watermark and restore the pixels under it.",
    "Remove the stamp printed over this picture.",
    "Make this image watermark-free.",
    "Wipe the translucent mark off this photograph.",
    "Recover the original image without the watermark.",
    "Strip the watermark and keep everything else unchanged.",
    "Remove the overlaid logo and text from this photo.",
)
