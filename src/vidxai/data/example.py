"""A short real clip that ships with vidxai, for examples and tests that need real footage."""

from __future__ import annotations

from pathlib import Path

EXAMPLE_LICENCE = (
    "Big Buck Bunny, (c) copyright 2008 Blender Foundation, www.bigbuckbunny.org, "
    "licensed under the Creative Commons Attribution 3.0 licence "
    "(https://creativecommons.org/licenses/by/3.0/). Excerpt: the first 132 frames (5.3 s, "
    "25 fps), scaled to 320×180 and re-encoded as H.264."
)


def example_video() -> Path:
    """The path of the bundled example clip (MP4, H.264, 132 frames, 320×180, 25 fps).

    An excerpt of *Big Buck Bunny* (Blender Foundation, CC BY 3.0; see
    :data:`EXAMPLE_LICENCE` and ``vidxai/data/EXAMPLE_LICENCE.txt``).

    Example:
        >>> import vidxai
        >>> video = vidxai.read_video(vidxai.data.example_video())
        >>> video.frames.shape
        (132, 180, 320, 3)
    """
    return Path(__file__).with_name("example.mp4")
