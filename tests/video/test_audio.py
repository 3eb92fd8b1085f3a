"""anyv2v.video.audio: the edited span's sound, copied or re-encoded, added to a remuxed video."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from anyv2v.video import write_video
from anyv2v.video.audio import add_source_audio, has_audio
from tests.video.clips import HEIGHT, WIDTH, make_gif, make_mp4, solid_frames

FPS = 24
RATE = 44100
SOURCE_S = 2.0
# The source tone is quiet before this time and loud from it on, so a cut's position can be heard in it.
STEP_S = 1.0
QUIET, LOUD = 0.1, 0.5
AAC_PACKET_S = 1024 / RATE


def write_source(path: Path, container_format: str, audio_codec: str) -> Path:
    """A 2 s, 24 fps H.264 clip with a 440 Hz tone that gets louder at STEP_S."""
    with av.open(str(path), mode="w", format=container_format) as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = container.add_stream(audio_codec, rate=RATE, layout="mono")
        for image in solid_frames(round(SOURCE_S * FPS)):
            container.mux(video.encode(av.VideoFrame.from_image(image).reformat(format="yuv420p")))
        container.mux(video.encode())
        times = np.arange(round(SOURCE_S * RATE)) / RATE
        tone = np.where(times < STEP_S, QUIET, LOUD) * np.sin(2 * np.pi * 440 * times)
        for offset in range(0, len(tone), 1000):
            frame = av.AudioFrame.from_ndarray(tone[None, offset : offset + 1000].astype(np.float32), "fltp", "mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, offset, Fraction(1, RATE)
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path


def damage_audio(path: Path) -> Path:
    """Overwrite every audio packet's bytes in place, leaving the container and the video intact."""
    with av.open(str(path)) as container:
        spans = [(packet.pos, packet.size) for packet in container.demux(audio=0) if packet.size]
    data = bytearray(path.read_bytes())
    for position, size in spans:
        data[position : position + size] = bytes(size)  # zeros: the AAC decoder rejects every packet
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    return {
        "aac": write_source(folder / "aac.mp4", "mp4", "aac"),
        # MPEG-TS starts its timeline at the first frame's delay, not at 0.
        "aac-ts": write_source(folder / "aac.ts", "mpegts", "aac"),
        "pcm": write_source(folder / "pcm.mkv", "matroska", "pcm_s16le"),
        "mp3": write_source(folder / "mp3.mp4", "mp4", "libmp3lame"),
        "silent": make_mp4(folder / "silent.mp4", round(SOURCE_S * FPS)),
        "damaged": damage_audio(write_source(folder / "damaged.mp4", "mp4", "aac")),
    }


@pytest.fixture
def edited(tmp_path: Path) -> Path:
    """A freshly written 1 s edit, video only, as `anyv2v edit` leaves it."""
    return write_video(solid_frames(FPS), tmp_path / "edited.mp4", fps=FPS)


def durations(path: Path) -> tuple[float, float]:
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        return float(video.duration * video.time_base), float(audio.duration * audio.time_base)


def audio_codec(path: Path) -> str:
    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.name


