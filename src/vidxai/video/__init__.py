"""Video input/output and clip sampling.

Frames are ``T×H×W×3`` uint8 RGB NumPy arrays throughout.
"""

from vidxai.video.frames import validate_frames
from vidxai.video.read import read_video
from vidxai.video.sampling import (
    every_kth,
    sample_clip,
    seconds_to_frame,
    uniform_indices,
    window,
)
from vidxai.video.types import Video
from vidxai.video.write import GifOptions, VideoWriter, write_video

__all__ = [
    "GifOptions",
    "Video",
    "VideoWriter",
    "every_kth",
    "read_video",
    "sample_clip",
    "seconds_to_frame",
    "uniform_indices",
    "validate_frames",
    "window",
    "write_video",
]
