"""Give an edited clip the sound of the span it was cut from: the video packets are remuxed untouched, the
source's AAC audio is copied and any other audio re-encoded to AAC."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from anyv2v.runtime import atomic_output
from anyv2v.video.read import one_line

# The one audio codec copied as it is. MP3 would fit in mp4 too, but a copied MP3 cut starts with about
# 75 ms of silence (its frames borrow bits from the frames before the cut), so it is re-encoded like the rest.
_CODEC = "aac"
# Decoding starts this long before the cut so codecs that need pre-roll (Opus, MP3) are settled by then.
_PREROLL_S = 0.5


class _SoundProblem(Exception):
    """An audio problem that FFmpeg does not report itself."""


def has_audio(path: Path) -> bool:
    """Whether `path` is a file with sound to carry over; folders, images and unreadable files have none."""
    if not path.is_file():
        return False
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except av.error.FFmpegError:
        return False


def add_source_audio(video: Path, source: Path, start: float, duration: float) -> bool:
    """Give the freshly written mp4 `video` the sound of `source` from `start` for `duration` seconds.

    `start` counts from the source's first video frame, as the edited frames were read, and the sound is
    cut to the video's length when that is shorter. AAC is copied as it is, so the cut falls on packet
    boundaries (the packets whose middle lies in the span, ~23 ms each; the first fades in over a few ms,
    missing the packet before it); other audio, or a packet-aligned cut off by over one video frame, is
    decoded, cut to the sample and re-encoded to AAC. The video packets are remuxed, never re-encoded.
    Returns whether sound was added: GIFs and silent sources get none, and unreadable sound only warns,
    since the video is still worth having; the file is replaced whole or left as it was.
    """
    if video.suffix.lower() != ".mp4" or not has_audio(source):
        return False
    try:
        with atomic_output(video) as temporary:
            _remux_with_sound(video, source, start, duration, temporary)
    except (av.error.FFmpegError, _SoundProblem) as error:
        warnings.warn(
            f"kept '{video}' without sound: cannot add the sound of '{source}' ({one_line(error)})", stacklevel=2
        )
        return False
    return True


def _remux_with_sound(video: Path, source: Path, start: float, duration: float, output_path: Path) -> None:
    with (
        av.open(str(video)) as picture,
        av.open(str(source)) as sound,
        av.open(str(output_path), mode="w", format="mp4") as output,
    ):
        video_in, audio_in = picture.streams.video[0], sound.streams.audio[0]
        start += _first_frame_s(sound)
        end = start + min(duration, float(video_in.duration * video_in.time_base))
        copied = _copied_cut(sound, audio_in, start, end, frame_time=1 / float(video_in.average_rate))
        video_out = output.add_stream_from_template(video_in)
        if copied is None:
            audio_out = output.add_stream(_CODEC, rate=audio_in.rate, layout=_encoder_layout(audio_in))
            _mux_packets(output, video_out, picture.demux(video_in))
            _encode_cut(output, audio_out, _decoded_cut(sound, audio_in, start, end))
        else:
            audio_out = output.add_stream_from_template(audio_in)
            _mux_packets(output, video_out, picture.demux(video_in))
            _mux_packets(output, audio_out, copied)


def _first_frame_s(container: av.container.InputContainer) -> float:
    """When the source's picture starts; some containers (MPEG-TS, for one) do not start at 0."""
    stream = container.streams.video[0] if container.streams.video else None
    if stream is None or stream.start_time is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def _seek_before(container: av.container.InputContainer, stream: av.audio.stream.AudioStream, start: float) -> None:
    """Skip demuxing what lies well before the cut: a long source need not be read from its beginning."""
    container.seek(int(max(0.0, start - _PREROLL_S) / stream.time_base), stream=stream)


def _copied_cut(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    start: float,
    end: float,
    frame_time: float,
) -> list[av.Packet] | None:
    """The packets whose middle lies in [start, end), re-timed to start at 0, or None when they cannot be
    copied: the audio is not AAC, or the packet-aligned cut is over a frame longer or shorter."""
    if stream.codec.canonical_name != _CODEC:
        return None
    _seek_before(container, stream, start)
    packets = []
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        middle = float((packet.pts + packet.duration / 2) * stream.time_base)
        if middle >= end:
            break
        if middle >= start:
            packets.append(packet)
    if not packets:
        return None
    first, last = packets[0].pts, packets[-1].pts + packets[-1].duration
    if abs(float((last - first) * stream.time_base) - (end - start)) > frame_time:
        return None
    for packet in packets:
        stream.decode(packet)  # copied packets are not decoded otherwise, so damage would go unnoticed
    for packet in packets:
        packet.pts -= first
        packet.dts -= first
    return packets


def _decoded_cut(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, start: float, end: float
) -> Iterator[av.AudioFrame]:
    """The sound of [start, end) to the sample, as planar float frames timed from 0 in the encoder's layout.

    Positions are counted from the first frame on, not read from each frame, because containers may round
    timestamps (Matroska to the millisecond, a few dozen samples).
    """
    _seek_before(container, stream, start)
    rate, layout = stream.rate, _encoder_layout(stream)
    first, stop = round(start * rate), round(end * rate)
    planar = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    position = None
    for frame in (resampled for decoded in container.decode(stream) for resampled in planar.resample(decoded)):
        if position is None:
            if frame.pts is None:
                raise _SoundProblem("its sound has no timestamps")
            position = round(frame.time * rate)
        samples = frame.to_ndarray()[:, max(first - position, 0) : stop - position]
        if samples.size:
            yield _planar_frame(samples, layout, rate, pts=max(position, first) - first)
        position += frame.samples
        if position >= stop:
            return
    if position is None or position <= first:
        raise _SoundProblem(f"its sound ends before {start:g} s")


def _encoder_layout(stream: av.audio.stream.AudioStream) -> str:
    """The standard layout for the stream's channel count: AAC refuses the unnamed ones some containers give."""
    return f"{stream.layout.nb_channels}c"


def _planar_frame(samples: np.ndarray, layout: str, rate: int, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=layout)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = Fraction(1, rate)
    return frame


def _encode_cut(
    output: av.container.OutputContainer, stream: av.audio.stream.AudioStream, frames: Iterable[av.AudioFrame]
) -> None:
    for frame in frames:
        output.mux(stream.encode(frame))
    output.mux(stream.encode())


def _mux_packets(output: av.container.OutputContainer, stream: av.stream.Stream, packets: Iterable[av.Packet]) -> None:
    for packet in packets:
        if packet.size:  # demuxing ends with an empty packet
            packet.stream = stream
            output.mux(packet)