def loudness_step_s(path: Path) -> float:
    """When the decoded sound turns loud: the first 5 ms window louder than halfway between the two tones."""
    with av.open(str(path)) as container:
        samples = np.concatenate([frame.to_ndarray()[0] for frame in container.decode(audio=0)])
    window = RATE // 200
    rms = np.sqrt((samples[: len(samples) // window * window].reshape(-1, window) ** 2).mean(axis=1))
    return float(np.flatnonzero(rms > (QUIET + LOUD) / 2 / np.sqrt(2))[0] * window / RATE)


def video_packets(path: Path) -> list[tuple[bytes, int | None, int | None]]:
    with av.open(str(path)) as container:
        return [(bytes(packet), packet.pts, packet.dts) for packet in container.demux(video=0) if packet.size]


@pytest.mark.parametrize("name", ["aac", "aac-ts"])
def test_aac_is_copied_for_the_edited_span_within_a_frame(sources: dict[str, Path], edited: Path, name: str) -> None:
    before = video_packets(edited)
    assert add_source_audio(edited, sources[name], start=0.5, duration=1.0)
    video_s, audio_s = durations(edited)
    assert abs(audio_s - video_s) <= 1 / FPS
    assert audio_codec(edited) == "aac"
    # The cut at 0.5 s puts the source's step at 1 s half-way in; copied packets may shift it by one packet.
    assert abs(loudness_step_s(edited) - (STEP_S - 0.5)) <= AAC_PACKET_S + 0.005
    assert video_packets(edited) == before


def test_aac_packets_are_copied_byte_for_byte(sources: dict[str, Path], edited: Path) -> None:
    assert add_source_audio(edited, sources["aac"], start=1.0, duration=1.0)
    with av.open(str(sources["aac"])) as container:
        source = {bytes(packet) for packet in container.demux(audio=0) if packet.size}
    with av.open(str(edited)) as container:
        copied = [bytes(packet) for packet in container.demux(audio=0) if packet.size]
    assert copied
    assert all(packet in source for packet in copied)


@pytest.mark.parametrize("name", ["pcm", "mp3"])
def test_other_audio_is_re_encoded_to_aac_cut_to_the_sample(sources: dict[str, Path], edited: Path, name: str) -> None:
    before = video_packets(edited)
    assert add_source_audio(edited, sources[name], start=0.5, duration=1.0)
    video_s, audio_s = durations(edited)
    assert audio_codec(edited) == "aac"
    assert abs(audio_s - video_s) <= 1 / RATE
    assert abs(loudness_step_s(edited) - (STEP_S - 0.5)) <= 0.005
    assert video_packets(edited) == before


def test_aac_is_re_encoded_when_whole_packets_miss_the_span_by_over_a_frame(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    fps = 240  # a 12.5 ms video: the one AAC packet whose middle lies in it lasts 23 ms
    short = write_video(solid_frames(3), tmp_path / "short.mp4", fps=fps)
    assert add_source_audio(short, sources["aac"], start=1.0, duration=3 / fps)
    video_s, audio_s = durations(short)
    assert abs(audio_s - video_s) <= 1 / fps


def test_sound_is_cut_to_the_video_when_the_span_is_longer(sources: dict[str, Path], edited: Path) -> None:
    assert add_source_audio(edited, sources["pcm"], start=0.0, duration=SOURCE_S)
    video_s, audio_s = durations(edited)
    assert abs(audio_s - video_s) <= 1 / RATE


def test_a_source_without_sound_leaves_the_video_as_it_was(sources: dict[str, Path], edited: Path) -> None:
    before = edited.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not add_source_audio(edited, sources["silent"], start=0.5, duration=1.0)
    assert edited.read_bytes() == before


def test_damaged_sound_warns_and_leaves_the_video_as_it_was(sources: dict[str, Path], edited: Path) -> None:
    before = edited.read_bytes()
    with pytest.warns(UserWarning, match="kept .* without sound: .* Invalid data"):
        assert not add_source_audio(edited, sources["damaged"], start=0.5, duration=1.0)
    assert edited.read_bytes() == before
    assert list(edited.parent.iterdir()) == [edited]  # no temporary left behind


@pytest.mark.parametrize("name", ["aac", "pcm"])
def test_a_span_after_the_sound_ends_warns(sources: dict[str, Path], edited: Path, name: str) -> None:
    before = edited.read_bytes()
    with pytest.warns(UserWarning, match="ends before 5 s"):
        assert not add_source_audio(edited, sources[name], start=5.0, duration=1.0)
    assert edited.read_bytes() == before


def test_gif_outputs_get_no_sound(sources: dict[str, Path], tmp_path: Path) -> None:
    gif = write_video(solid_frames(4), tmp_path / "edited.gif", fps=8)
    before = gif.read_bytes()
    assert not add_source_audio(gif, sources["aac"], start=0.0, duration=0.5)
    assert gif.read_bytes() == before


def test_has_audio_only_for_files_with_an_audio_stream(sources: dict[str, Path], tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "frame.png")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    assert has_audio(sources["aac"])
    assert has_audio(sources["pcm"])
    assert not has_audio(sources["silent"])
    assert not has_audio(make_gif(tmp_path / "clip.gif", 3, 100))
    assert not has_audio(tmp_path / "frame.png")
    assert not has_audio(tmp_path / "junk.mp4")
    assert not has_audio(tmp_path)
    assert not has_audio(tmp_path / "missing.mp4")
