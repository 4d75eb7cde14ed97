import io
import warnings

import cv2
import numpy as np
import pytest

from focalxl.cvat.bench_memory import png_bomb, radiance_hdr
from focalxl.image_files import Header, ImageTooLarge, decode_grey, decode_image, read_header, read_image


def _png(array: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", array)
    assert ok
    return data.tobytes()


def test_colour_png_decodes_to_rgb_order():
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    rgb = decode_image(_png(bgr))
    assert rgb.shape == (4, 5, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == 200).all() and (rgb[..., 2] == 0).all()


def test_grey_rgba_and_16_bit_files_become_rgb_uint8():
    grey = np.full((3, 3), 77, np.uint8)
    assert (decode_image(_png(grey)) == 77).all()
    rgba = np.dstack([np.full((3, 3, 3), 10, np.uint8), np.zeros((3, 3), np.uint8)])
    assert decode_image(_png(rgba)).shape == (3, 3, 3)
    deep = np.full((3, 3), 0xABCD, np.uint16)
    assert (decode_image(_png(deep)) == 0xAB).all()


def test_grey_decoding_takes_the_brightest_channel():
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[0, 0, 1] = 255
    grey = decode_grey(_png(bgr))
    assert grey.shape == (2, 2) and grey[0, 0] == 255 and grey[1, 1] == 0


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_undecodable_bytes_raise_value_error_naming_the_field(data):
    with pytest.raises(ValueError, match="upload: not an image file"):
        decode_image(data, "upload")


def test_missing_file_raises_value_error_naming_the_path(tmp_path):
    with pytest.raises(ValueError, match="cannot read image .*nope.png"):
        read_image(tmp_path / "nope.png")


def no_decoder(monkeypatch):
    """Fail the test if OpenCV or Pillow decodes pixels."""
    import focalxl.image_files as image_files
    from PIL import ImageFile

    monkeypatch.setattr(image_files.cv2, "imdecode", lambda *_: pytest.fail("OpenCV decoded pixels"))
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda *_: pytest.fail("Pillow decoded pixels"))


def test_an_image_over_the_pixel_limit_is_refused_from_its_header_before_decoding(monkeypatch):
    data = cv2.imencode(".png", np.zeros((40, 48, 3), np.uint8))[1].tobytes()
    no_decoder(monkeypatch)
    with pytest.raises(ImageTooLarge, match=r"frame has 1920 pixels \(48x40\), over the limit of 1919"):
        decode_image(data, "frame", max_pixels=1919)


def test_an_image_within_the_pixel_limit_decodes():
    data = cv2.imencode(".png", np.zeros((40, 48, 3), np.uint8))[1].tobytes()
    assert decode_image(data, "frame", max_pixels=1920).shape == (40, 48, 3)


def test_a_20000_square_grey_png_bomb_is_refused_from_its_header(monkeypatch):
    bomb = png_bomb(20000, 20000)
    assert len(bomb) < 500_000
    no_decoder(monkeypatch)
    with pytest.raises(ImageTooLarge, match=r"400000000 pixels \(20000x20000\), over the limit of 50000000"):
        decode_image(bomb, "frame", max_pixels=50_000_000)
    with pytest.raises(ImageTooLarge):
        decode_grey(bomb, "mask", max_pixels=50_000_000)


def test_a_header_over_pillows_bomb_limit_gives_its_size_not_pillows_error_or_warning(monkeypatch):
    bomb = png_bomb(15000, 15000)                       # 225 MP, over Pillow's 179 MP error threshold
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_header(bomb) == Header(15000, 15000, 1)
        assert read_header(png_bomb(10000, 10000)) == Header(10000, 10000, 1)   # over its warning threshold
        no_decoder(monkeypatch)
        with pytest.raises(ImageTooLarge, match="15000x15000"):
            decode_image(bomb, "frame", max_pixels=10 ** 8)


def test_a_radiance_hdr_file_is_refused_without_decoding(monkeypatch):
    no_decoder(monkeypatch)
    with pytest.raises(ValueError, match="frame: not an image file .*its size must be readable from its header"):
        decode_image(radiance_hdr(300, 200), "frame", max_pixels=10 ** 8)
    with pytest.raises(ValueError, match="not an image file"):
        decode_image(radiance_hdr(300, 200), "frame")             # with no limit either: one set of formats


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM" + b"\x00" * 12, b"II*\x00" + b"\xff" * 20,
                                  "a str, not bytes", None])
def test_a_header_cut_short_or_not_bytes_is_refused_never_decoded(monkeypatch, data):
    no_decoder(monkeypatch)
    assert read_header(data) is None
    with pytest.raises(ValueError, match="frame: not an image file"):
        decode_image(data, "frame", max_pixels=100)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff", ".webp", ".ppm", ".pgm", ".jp2", ".ras", ".gif"])
def test_every_supported_format_has_a_readable_header_and_decodes(ext):
    image = np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)
    data = cv2.imencode(ext, image if ext != ".pgm" else image[..., 0])[1].tobytes()
    assert read_header(data) == Header(48, 40, 1)
    assert decode_image(data, "frame", max_pixels=1920).shape == (40, 48, 3)


def test_the_exif_orientation_is_read_from_the_header_without_decoding(monkeypatch):
    from PIL import Image

    for kind in ("JPEG", "PNG", "WEBP", "TIFF"):
        buffer, exif = io.BytesIO(), Image.Exif()
        exif[0x0112] = 6
        Image.new("RGB", (48, 40)).save(buffer, kind, exif=exif)
        no_decoder(monkeypatch)
        header = read_header(buffer.getvalue())     # Pillow reports a rotated TIFF's size as displayed
        assert (header.width * header.height, header.orientation) == (48 * 40, 6), kind
        monkeypatch.undo()


def test_a_decoder_that_reads_more_pixels_than_the_header_said_is_still_refused(monkeypatch):
    import focalxl.image_files as image_files

    data = cv2.imencode(".png", np.zeros((40, 48, 3), np.uint8))[1].tobytes()
    monkeypatch.setattr(image_files, "read_header", lambda _: Header(4, 4, 1))
    with pytest.raises(ImageTooLarge, match="48x40"):
        decode_image(data, "frame", max_pixels=100)
